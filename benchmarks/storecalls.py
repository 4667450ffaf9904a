"""Where checkpoint time goes: each store call a checkpointed run makes, timed on its own."""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import replace
from typing import Any

from flowpoint import WorkflowCheckpointer
from flowpoint.storage import CheckpointQuery
from flowpoint.storage.rows import checkpoint_row

from .common import Settings, time_sync, us


def store_call_rows(s: Settings, label: str, ckptr: WorkflowCheckpointer) -> list[tuple[str, ...]]:
    """Rows (store, call, per run, us/call) for the calls one run of the chain makes."""
    store = ckptr.store
    run = store.list_runs()[-1]
    recs = store.list_checkpoints(CheckpointQuery(run_ids=(run.run_id,)), with_state=True)
    middle = recs[len(recs) // 2]
    seq = itertools.count(10_000)
    run_ids: list[str] = []

    def put_run() -> None:
        run_ids.append(str(uuid.uuid4()))
        store.put_run(replace(run, run_id=run_ids[-1], status="running", ended_at=None))

    def put_checkpoint() -> None:
        store.put_checkpoint(replace(middle, id=str(uuid.uuid4()), seq=next(seq)))

    def update_run() -> None:
        store.update_run(run.run_id, status="completed", ended_at=time.time())

    calls: list[tuple[str, Any, str]] = [
        ("put_run", put_run, "1"),
        ("put_checkpoint (the run's middle checkpoint again)", put_checkpoint, str(len(recs))),
        ("  of which checkpoint_row (encoding, no I/O)", lambda: checkpoint_row(middle), ""),
        ("update_run(status=..., ended_at=...)", update_run, "1"),
    ]
    rows = []
    for name, call, per_run in calls:
        t = time_sync(call, s.budget_s / 2, s.repeats)
        rows.append((label, name, per_run, us(t.median_s), us(t.best_s)))
    return rows
