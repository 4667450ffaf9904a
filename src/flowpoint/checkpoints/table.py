"""One row per checkpoint as a typed pandas DataFrame, built from the store's summary rows."""

from __future__ import annotations

import json
from typing import Any

from ..storage.base import CheckpointStore
from ..storage.bulk import collector_paused
from ..storage.records import CheckpointQuery


def _metadata(text: Any) -> Any:
    if text is None or text == "{}":
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        return {"$corrupt": f"metadata: {exc}"}
    return value if isinstance(value, dict) else {"$corrupt": "metadata: not an object"}


def _seqs(pd: Any, values: Any) -> Any:
    """Sequence numbers as int64; anything that is not a finite integer reads as -1."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    finite = numbers.where(numbers.abs() < 2**53)
    return finite.fillna(-1).astype("int64")


def _strings(pd: Any, values: Any) -> Any:
    """A column of few distinct values as pandas strings: each distinct value is converted
    once, then spread by its codes."""
    codes, uniques = pd.factorize(values)
    names = pd.Series(uniques, dtype=object).astype("string")
    return pd.Series(names.array.take(codes, allow_fill=True))


def _bare(pd: Any, np: Any, keys: Any) -> Any:
    """Bare class names of event type keys (object column, NA where there is none)."""
    codes, uniques = pd.factorize(keys)
    names = pd.Series(uniques, dtype=object).astype("string").str.rsplit(".", n=1).str[-1]
    spread = [*names.to_numpy(dtype=object), pd.NA]  # codes of -1 (no value) take the NA
    return pd.Series(np.array(spread, dtype=object)[codes], dtype=object)


_NAMES = ("checkpoint_id", "run_id", "seq", "step", "input_type", "output_type", "created_at",
          "step_duration_s", "metadata", "parent_id", "status", "workflow",
          "origin_checkpoint_id", "edited")


def checkpoints_frame(store: CheckpointStore, query: CheckpointQuery | None = None,
                      limit: int | None = None) -> Any:
    """The checkpoints matching ``query`` (filtered by the store) with their run's columns."""
    import numpy as np
    import pandas as pd

    rows = store.table_rows(query, limit=limit)
    with collector_paused():
        cells = np.empty((len(rows), len(_NAMES)), dtype=object)
        cells[:] = rows if rows else cells
        raw = {name: pd.Series(cells[:, i], dtype=object) for i, name in enumerate(_NAMES)}
        return pd.DataFrame({
            "checkpoint_id": pd.array(raw["checkpoint_id"], dtype="string"),
            "run_id": pd.array(raw["run_id"], dtype="string"),
            "seq": _seqs(pd, raw["seq"]),
            "step": _strings(pd, raw["step"]),
            "input_type": _bare(pd, np, raw["input_type"]),
            "output_type": _bare(pd, np, raw["output_type"]),
            "status": pd.Series(raw["status"].tolist()).astype("category"),
            "workflow": _strings(pd, raw["workflow"]),
            "created_at": pd.to_datetime(pd.to_numeric(raw["created_at"], errors="coerce"),
                                         unit="s", utc=True, errors="coerce"),
            "step_duration_s": pd.to_numeric(raw["step_duration_s"], errors="coerce"
                                             ).astype("float64"),
            "metadata": [{} if t == "{}" else _metadata(t) for t in raw["metadata"]],
            "parent_id": pd.array(raw["parent_id"], dtype="string"),
            "origin_checkpoint_id": pd.array(raw["origin_checkpoint_id"], dtype="string"),
            "edited": [isinstance(t, str) and t not in ("null", "{}") for t in raw["edited"]],
        })
