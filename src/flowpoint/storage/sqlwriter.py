"""The write side of SQLStore: one long-lived connection, pre-compiled statements, WAL upkeep.

Checkpoints are written on every step, so put_checkpoint skips SQLAlchemy's per-call statement
handling: its statements are compiled once and run on the writer's driver connection, in one
transaction. On SQLite, WAL checkpoints (the fsyncs) run on a background thread instead of
inside a writer's commit.
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

WAL_CHECKPOINT_EVERY = 256
TRUNCATE_WAIT_S = 2.0
_BATCH = 500
_IDLE_EXIT_S = 30.0


class Duplicate(Exception):
    """A write broke a uniqueness or foreign-key rule (the caller explains which)."""


class MissingBlobs(Exception):
    """Blobs a checkpoint refers to without sending them are no longer stored."""


class _Prepared:
    """A statement compiled once for the engine's dialect, with its parameter order."""

    def __init__(self, stmt: ClauseElement, engine: Engine) -> None:
        compiled = stmt.compile(dialect=engine.dialect)
        self.sql = compiled.string
        self._order = compiled.positiontup

    def params(self, values: Mapping[str, Any]) -> Any:
        return values if self._order is None else tuple(values[k] for k in self._order)


class _WalCheckpointer:
    """Copies the WAL into the database file (the slow, fsyncing part) on a background thread.

    While the writer keeps appending, such a checkpoint never catches up with the WAL's end, so
    the WAL could not be restarted; `tail_due` tells the writer to finish the few frames left
    itself, which is quick.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._stopped = False
        self.tail_due = False

    def request(self) -> None:
        self._wake.set()
        with self._guard:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(
                    target=self._run, name="flowpoint-wal-checkpoint", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            woken = self._wake.wait(_IDLE_EXIT_S)
            with self._guard:
                if self._stopped or not woken:
                    self._thread = None
                    return
                self._wake.clear()
            self.checkpoint()
            self.tail_due = True

    def checkpoint(self) -> None:
        try:
            raw = self._engine.raw_connection()
            try:
                passive_checkpoint(raw.driver_connection)
                if _wal_bytes(self._engine) > WAL_SIZE_LIMIT:
                    truncate_checkpoint(raw.driver_connection)
            finally:
                raw.close()
        except Exception:  # a failed checkpoint is retried on the next request
            pass

    def stop(self) -> None:
        with self._guard:
            self._stopped = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)


def passive_checkpoint(dbapi_conn: Any) -> None:
    """Checkpoint as much of the WAL as possible without waiting for any lock."""
    dbapi_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def _wal_bytes(engine: Engine) -> int:
    try:
        return os.path.getsize(f"{engine.url.database}-wal")
    except (OSError, TypeError):
        return 0


def truncate_checkpoint(dbapi_conn: Any) -> None:
    """Copy the whole WAL into the database and empty it, waiting up to TRUNCATE_WAIT_S for the
    readers still using it. Continuous readers always hold some part of the WAL, so passive
    checkpoints alone would let it grow without end; new readers meanwhile read the database
    file, so the wait ends as soon as the current ones finish."""
    busy = dbapi_conn.execute("PRAGMA busy_timeout").fetchone()[0]
    dbapi_conn.execute(f"PRAGMA busy_timeout = {int(TRUNCATE_WAIT_S * 1000)}")
    try:
        dbapi_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout = {int(busy)}")


class Writer:
    """Serialises this store's writes on one connection; each write is one committed transaction."""

    def __init__(self, engine: Engine, url: str, fast: Sequence[tuple[str, ClauseElement]],
                 read_only: bool = False) -> None:
        self._engine = engine
        self._url = url
        self._read_only = read_only
        self._sqlite = engine.dialect.name == "sqlite"
        self._dbapi_errors = engine.dialect.loaded_dbapi
        self._lock = threading.RLock()
        self._conn: Connection | None = None
        self._pid = os.getpid()
        self._prepared = {name: _Prepared(stmt, engine) for name, stmt in fast}
        self._commits = 0
        self._wal = _WalCheckpointer(engine) if self._sqlite else None

    def _connection(self) -> Connection:
        if self._pid != os.getpid():
            self._engine.dispose(close=False)
            self._conn, self._pid = None, os.getpid()
            self._wal = _WalCheckpointer(self._engine) if self._sqlite else None
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self._engine.connect().execution_options(**{WRITE_OPTION: True})
        return self._conn

    def _committed(self) -> None:
        self._commits += 1
        wal = self._wal
        if wal is None:
            return
        if wal.tail_due and self._conn is not None:
            wal.tail_due = False
            try:
                passive_checkpoint(self._conn.connection.driver_connection)
            except Exception:  # only upkeep: the next round tries again
                pass
        elif self._commits % WAL_CHECKPOINT_EVERY == 0 or (
                self._commits % 32 == 0 and _wal_bytes(self._engine) > WAL_SIZE_LIMIT):
            wal.request()

    def _drop_if_broken(self) -> None:
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
            self._committed()

    def _existing(self, cur: Any, hashes: list[str]) -> dict[str, str]:
        """The stored data of those blobs that are stored already; on PostgreSQL also locks them
        against garbage collection."""
        found: dict[str, str] = {}
        for start in range(0, len(hashes), _BATCH):
            batch = hashes[start : start + _BATCH]
            if self._sqlite:
                marks = ",".join("?" * len(batch))
                cur.execute(f"SELECT hash, data FROM flowpoint_blobs WHERE hash IN ({marks})",
                            batch)
            else:
                cur.execute("SELECT hash, data FROM flowpoint_blobs WHERE hash = ANY(%(hashes)s) "
                            "FOR KEY SHARE", {"hashes": batch})
            found.update(cur.fetchall())
        return found

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

    @contextmanager
    def _raw(self) -> Iterator[Any]:
        """One transaction on the writer's driver cursor, committed on exit."""
        self._refuse_if_read_only()
        with self._lock:
            conn = self._connection()
            try:
                raw = conn.connection.driver_connection
            except SQLAlchemyError as exc:
                self._drop_if_broken()
                raise StoreError(f"write to {self._url} failed: {exc}") from exc
            cur = raw.cursor()
            try:
                if self._sqlite:
                    cur.execute("BEGIN IMMEDIATE")
                yield cur
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
            self._committed()

    def put(self, blobs: Mapping[str, bytes], row: Mapping[str, Any], heartbeat: Any,
            refs: frozenset[str] = frozenset()) -> None:
        """Insert the blobs not stored yet, the checkpoint row, and the run heartbeat, atomically.

        A stored blob is reused only if its data is the data its hash names; a damaged or forged
        one is overwritten with the right data, so no later checkpoint reads it. ``refs``: blobs
        that earlier checkpoints of the same run stored (and so checked) and this one refers to
        without sending them; MissingBlobs, nothing written, if one is gone. On PostgreSQL they
        are locked against garbage collection.
        """
        with self._raw() as cur:
            if refs and len(self._present(cur, list(refs))) < len(refs):
                raise MissingBlobs(f"some of {len(refs)} referenced blobs are no longer stored")
            if blobs:
                stored = self._existing(cur, list(blobs))
                new = [{"hash": h, "data": d.decode(), "size": len(d)}
                       for h, d in blobs.items() if h not in stored]
                bad = [{"hash": h, "data": blobs[h].decode(), "size": len(blobs[h])}
                       for h, data in stored.items()
                       if data.encode("utf-8", "surrogatepass") != blobs[h]]
                if new:
                    stmt = self._prepared["blobs"]
                    cur.executemany(stmt.sql, [stmt.params(v) for v in new])
                if bad:
                    mark = "?" if self._sqlite else "%s"
                    cur.executemany(f"UPDATE flowpoint_blobs SET data = {mark}, size = {mark} "
                                    f"WHERE hash = {mark}",
                                    [(v["data"], v["size"], v["hash"]) for v in bad])
            for name, values in (("checkpoint", row), ("heartbeat", heartbeat)):
                stmt = self._prepared[name]
                cur.execute(stmt.sql, stmt.params(values))

    def execute(self, key: Any, make: Callable[[], ClauseElement], values: Mapping[str, Any]) -> int:
        """Run one statement (compiled once per ``key``) in its own transaction; its rowcount."""
        stmt = self._prepared.get(key)
        if stmt is None:
            stmt = self._prepared[key] = _Prepared(make(), self._engine)
        with self._raw() as cur:
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
                self._wal = _WalCheckpointer(self._engine)
            if self._conn is not None:
                self._conn.close()
                self._conn = None
