"""The write side of SQLStore: one long-lived connection, pre-compiled statements.

Checkpoints are written on every step, so put_checkpoint skips SQLAlchemy's per-call statement
handling: its statements are compiled once and run on the writer's driver connection, in one
transaction. On SQLite, WAL checkpoints (the fsyncs) run on a background thread instead of
inside a writer's commit (flowpoint.storage.sqlwal).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql import ClauseElement

from ..errors import StoreError
from .sqlengine import WAL_SIZE_LIMIT, WRITE_OPTION
from .sqlschema import checkpoints, runs
from .sqlstatements import (
    SQLITE_UPSERT_BLOB,
    Prepared,
    RunUpdate,
    pg_insert_statement,
    pg_plain_params,
    pg_put_statement,
    sqlite_run_params,
)
from .sqlwal import WalCheckpointer, passive_checkpoint, wal_bytes

WAL_CHECKPOINT_EVERY = 512  # commits; the writer finishes each WAL checkpoint inline (an fsync)
_BATCH = 500


class Duplicate(Exception):
    """A write broke a uniqueness or foreign-key rule (the caller explains which)."""


def _idle(raw: Any) -> bool:
    """A psycopg connection with no transaction open (so autocommit may be switched on)."""
    try:
        from psycopg import pq

        return bool(raw.info.transaction_status == pq.TransactionStatus.IDLE)
    except Exception:
        return False


_forks = 0  # forks this process descends through: a writer made before one is its parent's


def _forked() -> None:
    global _forks
    _forks += 1


os.register_at_fork(after_in_child=_forked)


class MissingBlobs(Exception):
    """Blobs a checkpoint refers to without sending them are no longer stored."""


#: One checkpoint for Writer.put / put_many: (new blobs, row, heartbeat or None, referenced
#: blobs, run update or None).
PutItem = tuple[Mapping[str, bytes], Mapping[str, Any], Any, frozenset[str], RunUpdate | None]


class Writer:
    """Serialises this store's writes on one connection; each write is one committed transaction."""

    def __init__(self, engine: Engine, url: str, fast: Sequence[tuple[str, ClauseElement]],
                 read_only: bool = False, durability: str = "process") -> None:
        self._engine = engine
        self._url = url
        self._read_only = read_only
        self._sqlite = engine.dialect.name == "sqlite"
        self._full = self._sqlite and durability == "power"  # commits fsync (synchronous=FULL)
        self._dbapi_errors = engine.dialect.loaded_dbapi
        self._lock = threading.RLock()
        self._conn: Connection | None = None
        self._driver_of: Connection | None = None  # the connection _driver_conn belongs to
        self._driver_conn: Any = None
        self._ready: Any = None  # _driver_conn once checked usable; None: check on next use
        self._born = _forks  # the process it belongs to: a forked child makes its own connection
        self._prepared = {name: Prepared(stmt, engine) for name, stmt in fast}
        self._pg_put_sql: dict[tuple[bool, tuple[str, ...], tuple[str, ...]], str] = {}
        self._column_types = {c.name: type(c.type).__name__.upper()
                              for table in (runs, checkpoints) for c in table.columns}
        self._commits = 0
        self._wal = WalCheckpointer(engine) if self._sqlite else None

    def _connection(self) -> Connection:
        if self._born != _forks:
            self._engine.dispose(close=False)
            self._conn, self._born, self._ready = None, _forks, None
            self._wal = WalCheckpointer(self._engine) if self._sqlite else None
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._engine.connect().execution_options(**{WRITE_OPTION: True})
        return self._conn

    def _driver(self) -> Any:
        """The DBAPI connection under the writer connection, looked up once per connection.

        Once checked usable it is handed out without asking SQLAlchemy again (nor the OS for
        the pid): only a fork, a failed write or a SQLAlchemy transaction can break it, and each
        of those makes the next call check again."""
        ready = self._ready
        if ready is not None and self._born == _forks:
            return ready
        conn = self._connection()
        if self._driver_of is not conn:
            self._driver_conn, self._driver_of = conn.connection.driver_connection, conn
        self._ready = self._driver_conn
        return self._ready

    def _committed(self) -> None:
        self._commits += 1
        wal = self._wal
        if wal is None:
            return
        if wal.tail_due and self._ready is not None:
            wal.tail_due = False
            try:
                passive_checkpoint(self._ready)
            except Exception:  # only upkeep: the next round tries again
                pass
        elif self._commits % WAL_CHECKPOINT_EVERY == 0 or (
                self._commits % 32 == 0 and wal_bytes(self._engine) > WAL_SIZE_LIMIT):
            wal.request()

    def _drop_if_broken(self) -> None:
        self._ready = None
        if self._conn is not None and self._conn.invalidated:
            self._conn.close()
            self._conn = None

    def _refuse_if_read_only(self) -> None:
        if self._read_only:
            raise StoreError(f"store {self._url} is open read-only: nothing can be written to it "
                             "(open it with read_only=False where it can be written)")

    def _failed(self, exc: BaseException) -> StoreError:
        text = str(getattr(exc, "orig", None) or exc)
        hint = ("; the disk is full: free space (e.g. prune or delete runs from a store "
                "elsewhere) and retry" if "full" in text.lower() else "")
        return StoreError(f"write to {self._url} failed: {text}{hint}")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction through SQLAlchemy, committed on exit; Duplicate on a rule break."""
        self._refuse_if_read_only()
        with self._lock:
            try:
                conn = self._connection()
                with conn.begin():
                    yield conn
            except IntegrityError as exc:
                raise Duplicate(str(exc.orig)) from None
            except SQLAlchemyError as exc:
                self._drop_if_broken()
                raise self._failed(exc) from exc
            finally:
                self._ready = None  # SQLAlchemy used the connection: check it before reuse
            self._committed()

    def _present(self, cur: Any, hashes: list[str]) -> set[str]:
        """Which of these blobs are stored (their data is not read); on PostgreSQL also locks
        them against garbage collection."""
        found: set[str] = set()
        for start in range(0, len(hashes), _BATCH):
            batch = hashes[start : start + _BATCH]
            if self._sqlite:
                marks = ",".join("?" * len(batch))
                cur.execute(f"SELECT hash FROM flowpoint_blobs WHERE hash IN ({marks})", batch)
            else:
                cur.execute("SELECT hash FROM flowpoint_blobs WHERE hash = ANY(%(hashes)s) "
                            "FOR KEY SHARE", {"hashes": batch})
            found.update(h for (h,) in cur.fetchall())
        return found

    def _check_refs(self, cur: Any, refs: frozenset[str]) -> None:
        """MissingBlobs if any of the blobs ``refs`` names is no longer stored."""
        if len(self._present(cur, list(refs))) < len(refs):
            raise MissingBlobs(f"some of {len(refs)} referenced blobs are no longer stored")

    @contextmanager
    def _raw(self, autocommit: bool = False) -> Iterator[Any]:
        """One transaction on the writer's driver cursor, committed on exit; ``autocommit``
        (PostgreSQL): each statement is its own transaction, saving the COMMIT round trip."""
        self._refuse_if_read_only()
        with self._lock:
            try:
                raw = self._driver()
            except SQLAlchemyError as exc:
                self._drop_if_broken()
                raise StoreError(f"write to {self._url} failed: {exc}") from exc
            conn = self._conn
            assert conn is not None  # _driver() made it
            cur = raw.cursor()
            single = autocommit and not self._sqlite and _idle(raw)
            try:
                if self._sqlite:
                    cur.execute("BEGIN IMMEDIATE")
                if single:
                    raw.autocommit = True
                yield cur
                if not single:
                    raw.commit()
            except BaseException as exc:
                self._rollback(conn, raw)
                if isinstance(exc, self._dbapi_errors.IntegrityError):
                    raise Duplicate(str(exc)) from None
                if isinstance(exc, self._dbapi_errors.Error):
                    raise self._failed(exc) from exc
                raise
            finally:
                cur.close()
                if single:
                    raw.autocommit = False
            self._committed()

    def _single(self, sql: str, params: Any, fsync: bool = True) -> int:
        """SQLite: one statement as its own transaction (no BEGIN or COMMIT of ours: the same
        lock, busy wait and commit, in one call); its rowcount. ``fsync=False``: with
        synchronous=FULL, this commit is not fsynced itself (see ``execute``)."""
        if self._read_only:
            self._refuse_if_read_only()
        with self._lock:
            try:
                raw = self._driver()
                if fsync or not self._full:
                    count = raw.execute(sql, params).rowcount
                else:
                    count = self._unsynced(raw, sql, params)
            except SQLAlchemyError as exc:
                self._drop_if_broken()
                raise StoreError(f"write to {self._url} failed: {exc}") from exc
            except self._dbapi_errors.IntegrityError as exc:
                raise Duplicate(str(exc)) from None
            except self._dbapi_errors.Error as exc:
                self._ready = None  # check the connection again before the next write
                raise self._failed(exc) from exc
            self._committed()
            return int(count)

    def put(self, blobs: Mapping[str, bytes], row: Mapping[str, Any], heartbeat: Any,
            refs: frozenset[str] = frozenset(), run: RunUpdate | None = None) -> None:
        """Insert the blobs not stored yet, the checkpoint row, and (unless ``heartbeat`` is
        None) the run heartbeat, atomically; ``run`` (then ``heartbeat`` must be None): an
        update of the run's row written in the same transaction.

        A stored blob is reused only if its data is the data its hash names; a damaged or forged
        one is overwritten with the right data (one upsert, no read), so no later checkpoint reads
        it. ``refs``: blobs that earlier checkpoints of the same run stored (and so checked) and
        this one refers to without sending them; MissingBlobs, and no checkpoint written, if one
        is gone. On PostgreSQL all of it is one statement: one round trip per checkpoint.
        """
        if not self._sqlite:
            self._put_in_one_statement(blobs, row, heartbeat, refs, run)
            return
        if not blobs and not refs and heartbeat is None and run is None:
            stmt = self._prepared["checkpoint"]
            self._single(stmt.sql, stmt.params(row))
            return
        with self._raw() as cur:
            if refs:
                self._check_refs(cur, refs)
            if blobs:
                cur.executemany(SQLITE_UPSERT_BLOB, [(h, d.decode(), len(d))
                                                      for h, d in blobs.items()])
            stmt = self._prepared["checkpoint"]
            cur.execute(stmt.sql, stmt.params(row))
            if heartbeat is not None:
                stmt = self._prepared["heartbeat"]
                cur.execute(stmt.sql, stmt.params(heartbeat))
            if run is not None:
                cur.execute(*sqlite_run_params(run))

    def put_many(self, items: Sequence[PutItem]) -> None:
        """Several ``put``s in one transaction: one commit (and, with durability="power", one
        fsync) for all of them. All or none are written; on any error the caller retries them
        one by one to learn which failed."""
        if not self._sqlite:
            with self._raw() as cur:
                for blobs, row, heartbeat, refs, run in items:
                    sql, params = self._pg_put(blobs, row, heartbeat, refs, run)
                    cur.execute(sql, params)
                    if cur.rowcount != 1:
                        raise MissingBlobs(f"some of {len(refs)} referenced blobs are no longer "
                                           "stored")
            return
        refs = frozenset().union(*(item[3] for item in items))
        blob_rows = [(h, d.decode(), len(d)) for item in items for h, d in item[0].items()]
        stmt = self._prepared["checkpoint"]
        beat = self._prepared["heartbeat"]
        with self._raw() as cur:
            if refs:
                self._check_refs(cur, refs)
            if blob_rows:
                cur.executemany(SQLITE_UPSERT_BLOB, blob_rows)
            cur.executemany(stmt.sql, [stmt.params(item[1]) for item in items])
            beats = [beat.params(item[2]) for item in items if item[2] is not None]
            if beats:
                cur.executemany(beat.sql, beats)
            for item in items:
                if item[4] is not None:
                    cur.execute(*sqlite_run_params(item[4]))

    def _pg_put(self, blobs: Mapping[str, bytes], row: Mapping[str, Any], heartbeat: Any,
                refs: frozenset[str], run: RunUpdate | None = None) -> tuple[str, Any]:
        cols = tuple(row)
        run_cols = tuple(run[1]) if run is not None else ()
        plain = not blobs and not refs and heartbeat is None
        key = (plain, cols, run_cols)
        sql = self._pg_put_sql.get(key)
        if sql is None:
            sql = self._pg_put_sql[key] = (
                pg_insert_statement(cols, run_cols) if plain else
                pg_put_statement(cols, self._column_types, run_cols))
        if plain:
            return sql, pg_plain_params(row, run)
        params = {f"c_{k}": v for k, v in row.items()}
        if run is not None:
            params.update({f"r_{k}": v for k, v in run[1].items()}, r_run=run[0])
        params.update(
            b_hash=list(blobs), b_data=[d.decode() for d in blobs.values()],
            b_size=[len(d) for d in blobs.values()], refs=list(refs), n_refs=len(refs),
            beat=heartbeat is not None, hb_run=(heartbeat or {}).get("hb_run"),
            hb_at=(heartbeat or {}).get("hb_at"))
        return sql, params

    def _put_in_one_statement(self, blobs: Mapping[str, bytes], row: Mapping[str, Any],
                              heartbeat: Any, refs: frozenset[str],
                              run: RunUpdate | None = None) -> None:
        """PostgreSQL: blobs upserted and heartbeat renewed (or the run's row updated) in CTEs
        of the checkpoint's INSERT, which inserts (and updates) only if every blob in ``refs``
        is still there; run in autocommit, the statement is its own transaction. While garbage
        collection holds its table lock the statement waits, then sees what it deleted."""
        sql, params = self._pg_put(blobs, row, heartbeat, refs, run)
        with self._raw(autocommit=True) as cur:
            cur.execute(sql, params)
            if cur.rowcount != 1:
                raise MissingBlobs(f"some of {len(refs)} referenced blobs are no longer stored")

    def _unsynced(self, raw: Any, sql: str, params: Any) -> int:
        """Run ``sql`` as its own transaction with synchronous=NORMAL, then back to FULL; if
        that fails the connection is dropped, so no later commit goes without its fsync."""
        raw.execute("PRAGMA synchronous = NORMAL")
        try:
            return int(raw.execute(sql, params).rowcount)
        finally:
            try:
                raw.execute("PRAGMA synchronous = FULL")
            except BaseException:
                if self._conn is not None:
                    self._conn.invalidate()
                self._drop_if_broken()
                raise

    def execute(self, key: Any, make: Callable[[], ClauseElement], values: Mapping[str, Any],
                fsync: bool = True) -> int:
        """Run one statement (compiled once per ``key``) in its own transaction; its rowcount.

        ``fsync=False`` (durability="power" on SQLite): the commit is not fsynced by itself. It
        is durable once the next fsynced commit is: SQLite syncs its WAL in order, so that fsync
        covers every earlier commit. For a write that one is sure to follow before anything is
        dispatched (a new run's row, followed by the run's start checkpoint)."""
        stmt = self._prepared.get(key)
        if stmt is None:
            stmt = self._prepared[key] = Prepared(make(), self._engine)
        if self._sqlite:
            return self._single(stmt.sql, stmt.params(values), fsync)
        with self._raw(autocommit=True) as cur:  # one round trip, not BEGIN + it + COMMIT
            cur.execute(stmt.sql, stmt.params(values))
            return int(cur.rowcount)

    def _rollback(self, conn: Connection, raw: Any) -> None:
        try:
            raw.rollback()
        except Exception:
            conn.invalidate()
            self._drop_if_broken()

    def close(self) -> None:
        """Stop WAL upkeep, checkpoint what is left, and close the writer connection."""
        with self._lock:
            if self._wal is not None:
                self._wal.stop()
                if self._commits:
                    self._wal.checkpoint()
                self._wal = WalCheckpointer(self._engine)
            if self._conn is not None and self._born == _forks:
                self._conn.close()
            self._conn = None  # a forked child leaves its parent's connection alone
            self._driver_of = self._driver_conn = self._ready = None
