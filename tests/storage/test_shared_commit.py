"""Checkpoints handed to a SQL store in one turn of the event loop (put_checkpoint_soon) are
committed in one transaction; one that breaks a rule fails alone."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from flowpoint.errors import StoreError
from flowpoint.storage import CheckpointQuery, CheckpointRecord, RunRecord, SQLStore


def _ckpt(run_id: str, seq: int, **fields: Any) -> CheckpointRecord:
    fields.setdefault("id", f"{run_id}-{seq}")
    return CheckpointRecord(run_id=run_id, seq=seq, step=None if seq == 0 else "s",
                            input_type=None, output_type=None, input_event=None,
                            output_event=None, ctx_state={"store": {"seq": seq}},
                            created_at=time.time(), **fields)


async def test_a_bad_checkpoint_in_a_shared_commit_fails_alone(sql_store: SQLStore) -> None:
    for run_id in ("a", "b", "c"):
        sql_store.put_run(RunRecord(run_id, "wf", "running", time.time()))
    sql_store.put_checkpoint(_ckpt("a", 0))
    results = await asyncio.gather(
        sql_store.put_checkpoint_soon(_ckpt("b", 0)),
        sql_store.put_checkpoint_soon(_ckpt("a", 0, id="a-again")),  # seq 0 of a is taken
        sql_store.put_checkpoint_soon(_ckpt("c", 0)),
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
    await asyncio.gather(*(sql_store.put_checkpoint_soon(_ckpt(r, 0)) for r in "abc"))
    assert sql_store._writer._commits - before == 1
    assert sql_store.count_checkpoints() == 3
    await sql_store.put_checkpoint_soon(_ckpt("a", 1))
    assert sql_store._writer._commits - before == 2
    assert [c.seq for c in sql_store.list_checkpoints(CheckpointQuery(run_ids=("a",)))] == [0, 1]
