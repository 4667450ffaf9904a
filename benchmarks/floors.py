"""The floors checkpoint writes are compared with: one raw INSERT + COMMIT of the same bytes."""

from __future__ import annotations

import os
import sqlite3

from .common import Timing, time_sync


def sqlite_floor(path: str, size: int, budget_s: float, repeats: int,
                 synchronous: str = "NORMAL") -> Timing:
    """Seconds per INSERT of ``size`` bytes + COMMIT with the sqlite3 module (WAL, NORMAL or
    the ``synchronous`` given)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("CREATE TABLE IF NOT EXISTS floor (id INTEGER PRIMARY KEY, data BLOB)")
        blob = os.urandom(size)

        def insert() -> None:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO floor (data) VALUES (?)", (blob,))
            conn.execute("COMMIT")

        return time_sync(insert, budget_s, repeats)
    finally:
        conn.close()


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
