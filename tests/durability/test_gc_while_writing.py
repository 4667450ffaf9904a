"""Deleting runs and pruning (which garbage-collects shared blobs) while other processes write
runs whose states share those blobs: no surviving checkpoint may lose a blob it refers to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from durability_flows import SlowFlow, find_corrupt, slow_result
from durability_support import every_checkpoint, read_line, reap, start_worker

from flowpoint import WorkflowCheckpointer

WRITERS = 2
RUNS_EACH = 8
STEPS = 40  # past 32 items the store's list is chunked: blobs shared by every run


@pytest.mark.slow
async def test_garbage_collection_never_takes_a_blob_a_new_checkpoint_uses(
        store_url: str, tmp_path: Path, workers: list[Any]) -> None:
    stop = tmp_path / "writers-done"
    deleter = start_worker("deleter", store_url, stop, cwd=tmp_path)
    writers = [start_worker("slow_many", store_url, RUNS_EACH, STEPS, cwd=tmp_path)
               for _ in range(WRITERS)]
    workers.extend([deleter, *writers])
    for proc in [deleter, *writers]:
        assert read_line(proc) == {"ready": True}
    for proc in [deleter, *writers]:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results: dict[str, Any] = {}
    for proc in writers:
        results.update(read_line(proc)["runs"])
        assert proc.wait(timeout=300) == 0
        reap(proc)
    stop.touch()
    gc = read_line(deleter)
    assert deleter.wait(timeout=60) == 0
    print(f"deleter: {gc}")
    assert len(results) == WRITERS * RUNS_EACH
    assert all(r == slow_result(STEPS) for r in results.values())
    assert gc["rounds"] >= 1

    ckptr = WorkflowCheckpointer(SlowFlow(max_sleep_ms=0), store=store_url)
    try:
        records = ckptr.store.list_checkpoints(None, with_state=True)
        assert records, "the deleter removed everything, including the last run"
        broken = [(r.run_id[:8], r.seq, find_corrupt(r.ctx_state)) for r in records
                  if find_corrupt(r.ctx_state)]
        assert broken == [], f"checkpoints lost blobs they refer to: {broken[:5]}"
        left = {r.run_id for r in records}
        assert left <= set(results)
        # A surviving mid-run checkpoint of each run still resumes to the same result.
        for run_id in sorted(left)[:3]:
            mids = [c for c in every_checkpoint(ckptr)[run_id] if c.last_completed_step == "work"]
            if mids:
                assert await ckptr.run_from(mids[-1]) == slow_result(STEPS)
        fresh = ckptr.store.list_checkpoints(None, with_state=True)
        assert [find_corrupt(r.ctx_state) for r in fresh if find_corrupt(r.ctx_state)] == []
    finally:
        ckptr.store.close()
