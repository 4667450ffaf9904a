"""The read methods of SQLStore: listings, tables, counts and facets, each in one read
transaction; state blobs are fetched in batches through a reader per transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StoreError
from .bulk import collector_paused
from .contentstore import reachable
from .records import RECORD_COLUMNS, CheckpointQuery, CheckpointRecord, RunRecord
from .rows import (
    MIN_PREFIX,
    RUN_FIELDS,
    decode_state,
    facets_of,
    loads,
    record_from_values,
    run_from_values,
    text_needles,
    unique_prefix,
)
from .sqlquery import contains, distinct_column, select_checkpoints, where_clauses
from .sqlschema import blobs, checkpoints, runs

_BATCH = 500
MAX_TEXT_REFS = 200  # blob hashes a text search follows into the content-addressed state
_C, _R, _B = checkpoints.c, runs.c, blobs.c
_RECORD_COLUMNS = [_C[name] for name in RECORD_COLUMNS]
_RUN_COLUMNS = [_R[name] for name in RUN_FIELDS]


_TABLE_COLUMNS = [
    _C.id, _C.run_id, _C.seq, _C.step, _C.input_type, _C.output_type, _C.created_at,
    _C.step_duration_s, _C.metadata, _C.parent_id, _R.status, _R.workflow,
    _R.origin_checkpoint_id, _R.edited,
]


def batches(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """Slices of at most _BATCH items: an IN list stays under the drivers' parameter limits."""
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def tuples(conn: Connection, stmt: Any) -> list[tuple[Any, ...]]:
    """Every row of a SELECT as the driver's plain tuples: building (and dropping) a Row
    object per row is a tenth of a listing of 100,000. The columns need no result
    processing (text, numbers)."""
    result = conn.execute(stmt)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


class _BlobReader:
    """Blob data for one read transaction, fetched in batches and remembered."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._cache: dict[str, str | None] = {}

    def many(self, hashes: list[str]) -> dict[str, str]:
        missing = [h for h in hashes if h not in self._cache]
        for batch in batches(missing):
            self._cache.update(dict.fromkeys(batch))
            rows = self._conn.execute(select(_B.hash, _B.data).where(_B.hash.in_(batch)))
            self._cache.update({h: d for h, d in rows})
        return {h: d for h in hashes if (d := self._cache.get(h)) is not None}

    def __call__(self, digest: str) -> str | None:
        if digest not in self._cache:
            self.many([digest])
        return self._cache[digest]

    def states(self, manifest_texts: list[Any]) -> list[Any]:
        reachable([loads(t, "state_manifest") for t in manifest_texts], self.many)
        return [decode_state(t, self) for t in manifest_texts]


def _unjoined(conn: Connection, own: list[Any], q: CheckpointQuery, kept: list[Any],
              sqlite_dialect: bool) -> list[tuple[Any, ...]] | None:
    """The checkpoints' own columns for runs ``kept`` of the query (and maybe other runs'
    rows), read from the checkpoints alone in storage order; None where a join reads less:
    when the query's run filters keep too few of many runs for a scan of all checkpoints."""
    where = where_clauses(replace(q, statuses=None, workflows=None), sqlite_dialect)
    if q.run_ids is None and len(kept) <= _BATCH:  # few runs: their rows by the run index
        where.append(_C.run_id.in_(kept))
    elif q.statuses is not None or q.workflows is not None:
        total = conn.execute(select(func.count()).select_from(runs)).scalar_one()
        if len(kept) * 3 < total * 2:
            return None
    return tuples(conn, select(*own).where(*where))


class SQLReads:
    """The reads of SQLStore (a base class of it), on its engine."""

    url: str
    _engine: Engine
    _is_sqlite: bool

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One read transaction (a consistent snapshot) on a pooled connection."""
        try:
            with self._engine.connect() as conn:
                if not self._is_sqlite:  # one snapshot for every statement of the read
                    conn = conn.execution_options(isolation_level="REPEATABLE READ",
                                                  postgresql_readonly=True)
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"read from {self.url} failed: {exc.orig or exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"read from {self.url} failed: {exc}") from exc

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._read() as conn:
            row = conn.execute(select(*_RUN_COLUMNS).where(_R.run_id == run_id)).first()
        return None if row is None else run_from_values(row)

    def list_runs(
        self, run_ids: Sequence[str] | None = None, statuses: Sequence[str] | None = None
    ) -> list[RunRecord]:
        stmt = select(*_RUN_COLUMNS).order_by(_R.started_at, _R.run_id)
        if run_ids is not None:
            stmt = stmt.where(_R.run_id.in_(list(run_ids)))
        if statuses is not None:
            stmt = stmt.where(_R.status.in_(list(statuses)))
        with collector_paused():
            with self._read() as conn:
                rows = tuples(conn, stmt)
            return [run_from_values(r) for r in rows]

    def _records(self, conn: Connection, rows: list[Any], with_state: bool) -> list[Any]:
        if not with_state:
            return [record_from_values(r) for r in rows]
        states = _BlobReader(conn).states([r[-1] for r in rows])  # state_manifest, last
        return [record_from_values(r, s) for r, s in zip(rows, states, strict=True)]

    def get_checkpoint(self, id_or_prefix: str) -> CheckpointRecord:
        stmt = select(*_RECORD_COLUMNS, _C.state_manifest)
        with self._read() as conn:
            row = conn.execute(stmt.where(_C.id == id_or_prefix)).first()
            if row is None:
                # substr, not LIKE: a prefix of any length (SQLite refuses LIKE patterns over
                # 50,000 bytes), and no character in it is special
                like = func.substr(_C.id, 1, len(id_or_prefix)) == id_or_prefix
                ids = (conn.execute(select(_C.id).where(like)).scalars()
                       if len(id_or_prefix) >= MIN_PREFIX else [])
                found = unique_prefix(id_or_prefix, ids)
                row = conn.execute(stmt.where(_C.id == found)).first()
            return self._records(conn, [row], with_state=True)[0]

    def _text_refs(self, query: CheckpointQuery | None) -> CheckpointQuery | None:
        """A text search also finds state values kept in blobs: the hashes of the blobs whose
        data holds the text, and of the blobs referring to those, up to MAX_TEXT_REFS."""
        if query is None or query.text is None or query.state_refs is not None:
            return query
        _plain, in_json = text_needles(query.text)
        data = blobs.c.data
        found: set[str] = set()
        with self._read() as conn:
            level = set(conn.execute(select(blobs.c.hash).where(or_(
                *[contains(data, n, self._is_sqlite) for n in in_json]))).scalars())
            while level and len(found) < MAX_TEXT_REFS:
                found |= level
                refer = (func.instr(data, h) > 0 if self._is_sqlite else func.strpos(data, h) > 0
                         for h in sorted(level)[:MAX_TEXT_REFS])
                level = set(conn.execute(select(blobs.c.hash).where(or_(*refer)))
                            .scalars()) - found
        return replace(query, state_refs=tuple(sorted(found))[:MAX_TEXT_REFS])

    def list_checkpoints(
        self,
        query: CheckpointQuery | None = None,
        limit: int | None = None,
        offset: int = 0,
        with_state: bool = False,
    ) -> list[CheckpointRecord]:
        query = self._text_refs(query)
        columns = _RECORD_COLUMNS + ([_C.state_manifest] if with_state else [])
        stmt = select_checkpoints(columns, query, limit, offset, self._is_sqlite)
        with collector_paused(), self._read() as conn:
            return self._records(conn, tuples(conn, stmt), with_state)

    def record_rows(
        self, query: CheckpointQuery | None = None, limit: int | None = None, offset: int = 0
    ) -> list[tuple[Any, ...]]:
        """list_checkpoints without state as rows of stored values in ``RECORD_COLUMNS`` order
        (JSON columns still text, numbers unchecked): for listings that decode only what is
        read (``checked_fields`` and ``loads`` of flowpoint.storage.rows read them safely)."""
        query = self._text_refs(query)
        stmt = select_checkpoints(_RECORD_COLUMNS, query, limit, offset, self._is_sqlite)
        with collector_paused(), self._read() as conn:
            return tuples(conn, stmt)

    def table_rows(
        self, query: CheckpointQuery | None = None, limit: int | None = None, offset: int = 0
    ) -> list[tuple[Any, ...]]:
        query = self._text_refs(query)
        stmt = select_checkpoints(_TABLE_COLUMNS, query, limit, offset, self._is_sqlite)
        with collector_paused(), self._read() as conn:
            return tuples(conn, stmt)

    def table_split(self, query: CheckpointQuery | None = None
                    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], bool]:
        """``table_rows`` with the run's columns apart, read in one transaction: (rows of the
        checkpoint's own columns, the first ten of ``TABLE_COLUMNS``; rows of a run id and the
        other four, one per run; ordered). For frames: each run's values are made once.
        Not ordered (queries without text, sort or descending order): the checkpoints are read
        without the join, in storage order (a third less work for the database), the runs
        are those the query keeps, in table order, and the caller drops the rows of other
        runs and orders the rest by run, then seq."""
        query = self._text_refs(query)
        q = query or CheckpointQuery()
        # an empty metadata object reads as NULL: the driver returns None, not a new string
        own = [func.nullif(c, "{}") if c is _C.metadata else c for c in _TABLE_COLUMNS[:10]]
        run_columns = (_R.run_id, *_TABLE_COLUMNS[10:])
        run_stmt = select(*run_columns)
        for values, column in ((q.run_ids, _R.run_id), (q.statuses, _R.status),
                               (q.workflows, _R.workflow)):
            if values is not None:
                run_stmt = run_stmt.where(column.in_(values))
        with collector_paused(), self._read() as conn:
            if q.text is None and q.sort is None and not q.descending:
                kept = tuples(conn, run_stmt.order_by(_R.started_at, _R.run_id))
                rows = _unjoined(conn, own, q, [r[0] for r in kept], self._is_sqlite)
                if rows is not None:
                    return rows, kept, False
            stmt = select_checkpoints(own, query, None, 0, self._is_sqlite)
            rows = tuples(conn, stmt)
            ids = list(set(map(itemgetter(1), rows)))
            if len(ids) <= _BATCH:  # few runs: those alone
                run_stmt = select(*run_columns).where(_R.run_id.in_(ids))
            return rows, tuples(conn, run_stmt), True

    def table_page(self, query: CheckpointQuery | None, limit: int, offset: int = 0
                   ) -> tuple[list[tuple[Any, ...]], int]:
        """One page of ``table_rows`` and how many rows match in all. A text search reads every
        row anyway, so it runs once, for the ids of all matches in table order; the page's rows
        are then read by id. Other filters are indexed: one page query and one count."""
        if query is None or query.text is None:
            return self.table_rows(query, limit, offset), self.count_checkpoints(query)
        query = self._text_refs(query)
        ids_stmt = select_checkpoints([_C.id], query, None, 0, self._is_sqlite)
        with self._read() as conn:
            ids = list(conn.execute(ids_stmt).scalars())
            page = ids[offset : offset + limit] if limit is not None else ids[offset:]
            stmt = (select(*_TABLE_COLUMNS).join_from(checkpoints, runs, _C.run_id == _R.run_id)
                    .where(_C.id.in_(page)))
            found = {r[0]: tuple(r) for r in conn.execute(stmt)} if page else {}
        return [found[i] for i in page if i in found], len(ids)

    def table_facets(self, query: CheckpointQuery | None = None) -> dict[str, Any]:
        """How many checkpoints match (``total``), the distinct ``step``, ``input_type``,
        ``output_type`` and run ``status`` values among them (sorted, None first), and their
        ``groups``: a count per (step, input_type, input_name, output_type, output_name, status),
        from which the count of any filter on those columns follows. One pass: what a table's
        counts and filter menus need."""
        cols = [_C.step, _C.input_type, _C.input_name, _C.output_type, _C.output_name, _R.status]
        stmt = (select(*cols, func.count())
                .select_from(checkpoints.join(runs, _C.run_id == _R.run_id))
                .where(*where_clauses(self._text_refs(query) or CheckpointQuery(), self._is_sqlite))
                .group_by(*cols))
        with self._read() as conn:
            groups = [tuple(g[:-1]) + (int(g[-1]),) for g in conn.execute(stmt)]
        return facets_of(groups)

    def last_seqs(self, run_ids: Sequence[str]) -> dict[str, int]:
        """The highest stored seq of each of these runs (runs without checkpoints left out)."""
        out: dict[str, int] = {}
        with self._read() as conn:
            for batch in batches(list(run_ids)):
                stmt = (select(_C.run_id, func.max(_C.seq)).where(_C.run_id.in_(batch))
                        .group_by(_C.run_id))
                out.update({r: s for r, s in conn.execute(stmt)})
        return out

    def count_checkpoints(self, query: CheckpointQuery | None = None) -> int:
        query = self._text_refs(query)
        stmt = (
            select(func.count())
            .select_from(checkpoints.join(runs, _C.run_id == _R.run_id))
            .where(*where_clauses(query or CheckpointQuery(), self._is_sqlite))
        )
        with self._read() as conn:
            return int(conn.execute(stmt).scalar_one())

    def distinct_values(self, column: str, query: CheckpointQuery | None = None) -> list[Any]:
        """The distinct values of one checkpoint column (step, input_type, output_type) or run
        column (status, workflow) among the matching checkpoints, sorted, None first."""
        col = distinct_column(column)
        query = self._text_refs(query)
        stmt = (select(col).distinct().select_from(checkpoints.join(runs, _C.run_id == _R.run_id))
                .where(*where_clauses(query or CheckpointQuery(), self._is_sqlite)))
        with self._read() as conn:
            values = list(conn.execute(stmt).scalars())
        return sorted(values, key=lambda v: (v is not None, v))
