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


def _strings(pd: Any, values: Any, coded: tuple[Any, Any] | None = None) -> Any:
    """A column of few distinct values as pandas strings: each distinct value is converted
    once, then spread by its codes (``coded``: codes and distinct values already found)."""
    codes, uniques = pd.factorize(values) if coded is None else coded
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
_OWN = 10  # the first ten are the checkpoint's own columns, the others its run's


def _cells(store: CheckpointStore, query: CheckpointQuery | None, limit: int | None
           ) -> tuple[Any, Any, Any, list[Any]]:
    """The table's values: (each checkpoint's own columns, the first ten of TABLE_COLUMNS, as
    an object array; each row's position among the distinct run ids; those run ids; the
    other four columns of each of those runs; the last three each end with a None). From the store's ``table_split`` where it has
    one (a run's values made once, not once per checkpoint), else from ``table_rows``."""
    import numpy as np
    import pandas as pd

    split = getattr(store, "table_split", None)
    if split is not None and limit is None:
        rows, runs = split(query)
        width = _OWN
    else:
        rows, runs, width = store.table_rows(query, limit=limit), None, len(_NAMES)
    cells = np.empty((len(rows), width), dtype=object)
    cells[:] = rows if rows else cells
    at, run_ids = pd.factorize(cells[:, 1])
    if runs is None:  # each run's columns from its first row
        codes, first = np.unique(at, return_index=True)
        found = cells[first[codes >= 0], _OWN:].tolist()
    else:
        found = [runs[r] for r in run_ids]
    # one more entry, None, for a row without run id (a position of -1)
    per_run = [np.array([*(v[j] for v in found), None], dtype=object) for j in range(4)]
    return cells[:, :_OWN], at, np.array([*run_ids, None], dtype=object), per_run


def _categories(pd: Any, per_run: Any, at: Any) -> Any:
    """A categorical column of the runs' values (categories: those values, sorted), spread to
    the rows by their run positions (-1: missing)."""
    import numpy as np

    runs = pd.Series(per_run.tolist()).astype("category")
    codes = np.append(runs.cat.codes.to_numpy(), -1)  # the last for a position of -1
    return pd.Series(pd.Categorical.from_codes(codes[at], dtype=runs.dtype))


def _edited(value: Any) -> bool:
    return isinstance(value, str) and value not in ("null", "{}")


def checkpoints_frame(store: CheckpointStore, query: CheckpointQuery | None = None,
                      limit: int | None = None) -> Any:
    """The checkpoints matching ``query`` (filtered by the store) with their run's columns.
    A run's columns are converted once per run and spread to its checkpoints by run codes."""
    import numpy as np
    import pandas as pd

    with collector_paused():
        cells, at, run_ids, (status, workflow, origin, edited) = _cells(store, query, limit)
        raw = {name: pd.Series(cells[:, i], dtype=object) for i, name in enumerate(_NAMES[:_OWN])}
        workflow_at, workflows = pd.factorize(workflow)
        return pd.DataFrame({
            "checkpoint_id": pd.array(raw["checkpoint_id"], dtype="string"),
            "run_id": pd.array(pd.Series(run_ids, dtype=object), dtype="string").take(at),
            "seq": _seqs(pd, raw["seq"]),
            "step": _strings(pd, raw["step"]),
            "input_type": _bare(pd, np, raw["input_type"]),
            "output_type": _bare(pd, np, raw["output_type"]),
            "status": _categories(pd, status[:-1], at),
            "workflow": _strings(pd, None, (workflow_at[at], workflows)),
            "created_at": pd.to_datetime(pd.to_numeric(raw["created_at"], errors="coerce"),
                                         unit="s", utc=True, errors="coerce"),
            "step_duration_s": pd.to_numeric(raw["step_duration_s"], errors="coerce"
                                             ).astype("float64"),
            "metadata": [{} if t is None or t == "{}" else _metadata(t)
                         for t in cells[:, 8].tolist()],
            "parent_id": pd.array(raw["parent_id"], dtype="string"),
            "origin_checkpoint_id": pd.array(pd.Series(origin, dtype=object),
                                             dtype="string").take(at),
            "edited": np.array([_edited(t) for t in edited], dtype=bool)[at].tolist(),
        }, copy=False)  # the columns are new arrays made here: no copy of them is needed
