"""Where checkpoint time goes: each store call a checkpointed run makes, timed on its own."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import replace
from typing import Any

from flowpoint import WorkflowCheckpointer
from flowpoint.storage import CheckpointRecord
from flowpoint.storage.rows import checkpoint_row

from .common import Settings, time_sync, us


def _written_by_a_run(ckptr: WorkflowCheckpointer) -> tuple[list[CheckpointRecord], bool]:
    """The records one more run of the chain hands to the store, as it hands them (its state
    split by the run, not read back), and whether its last one came with the run's end."""
    store = ckptr.store
    written: list[CheckpointRecord] = []
    ended: list[CheckpointRecord] = []
    put, put_last = store.put_checkpoint, getattr(store, "put_last_checkpoint", None)

    def spy_put(rec: CheckpointRecord) -> None:
        written.append(rec)
        put(rec)

    def spy_last(rec: CheckpointRecord, **fields: Any) -> None:
        written.append(rec)
        ended.append(rec)
        put_last(rec, **fields)  # type: ignore[misc]

    store.put_checkpoint = spy_put  # type: ignore[method-assign]
    if put_last is not None:
        store.put_last_checkpoint = spy_last  # type: ignore[attr-defined]
    try:
        async def one() -> None:
            await ckptr.run()

        asyncio.run(one())
    finally:
        del store.put_checkpoint
        if put_last is not None:
            del store.put_last_checkpoint
    return written, bool(ended)


def store_call_rows(s: Settings, label: str, ckptr: WorkflowCheckpointer) -> list[tuple[str, ...]]:
    """Rows (store, call, per run, us/call) for the calls one run of the chain makes."""
    store = ckptr.store
    written, ended = _written_by_a_run(ckptr)
    run = store.get_run(written[0].run_id)
    assert run is not None
    middle, last = written[len(written) // 2], written[-1]
    seq = itertools.count(10_000)

    def put_run() -> None:
        store.put_run(replace(run, run_id=str(uuid.uuid4()), status="running", ended_at=None))

    def put_checkpoint() -> None:
        store.put_checkpoint(replace(middle, id=str(uuid.uuid4()), seq=next(seq)))

    def put_last_checkpoint() -> None:
        store.put_last_checkpoint(replace(last, id=str(uuid.uuid4()), seq=next(seq)),
                                  status="completed", ended_at=time.time(), result=None)

    def update_run() -> None:
        store.update_run(run.run_id, status="completed", ended_at=time.time())

    calls: list[tuple[str, Any, str]] = [
        ("put_run", put_run, "1"),
        ("put_checkpoint (the run's middle checkpoint again, as the run wrote it)",
         put_checkpoint, str(len(written) - ended)),
        ("  of which checkpoint_row (encoding, no I/O)", lambda: checkpoint_row(middle), ""),
    ]
    if ended:
        calls.append(("put_last_checkpoint (the last one with the run's end)",
                      put_last_checkpoint, "1"))
    else:
        calls.append(("update_run(status=..., ended_at=...)", update_run, "1"))
    rows = []
    for name, call, per_run in calls:
        t = time_sync(call, s.budget_s / 2, s.repeats)
        rows.append((label, name, per_run, us(t.median_s), us(t.best_s)))
    return rows
