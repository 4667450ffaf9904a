"""SQLStore: runs and checkpoints in SQLite or PostgreSQL through SQLAlchemy Core."""

from __future__ import annotations

import os
import sqlite3
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ..errors import CheckpointNotFound, StoreError
from .bulk import collector_paused
from .contentstore import reachable
from .durability import apply_durability, check_durability
from .records import (
    LIVE_STATUSES,
    RECORD_COLUMNS,
    UNFINISHED_STATUSES,
    CheckpointQuery,
    CheckpointRecord,
    RunRecord,
)
from .rows import (
    MIN_PREFIX,
    RUN_FIELDS,
    checkpoint_row,
    decode_state,
    facets_of,
    loads,
    record_from_values,
    run_from_values,
    run_row,
    run_updates,
    text_needles,
    unique_prefix,
)
from .sharedcommit import PendingCommit, SharedCommits
from .sqlengine import make_engine, parse_url, sqlite_read_only_reason
from .sqlquery import contains, distinct_column, select_checkpoints, where_clauses
from .sqlschema import (
    blobs,
    check_foreign_sqlite,
    checkpoints,
    ensure_schema,
    runs,
    schema_is_current,
    statistics_due,
)
from .sqlwriter import Duplicate, MissingBlobs, Writer

_BATCH = 500
MAX_TEXT_REFS = 200  # blob hashes a text search follows into the content-addressed state
HEARTBEAT_EVERY_S = 5.0  # a running run's heartbeat_at is renewed by a checkpoint at most this often
_C, _R, _B = checkpoints.c, runs.c, blobs.c
_RECORD_COLUMNS = [_C[name] for name in RECORD_COLUMNS]
_RUN_COLUMNS = [_R[name] for name in RUN_FIELDS]


_TABLE_COLUMNS = [
    _C.id, _C.run_id, _C.seq, _C.step, _C.input_type, _C.output_type, _C.created_at,
    _C.step_duration_s, _C.metadata, _C.parent_id, _R.status, _R.workflow,
    _R.origin_checkpoint_id, _R.edited,
]


def _batches(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def _tuples(conn: Connection, stmt: Any) -> list[tuple[Any, ...]]:
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
        for batch in _batches(missing):
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


class SQLStore:
    """A CheckpointStore in one SQL database; every write is one committed transaction."""

    accepts_encoded_state = True  # takes a state split by the run (EncodedState)
    _beats: dict[str, float]  # run id -> heartbeat_at last written by this store

    def __init__(self, url: str, read_only: bool | None = None,
                 durability: str = "process") -> None:
        """Open (creating or migrating if needed) the store at ``url``.

        ``read_only``: True opens without ever writing; None (default) does so only when the
        SQLite file cannot be written (a read-only filesystem or file), with a warning saying so.
        ``durability``: "process" (default) or "power" (fsync before returning from each write;
        see flowpoint.storage.durability).
        """
        self.durability = check_durability(durability)
        self._url = parse_url(url)
        self.url = self._url.render_as_string(hide_password=True)
        self._is_sqlite = self._url.get_backend_name() == "sqlite"
        path = self._url.database or ""
        if self._is_sqlite:
            check_foreign_sqlite(path)
            if read_only is None and (reason := sqlite_read_only_reason(path)):
                warnings.warn(f"{reason}: opened the store read-only", stacklevel=2)
                read_only = True
        self.read_only = bool(read_only)
        self._beats = {}
        self._shared = SharedCommits(self._write_batch)
        self._engine = make_engine(self._url, self.read_only)
        apply_durability(self._engine, self.durability)
        insert = (sqlite if self._is_sqlite else postgresql).insert
        self._writer = Writer(self._engine, self.url, [
            ("blobs", insert(blobs).on_conflict_do_nothing(index_elements=["hash"])),
            ("checkpoint", checkpoints.insert()),
            ("heartbeat", update(runs).where(_R.run_id == bindparam("hb_run")).values(
                heartbeat_at=bindparam("hb_at"))),
        ], read_only=self.read_only)
        try:
            self._open_schema()
        except BaseException:
            self.close()
            raise

    def _open_schema(self) -> None:
        """Check the schema in a read; write only to create, migrate or refresh statistics, so
        a full disk or a read-only store can still be opened and read."""
        with self._read() as conn:
            current = schema_is_current(conn, self.url)
            analyse = current and not self.read_only and statistics_due(conn)
        if not current:
            if self.read_only:
                raise StoreError(f"store at {self.url} is opened read-only but needs its tables "
                                 "created or migrated first; open it once writable")
            with self._writer.transaction() as conn:
                ensure_schema(conn, self.url)
        if analyse:
            try:
                with self._writer.transaction() as conn:
                    conn.exec_driver_sql("ANALYZE")
            except StoreError:
                pass  # only planner statistics: the next open tries again

    def __repr__(self) -> str:
        return f"SQLStore({self.url!r}{', read_only=True' if self.read_only else ''})"

    def __enter__(self) -> SQLStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def put_run(self, run: RunRecord) -> None:
        row = run_row(run)
        try:
            self._writer.execute("run", runs.insert, row)
        except Duplicate:
            raise StoreError(f"run '{run.run_id}' already exists in {self.url}") from None
        if run.heartbeat_at is not None:  # the lease is fresh: no checkpoint renews it yet
            self._beaten(run.run_id, run.heartbeat_at)

    def update_run(self, run_id: str, **fields: Any) -> None:
        values = run_updates(fields)
        if values:
            names = tuple(sorted(values))
            missing = self._writer.execute(
                ("update_run", names),
                lambda: update(runs).where(_R.run_id == bindparam("_run_id")).values(
                    {n: bindparam(n) for n in names}),
                {**values, "_run_id": run_id}) == 0
        else:
            missing = self.get_run(run_id) is None
        if missing:
            raise CheckpointNotFound(f"no run with id '{run_id}'")
        if isinstance(values.get("heartbeat_at"), float):
            self._beaten(run_id, values["heartbeat_at"])

    def interrupt_run(self, run_id: str, heartbeat_at: float | None) -> bool:
        live = _R.status.in_(LIVE_STATUSES)
        same = _R.heartbeat_at.is_(None) if heartbeat_at is None else _R.heartbeat_at == heartbeat_at
        with self._writer.transaction() as conn:
            done = conn.execute(update(runs).where(_R.run_id == run_id, live, same)
                                .values(status="interrupted")).rowcount
        return bool(done)

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
                rows = _tuples(conn, stmt)
            return [run_from_values(r) for r in rows]

    def put_checkpoint(self, ckpt: CheckpointRecord) -> None:
        row, new_blobs = checkpoint_row(ckpt)
        self._put(ckpt, row, new_blobs)

    def put_checkpoint_soon(self, ckpt: CheckpointRecord) -> PendingCommit:
        """Commit ``ckpt`` together with the checkpoints other runs on this event loop hand
        over in the same turn of the loop: one transaction, so one commit (and one fsync with
        durability="power") for all (see flowpoint.storage.sharedcommit). Await the result for
        the commit, which raises what put_checkpoint would. Call it on the loop's thread."""
        row, new_blobs = checkpoint_row(ckpt)
        return self._shared.submit((ckpt, row, new_blobs))

    def flush_checkpoints(self) -> None:
        """Commit now what put_checkpoint_soon queued on the running loop."""
        self._shared.flush()

    def _write_batch(self, batch: Sequence[Any]) -> list[BaseException | None]:
        """One transaction for the batch; if that fails, each on its own, so that each caller
        gets its own outcome."""
        if len(batch) > 1:
            beats = [self._heartbeat(ckpt) for ckpt, _, _ in batch]
            try:
                self._writer.put_many([
                    (new, row, beat, ckpt.encoded_state.refs if ckpt.encoded_state else
                     frozenset()) for (ckpt, row, new), beat in zip(batch, beats, strict=True)])
            except Exception:  # noqa: BLE001 - each is tried alone below
                pass
            else:
                for (ckpt, _, _), beat in zip(batch, beats, strict=True):
                    if beat is not None:
                        self._beaten(ckpt.run_id, ckpt.created_at)
                return [None] * len(batch)
        outcomes: list[BaseException | None] = []
        for ckpt, row, new in batch:
            try:
                self._put(ckpt, row, new)
            except Exception as exc:  # noqa: BLE001 - handed to the caller waiting for it
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    def _heartbeat(self, ckpt: CheckpointRecord) -> dict[str, Any] | None:
        """The run's heartbeat renewal to write with this checkpoint, if one is due."""
        last_beat = self._beats.get(ckpt.run_id)
        if last_beat is None or not 0 <= ckpt.created_at - last_beat < HEARTBEAT_EVERY_S:
            return {"hb_run": ckpt.run_id, "hb_at": ckpt.created_at}
        return None

    def _beaten(self, run_id: str, at: float) -> None:
        """Note the heartbeat_at this store last wrote for the run."""
        if len(self._beats) > 4096:
            self._beats.clear()
        self._beats[run_id] = at

    def _put(self, ckpt: CheckpointRecord, row: dict[str, Any], new_blobs: Any) -> None:
        split = ckpt.encoded_state
        heartbeat = self._heartbeat(ckpt)
        try:
            try:
                self._writer.put(new_blobs, row, heartbeat, split.refs if split else frozenset())
            except MissingBlobs:  # blobs of earlier checkpoints were pruned: store them again
                row, new_blobs = checkpoint_row(replace(ckpt, encoded_state=split.rebuild()))
                self._writer.put(new_blobs, row, heartbeat, frozenset())
        except Duplicate:
            raise StoreError(self._why_rejected(ckpt)) from None
        if heartbeat is not None:
            self._beaten(ckpt.run_id, ckpt.created_at)

    def _why_rejected(self, ckpt: CheckpointRecord) -> str:
        with self._read() as conn:
            if conn.execute(select(_R.run_id).where(_R.run_id == ckpt.run_id)).first() is None:
                return f"checkpoint {ckpt.id}: no run '{ckpt.run_id}' in {self.url}"
            if conn.execute(select(_C.id).where(_C.id == ckpt.id)).first() is not None:
                return f"checkpoint '{ckpt.id}' already exists"
        return f"run '{ckpt.run_id}' already has a checkpoint with seq {ckpt.seq}"

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
            return self._records(conn, _tuples(conn, stmt), with_state)

    def record_rows(
        self, query: CheckpointQuery | None = None, limit: int | None = None, offset: int = 0
    ) -> list[tuple[Any, ...]]:
        """list_checkpoints without state as rows of stored values in ``RECORD_COLUMNS`` order
        (JSON columns still text, numbers unchecked): for listings that decode only what is
        read (``checked_fields`` and ``loads`` of flowpoint.storage.rows read them safely)."""
        query = self._text_refs(query)
        stmt = select_checkpoints(_RECORD_COLUMNS, query, limit, offset, self._is_sqlite)
        with collector_paused(), self._read() as conn:
            return _tuples(conn, stmt)

    def table_rows(
        self, query: CheckpointQuery | None = None, limit: int | None = None, offset: int = 0
    ) -> list[tuple[Any, ...]]:
        query = self._text_refs(query)
        stmt = select_checkpoints(_TABLE_COLUMNS, query, limit, offset, self._is_sqlite)
        with collector_paused(), self._read() as conn:
            return _tuples(conn, stmt)

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
            for batch in _batches(list(run_ids)):
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

    def _lock_blobs(self, conn: Connection) -> None:
        """Keep writers from re-using a blob while garbage collection decides to drop it."""
        if not self._is_sqlite:
            conn.exec_driver_sql("LOCK TABLE flowpoint_blobs IN EXCLUSIVE MODE")

    def _collect_garbage(self, conn: Connection) -> int:
        manifests = [
            loads(text, "state_manifest")
            for text in conn.execute(select(_C.state_manifest).where(_C.state_manifest.like("%$%")))
            .scalars()
        ]

        def fetch(hashes: list[str]) -> dict[str, str]:
            found: dict[str, str] = {}
            for batch in _batches(hashes):
                found.update(conn.execute(select(_B.hash, _B.data).where(_B.hash.in_(batch))).all())
            return found

        live = reachable(manifests, fetch)
        dead = [h for h in conn.execute(select(_B.hash)).scalars() if h not in live]
        for batch in _batches(dead):
            conn.execute(delete(blobs).where(_B.hash.in_(batch)))
        return len(dead)

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        ids = list(run_ids)
        with self._writer.transaction() as conn:
            self._lock_blobs(conn)
            count = 0
            for batch in _batches(ids):
                count += conn.execute(delete(checkpoints).where(_C.run_id.in_(batch))).rowcount
                conn.execute(delete(runs).where(_R.run_id.in_(batch)))
            self._collect_garbage(conn)
        return count

    def prune(self, keep_last: int | None = None, older_than: float | None = None) -> int:
        if keep_last is not None and keep_last < 0:
            raise ValueError(f"keep_last must be >= 0, got {keep_last}")
        if keep_last is None and older_than is None:
            return 0
        conds = [_C.seq > 0]
        if keep_last is not None:
            newer = checkpoints.alias("newer")
            n_newer = (
                select(func.count())
                .where(newer.c.run_id == _C.run_id, newer.c.seq > _C.seq)
                .scalar_subquery()
            )
            conds.append(n_newer >= keep_last)
        if older_than is not None:
            conds.append(_C.created_at < older_than)
            newer = checkpoints.alias("newest")
            newest = select(func.max(newer.c.seq)).where(newer.c.run_id == _C.run_id)
            live = select(_R.run_id).where(_R.status.in_(UNFINISHED_STATUSES))
            conds.append(or_(_C.run_id.not_in(live), _C.seq < newest.scalar_subquery()))
        with self._writer.transaction() as conn:
            self._lock_blobs(conn)
            count = conn.execute(delete(checkpoints).where(and_(*conds))).rowcount
            if count:
                self._collect_garbage(conn)
        return count

    def storage_report(self) -> dict[str, Any]:
        run_cols = ("run_id", "workflow", "status", "edited", "error", "result", "owner",
                    "origin_checkpoint_id")
        run_bytes = sum((func.coalesce(func.length(_R[c]), 0) for c in run_cols), 48)
        with self._read() as conn:
            n_runs, b_runs = conn.execute(select(func.count(), func.sum(run_bytes))).one()
            n_ckpts, b_ckpts = conn.execute(select(func.count(), func.sum(_C.size_bytes))).one()
            n_blobs, b_blobs = conn.execute(select(func.count(), func.sum(_B.size))).one()
        report: dict[str, Any] = {
            "runs": n_runs,
            "checkpoints": n_ckpts,
            "blobs": n_blobs,
            "bytes": int((b_runs or 0) + (b_ckpts or 0) + (b_blobs or 0)),
            "url": self.url,
        }
        if self._is_sqlite:
            path = self._url.database or ""
            report["file_bytes"] = sum(
                os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p)
            )
        return report

    def close(self) -> None:
        """Close the writer connection and the pool; a later call opens new connections."""
        self._writer.close()
        self._engine.dispose()

