"""CheckpointQuery as SQL: the WHERE clauses, ordering and text search of checkpoint listings,
the same on SQLite and PostgreSQL."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import LargeBinary, case, cast, false, func, literal, literal_column, or_, select

from .records import SORT_KEYS, CheckpointQuery
from .rows import (
    JSON_TEXT_COLUMNS,
    PLAIN_TEXT_COLUMNS,
    RUN_TEXT_COLUMNS,
    split_type_filter,
    text_needles,
)
from .sqlschema import checkpoints, runs

_LIKE_PATTERN_LIMIT = 20_000  # bytes of a needle; escaped, within SQLite's 50,000 limit
_C, _R = checkpoints.c, runs.c


def select_checkpoints(columns: list[Any], query: CheckpointQuery | None, limit: int | None,
                        offset: int, sqlite_dialect: bool) -> Any:
    """SELECT columns of checkpoints joined with their runs: filtered, in run order then seq."""
    q = query or CheckpointQuery()
    order = [_R.started_at, _C.run_id, _C.seq]
    by = [col.desc() for col in order] if q.descending else order
    if q.sort is not None:
        if q.sort not in SORT_KEYS:
            raise ValueError(f"cannot sort by {q.sort!r}; sort keys: {', '.join(SORT_KEYS)}")
        col = (_R if q.sort in ("status", "error", "workflow") else _C)[q.sort]
        by.insert(0, col.desc().nulls_last() if q.descending else col.asc().nulls_first())
    on = _C.run_id == _R.run_id
    if sqlite_dialect and limit is None and _scan_checkpoints_first(q):
        # "+" keeps SQLite from joining through the (run_id, seq) index: it reads the
        # checkpoints in storage order, filters them, and looks up the runs of those left
        on = literal_column(f"+{checkpoints.name}.run_id") == _R.run_id
    return (
        select(*columns)
        .join_from(checkpoints, runs, on)
        .where(*where_clauses(q, sqlite_dialect))
        .order_by(*by)
        .limit(limit)
        .offset(offset or None)
    )


def _scan_checkpoints_first(q: CheckpointQuery) -> bool:
    """True for a whole listing filtered on checkpoint columns (times, steps, types) but not
    narrowed to some runs: SQLite then reads it faster by one pass over the checkpoints than
    by each run's rows through the index (a row lookup for each checkpoint). Only for
    SQLite and without a limit: a page or a few runs read little either way."""
    if q.run_ids is not None or q.statuses is not None or q.text is not None:
        return False
    return (q.created_after is not None or q.created_before is not None or q.steps is not None
            or not q.include_start or q.input_types is not None or q.output_types is not None)


def distinct_column(column: str) -> Any:
    if column in ("status", "workflow"):
        return _R[column]
    if column in ("step", "input_type", "output_type"):
        return _C[column]
    raise ValueError(f"no distinct values of {column!r}; columns: step, input_type, output_type, "
                     f"status, workflow")


def type_match(values: tuple[str, ...], key_col: Any, name_col: Any) -> Any:
    full, bare = split_type_filter(values)
    parts = ([key_col.in_(full)] if full else []) + ([name_col.in_(bare)] if bare else [])
    return or_(*parts) if parts else false()


def contains(col: Any, needle: str, sqlite_dialect: bool) -> Any:
    """Case-insensitive substring test of a text column. On SQLite, LIKE already ignores ASCII
    case, so only values holding other characters or \\u escapes go through flowpoint_fold
    (a Python call per value)."""
    if not sqlite_dialect:
        return func.lower(col).contains(needle, autoescape=True)
    other = or_(func.length(col) != func.length(cast(col, LargeBinary)),  # not all ASCII
                func.instr(col, literal("\\u")) > 0)
    folded = case((other, func.flowpoint_fold(col)), else_=col)
    if len(needle.encode()) > _LIKE_PATTERN_LIMIT:  # SQLite refuses longer LIKE patterns
        return func.instr(func.lower(folded), needle) > 0
    return folded.contains(needle, autoescape=True)


@lru_cache(maxsize=64)
def text_match(text: str, state_refs: tuple[str, ...] | None, sqlite_dialect: bool) -> Any:
    """The search condition of one text (built once: an explorer runs it for the page, the
    timeline and the selection, and typing repeats it)."""
    plain, in_json = text_needles(text)
    return or_(
        *[contains(_C[col], plain, sqlite_dialect) for col in PLAIN_TEXT_COLUMNS],
        *[contains(_C[col], needle, sqlite_dialect)
          for col in JSON_TEXT_COLUMNS for needle in in_json],
        *[contains(_R[col], needle, sqlite_dialect)
          for col in RUN_TEXT_COLUMNS for needle in in_json],
        *[func.strpos(_C.state_manifest, h) > 0 if not sqlite_dialect else
          func.instr(_C.state_manifest, h) > 0 for h in state_refs or ()],
    )


def where_clauses(q: CheckpointQuery, sqlite_dialect: bool) -> list[Any]:
    """CheckpointQuery as SQL: AND across fields, OR within each tuple. Text matches case-
    insensitively beyond ASCII (SQLite through flowpoint_fold, PostgreSQL through lower())."""
    out: list[Any] = []
    if q.run_ids is not None:
        out.append(_C.run_id.in_(q.run_ids))
    if q.steps is not None:
        named = [s for s in q.steps if s is not None]
        parts = ([_C.step.in_(named)] if named else []) + (
            [_C.step.is_(None)] if None in q.steps else []
        )
        out.append(or_(*parts) if parts else false())
    if not q.include_start:
        out.append(_C.step.is_not(None))
    if q.input_types is not None:
        out.append(type_match(q.input_types, _C.input_type, _C.input_name))
    if q.output_types is not None:
        out.append(type_match(q.output_types, _C.output_type, _C.output_name))
    if q.statuses is not None:
        out.append(_R.status.in_(q.statuses))
    if q.workflows is not None:
        out.append(_R.workflow.in_(q.workflows))
    if q.text is not None:
        out.append(text_match(q.text, q.state_refs, sqlite_dialect))
    if q.created_after is not None:
        out.append(_C.created_at >= q.created_after)
    if q.created_before is not None:
        out.append(_C.created_at < q.created_before)
    return out
