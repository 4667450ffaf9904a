"""The floors checkpoint writes are compared with: one raw INSERT + COMMIT of the same bytes."""

from __future__ import annotations

import os
import sqlite3

from .common import Timing, time_sync


class SqliteFloorWriter:
    """The floor's write: one INSERT of ``size`` random bytes + COMMIT with the sqlite3 module
    (WAL, NORMAL or the ``synchronous`` given). Callable, to time it alone or inside the steps
    of a running workflow."""

    def __init__(self, path: str, size: int, synchronous: str = "NORMAL") -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={synchronous}")
        self.conn.execute("CREATE TABLE IF NOT EXISTS floor (id INTEGER PRIMARY KEY, data BLOB)")
        self.blob = os.urandom(size)

    def __call__(self) -> None:
        conn = self.conn
        conn.execute("BEGIN")
        conn.execute("INSERT INTO floor (data) VALUES (?)", (self.blob,))
        conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def sqlite_floor(path: str, size: int, budget_s: float, repeats: int,
                 synchronous: str = "NORMAL") -> Timing:
    """Seconds per INSERT of ``size`` bytes + COMMIT with the sqlite3 module (WAL, NORMAL or
    the ``synchronous`` given)."""
    writer = SqliteFloorWriter(path, size, synchronous)
    try:
        return time_sync(writer, budget_s, repeats)
    finally:
        writer.close()


def postgres_floor(url: str, size: int, budget_s: float, repeats: int) -> Timing:
    """Seconds per INSERT of ``size`` bytes + COMMIT with psycopg on the server of ``url``."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS floor (id BIGSERIAL PRIMARY KEY, data BYTEA)")
        conn.commit()
        blob = os.urandom(size)

        def insert() -> None:
            conn.execute("INSERT INTO floor (data) VALUES (%s)", (blob,))
            conn.commit()

        return time_sync(insert, budget_s, repeats)
