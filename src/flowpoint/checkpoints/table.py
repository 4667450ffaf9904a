"""One row per checkpoint as a typed pandas DataFrame, built from store records (no decoding)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..storage.base import CheckpointStore
from ..storage.records import CheckpointQuery, RunRecord
from .model import type_name

COLUMNS = {
    "checkpoint_id": "string",
    "run_id": "string",
    "seq": "int64",
    "step": "string",
    "input_type": "string",
    "output_type": "string",
    "status": "category",
    "workflow": "string",
    "created_at": "datetime64[ns, UTC]",
    "step_duration_s": "float64",
    "metadata": "object",
    "parent_id": "string",
    "origin_checkpoint_id": "string",
    "edited": "bool",
}


def checkpoints_frame(store: CheckpointStore, query: CheckpointQuery | None = None,
                      limit: int | None = None,
                      runs: dict[str, RunRecord] | None = None) -> pd.DataFrame:
    """The checkpoints matching ``query`` (filtered by the store), with their run's columns."""
    recs = store.list_checkpoints(query, limit=limit)
    if runs is None:
        ids = sorted({r.run_id for r in recs})
        runs = {r.run_id: r for r in store.list_runs(run_ids=ids)} if ids else {}
    cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    for r in recs:
        run = runs.get(r.run_id)
        cols["checkpoint_id"].append(r.id)
        cols["run_id"].append(r.run_id)
        cols["seq"].append(r.seq)
        cols["step"].append(r.step)
        cols["input_type"].append(type_name(r.input_type))
        cols["output_type"].append(type_name(r.output_type))
        cols["status"].append(run.status if run else None)
        cols["workflow"].append(run.workflow if run else None)
        cols["created_at"].append(r.created_at)
        cols["step_duration_s"].append(r.step_duration_s)
        cols["metadata"].append(r.metadata if isinstance(r.metadata, dict) else {})
        cols["parent_id"].append(r.parent_id)
        cols["origin_checkpoint_id"].append(run.origin_checkpoint_id if run else None)
        cols["edited"].append(bool(run and run.edited))
    frame = pd.DataFrame(cols)
    frame["created_at"] = pd.to_datetime(frame["created_at"].astype("float64"), unit="s", utc=True)
    for col, dtype in COLUMNS.items():
        if col not in ("created_at", "metadata"):
            frame[col] = frame[col].astype(dtype)
    return frame
