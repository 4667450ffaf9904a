"""A run's last checkpoint and its end (status, ended_at, result) are one transaction: one commit
where they took two, and neither is written if either fails."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from storage_helpers import seq_ckpt

from flowpoint.errors import StoreError
from flowpoint.storage import CheckpointQuery, RunRecord, SQLStore


def _end() -> dict[str, Any]:
    return {"status": "completed", "ended_at": time.time(), "result": {"answer": 42}}


def test_the_last_checkpoint_and_the_run_end_are_one_commit(sql_store: SQLStore) -> None:
    sql_store.put_run(RunRecord("r", "wf", "running", time.time()))
    sql_store.put_checkpoint(seq_ckpt("r", 0))
    before = sql_store._writer._commits
    sql_store.put_last_checkpoint(seq_ckpt("r", 1), **_end())
    assert sql_store._writer._commits - before == 1
    run = sql_store.get_run("r")
    assert run is not None and run.status == "completed" and run.result == {"answer": 42}
    assert run.ended_at is not None
    assert [c.seq for c in sql_store.list_checkpoints(CheckpointQuery(run_ids=("r",)))] == [0, 1]


def test_a_rejected_last_checkpoint_leaves_the_run_as_it_was(sql_store: SQLStore) -> None:
    sql_store.put_run(RunRecord("r", "wf", "running", time.time()))
    sql_store.put_checkpoint(seq_ckpt("r", 0))
    with pytest.raises(StoreError, match="already has a checkpoint with seq 0"):
        sql_store.put_last_checkpoint(seq_ckpt("r", 0, id="again"), **_end())
    run = sql_store.get_run("r")
    assert run is not None and run.status == "running" and run.result is None
    assert run.ended_at is None


def test_the_last_checkpoint_may_renew_the_heartbeat_too(sql_store: SQLStore) -> None:
    """A heartbeat due with the last checkpoint is written by the same update of the run row
    (PostgreSQL cannot update one row twice in one statement)."""
    sql_store.put_run(RunRecord("r", "wf", "running", time.time(), heartbeat_at=1.0))
    sql_store._beats.clear()  # as in a process that did not write this run's lease
    last = seq_ckpt("r", 0)
    sql_store.put_last_checkpoint(last, **_end())
    run = sql_store.get_run("r")
    assert run is not None and run.status == "completed" and run.heartbeat_at == last.created_at


def test_a_run_field_that_does_not_exist_is_refused_before_writing(sql_store: SQLStore) -> None:
    sql_store.put_run(RunRecord("r", "wf", "running", time.time()))
    with pytest.raises(ValueError, match="cannot update run field 'colour'"):
        sql_store.put_last_checkpoint(seq_ckpt("r", 0), colour="red")
    assert sql_store.count_checkpoints() == 0


async def test_run_ends_share_a_commit_and_a_rejected_one_fails_alone(
        sql_store: SQLStore) -> None:
    for run_id in ("a", "b", "c"):
        sql_store.put_run(RunRecord(run_id, "wf", "running", time.time()))
    sql_store.put_checkpoint(seq_ckpt("a", 0))
    before = sql_store._writer._commits
    await asyncio.gather(sql_store.put_checkpoint_soon(seq_ckpt("b", 0), _end()),
                         sql_store.put_checkpoint_soon(seq_ckpt("c", 0)))
    assert sql_store._writer._commits - before == 1
    results = await asyncio.gather(
        sql_store.put_checkpoint_soon(seq_ckpt("a", 0, id="a-again"), _end()),  # seq 0 is taken
        sql_store.put_checkpoint_soon(seq_ckpt("c", 1), _end()),
        return_exceptions=True)
    assert isinstance(results[0], StoreError) and results[1] is None
    status = {r.run_id: r.status for r in sql_store.list_runs()}
    assert status == {"a": "running", "b": "completed", "c": "completed"}
    assert sql_store.get_run("c").result == {"answer": 42}  # type: ignore[union-attr]
