"""Turning a store URL into a configured SQLAlchemy engine (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
import re
import sqlite3
import time
import urllib.parse
import weakref
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import QueuePool

from ..errors import StoreError
from .rows import fold

ACCEPTED_URLS = (
    "sqlite:///relative/or/absolute/path.db, "
    "postgresql+psycopg://user:password@host:5432/dbname"
)
BUSY_TIMEOUT_S = 30.0
WAL_SIZE_LIMIT = 16 * 1024 * 1024
WRITE_OPTION = "flowpoint_write"
_PASSWORD = re.compile(r"(://[^/@:]*:)[^@/]*@")


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***, safe to print."""
    return _PASSWORD.sub(r"\1***@", url)


def parse_url(url: str) -> URL:
    """A normalised SQLAlchemy URL; relative SQLite paths become absolute against the cwd."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StoreError(
            f"cannot parse store URL '{mask_url(url)}' ({exc}); accepted forms: {ACCEPTED_URLS}"
        ) from None
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise StoreError(
                f"store URL '{mask_url(url)}' names no database file; use 'memory' for an "
                f"in-process store, or one of: {ACCEPTED_URLS}"
            )
        path = os.path.abspath(os.path.expanduser(database))
        return parsed.set(drivername="sqlite", database=path)
    if parsed.drivername in ("postgresql", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    raise StoreError(
        f"unsupported store URL '{mask_url(url)}'; accepted forms: {ACCEPTED_URLS}, or 'memory'"
    )


def _sqlite_read_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    """A read-only connection: transactions by SQLAlchemy, a busy wait, no writes at all."""
    dbapi_conn.isolation_level = None
    dbapi_conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    dbapi_conn.execute("PRAGMA query_only = ON")
    install_functions(dbapi_conn)


def install_functions(dbapi_conn: sqlite3.Connection) -> None:
    """The SQL functions flowpoint's SQLite queries use (flowpoint_fold for text search)."""
    dbapi_conn.create_function("flowpoint_fold", 1, fold, deterministic=True)


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    """Hand transaction control to SQLAlchemy; WAL (checkpointed by the writer's thread),
    NORMAL sync, a busy wait so several processes can share the file, foreign keys."""
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                cur.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA wal_autocheckpoint = 0")
        cur.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        cur.execute("PRAGMA foreign_keys = ON")
    finally:
        cur.close()
    install_functions(dbapi_conn)


def _sqlite_begin(conn: Connection) -> None:
    """BEGIN IMMEDIATE for writes, so a writer takes the lock up front instead of deadlocking."""
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _after_fork() -> None:
    """In a forked child, drop (without closing) the pooled connections it shares with its
    parent, so that each process talks to the database on connections of its own."""
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork)


def _on_read_only_filesystem(path: str) -> bool:
    probe = path if os.path.exists(path) else os.path.dirname(path)
    while probe and not os.path.exists(probe):
        probe = os.path.dirname(probe)
    try:
        return bool(os.statvfs(probe or ".").f_flag & os.ST_RDONLY)
    except OSError:
        return False


def sqlite_read_only_reason(path: str) -> str | None:
    """Why a SQLite store at ``path`` can only be read (a read-only filesystem or a file this
    user cannot write), or None if it can be written."""
    if _on_read_only_filesystem(path):
        return f"{path} is on a read-only filesystem"
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return f"{path} is not writable by this user"
    return None


def _sqlite_read_engine(path: str) -> Engine:
    """A pool of read-only connections; on a read-only filesystem also ``immutable`` (nobody can
    change the file, and SQLite need not create its shared-memory file)."""
    if not os.path.exists(path):
        raise StoreError(f"no SQLite store at {path} to open read-only")
    query = "mode=ro&immutable=1" if _on_read_only_filesystem(path) else "mode=ro"
    uri = f"file:{urllib.parse.quote(path)}?{query}"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=BUSY_TIMEOUT_S)

    engine = create_engine("sqlite://", creator=connect, poolclass=QueuePool, pool_size=8,
                           max_overflow=16)
    event.listen(engine, "connect", _sqlite_read_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def make_engine(url: URL, read_only: bool = False) -> Engine:
    """An engine for a URL from parse_url, with the SQLite pragmas and BEGIN hook installed."""
    engine = _make_engine(url, read_only)
    _ENGINES.add(engine)
    return engine


def _make_engine(url: URL, read_only: bool) -> Engine:
    if url.get_backend_name() == "sqlite" and read_only:
        return _sqlite_read_engine(url.database or "")
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the directory for SQLite store {path}: {exc}") from None
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S},
            pool_size=8,
            max_overflow=16,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    except ImportError as exc:
        raise StoreError(
            f"PostgreSQL stores need the psycopg driver, which is not installed ({exc}): "
            "pip install 'flowpoint[postgres]'"
        ) from None
