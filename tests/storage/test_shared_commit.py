"""Checkpoints handed to a SQL store in one turn of the event loop (put_checkpoint_soon) are
committed in one transaction; one that breaks a rule fails alone."""

from __future__ import annotations

import asyncio
import time

from storage_helpers import seq_ckpt

from flowpoint.errors import StoreError
from flowpoint.storage import CheckpointQuery, RunRecord, SQLStore


async def test_a_bad_checkpoint_in_a_shared_commit_fails_alone(sql_store: SQLStore) -> None:
    for run_id in ("a", "b", "c"):
        sql_store.put_run(RunRecord(run_id, "wf", "running", time.time()))
    sql_store.put_checkpoint(seq_ckpt("a", 0))
    results = await asyncio.gather(
        sql_store.put_checkpoint_soon(seq_ckpt("b", 0)),
        sql_store.put_checkpoint_soon(seq_ckpt("a", 0, id="a-again")),  # seq 0 of a is taken
        sql_store.put_checkpoint_soon(seq_ckpt("c", 0)),
        return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], StoreError)
    assert "already has a checkpoint with seq 0" in str(results[1])
    stored = {c.id: c.ctx_state for c in sql_store.list_checkpoints(with_state=True)}
    assert stored == {"a-0": {"store": {"seq": 0}}, "b-0": {"store": {"seq": 0}},
                      "c-0": {"store": {"seq": 0}}}


async def test_checkpoints_handed_over_in_one_turn_are_one_commit(sql_store: SQLStore) -> None:
    for run_id in ("a", "b", "c"):
        sql_store.put_run(RunRecord(run_id, "wf", "running", time.time()))
    before = sql_store._writer._commits
    await asyncio.gather(*(sql_store.put_checkpoint_soon(seq_ckpt(r, 0)) for r in "abc"))
    assert sql_store._writer._commits - before == 1
    assert sql_store.count_checkpoints() == 3
    await sql_store.put_checkpoint_soon(seq_ckpt("a", 1))
    assert sql_store._writer._commits - before == 2
    assert [c.seq for c in sql_store.list_checkpoints(CheckpointQuery(run_ids=("a",)))] == [0, 1]
