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
    if pd.api.types.infer_dtype(values, skipna=False) == "integer":  # Python ints, as stored
        ints = values.astype("int64")
        return ints.where((ints > -(2**53)) & (ints < 2**53), -1)
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    whole = numbers.where((numbers.abs() < 2**53) & (numbers == numbers.round()))
    return whole.fillna(-1).astype("int64")  # 2.5 reads as -1, as records read it


def _numbers(pd: Any, values: Any) -> Any:
    """A column of numbers as float64 (anything that is not a number reads as NaN): a column
    of floats (and NULLs), as stored, converts in one step."""
    if pd.api.types.infer_dtype(values, skipna=True) == "floating":
        return values.astype("float64")
    return pd.to_numeric(values, errors="coerce").astype("float64")


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


def _object_rows(np: Any, rows: list[tuple[Any, ...]], width: int) -> Any:
    """The rows as a 2-D object array, by pandas' conversion of a list of tuples where it has
    one (a third of the time numpy's assignment takes)."""
    try:
        from pandas._libs.lib import to_object_array_tuples
    except ImportError:  # pragma: no cover - pandas keeps it (DataFrame.from_records uses it)
        to_object_array_tuples = None
    if rows and to_object_array_tuples is not None:
        cells = to_object_array_tuples(rows)
        if cells.shape == (len(rows), width):
            return cells
    cells = np.empty((len(rows), width), dtype=object)
    cells[:] = rows if rows else cells
    return cells


def _cells(store: CheckpointStore, query: CheckpointQuery | None, limit: int | None
           ) -> tuple[Any, Any, Any, Any]:
    """The table's values: (each checkpoint's own columns, the first ten of TABLE_COLUMNS, as
    an object array; each row's position among the runs; those runs' ids; their other four
    columns; both of the last end with a row of None, the run of a position of -1). From the
    store's ``table_split`` where it has one (a run's values made once, not once per
    checkpoint), else from ``table_rows``."""
    import numpy as np
    import pandas as pd

    split = getattr(store, "table_split", None)
    if split is not None and limit is None:
        rows, runs, ordered = split(query)
        found = _split_cells(pd, np, _object_rows(np, rows, _OWN),
                             _object_rows(np, runs, 5), ordered)
        if found is not None:
            return found
        del rows, runs  # a seq that is not an integer: the rows in the store's own order
    cells = _object_rows(np, store.table_rows(query, limit=limit), len(_NAMES))
    at, run_ids = pd.factorize(cells[:, 1])
    codes, first = np.unique(at, return_index=True)  # each run's columns from its first row
    per_run = np.concatenate([cells[first[codes >= 0], _OWN:], np.full((1, 4), None)])
    return cells[:, :_OWN], at, np.array([*run_ids, None], dtype=object), per_run


def _split_cells(pd: Any, np: Any, cells: Any, runs: Any, ordered: bool
                 ) -> tuple[Any, Any, Any, Any] | None:
    """``_cells`` of a ``table_split``: each row's run found among ``runs`` (run id and the
    other four columns); rows not ``ordered`` are put in table order: the rows of the runs in
    ``runs`` (whose order is the table's) by run, then seq, the others dropped. None when
    such rows have a seq that is not an integer (the store orders those by type first)."""
    at = pd.Index(runs[:, 0], dtype=object).get_indexer(cells[:, 1]) if len(runs) else (
        np.full(len(cells), -1, dtype=np.int64))
    if not ordered:
        if pd.api.types.infer_dtype(cells[:, 2], skipna=False) not in ("integer", "empty"):
            return None
        seqs = cells[:, 2].astype(np.int64)
        kept = at >= 0
        step = np.diff(at)
        if not (kept.all() and np.all((step > 0) | ((step == 0) & (np.diff(seqs) > 0)))):
            order = np.lexsort((seqs, at))[np.count_nonzero(~kept):]  # those dropped first
            cells, at = cells[order], at[order]
    present = np.zeros(len(runs) + 1, dtype=bool)
    present[at] = True  # a position of -1 marks the last, the row of None
    present[-1] = True
    runs = np.concatenate([runs, np.full((1, 5), None)])
    if not present.all():  # runs without rows: left out (they give no category)
        at, runs = (np.cumsum(present) - 1)[at], runs[present]
    return cells, at, runs[:, 0], runs[:, 1:]


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
        cells, at, run_ids, per_run = _cells(store, query, limit)
        status, workflow, origin, edited = (per_run[:, j] for j in range(4))
        raw = {name: pd.Series(cells[:, i], dtype=object, copy=False)  # read, never written
               for i, name in enumerate(_NAMES[:_OWN])}
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
            "created_at": pd.to_datetime(_numbers(pd, raw["created_at"]), unit="s", utc=True,
                                         errors="coerce"),
            "step_duration_s": _numbers(pd, raw["step_duration_s"]),
            "metadata": [{} if t is None or t == "{}" else _metadata(t)
                         for t in cells[:, 8].tolist()],
            "parent_id": pd.array(raw["parent_id"], dtype="string"),
            "origin_checkpoint_id": pd.array(pd.Series(origin, dtype=object),
                                             dtype="string").take(at),
            "edited": np.array([_edited(t) for t in edited], dtype=bool)[at].tolist(),
        }, copy=False)  # the columns are new arrays made here: no copy of them is needed
