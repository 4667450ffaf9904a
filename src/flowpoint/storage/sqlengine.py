"""Turning a store URL into a configured SQLAlchemy engine (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
import re
import sqlite3
import time
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..errors import StoreError

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


def _sqlite_begin(conn: Connection) -> None:
    """BEGIN IMMEDIATE for writes, so a writer takes the lock up front instead of deadlocking."""
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def make_engine(url: URL) -> Engine:
    """An engine for a URL from parse_url, with the SQLite pragmas and BEGIN hook installed."""
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
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
