"""A WAL that outgrew its limit is restarted, not emptied: the file space stays allocated, so
later commits overwrite it instead of growing the file again (an fsync of a growing file also
has to record its new size, which doubled the time of every durability="power" commit)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from flowpoint.storage.sqlengine import WAL_SIZE_LIMIT
from flowpoint.storage.sqlwal import restart_checkpoint


def test_a_restarted_wal_keeps_its_limit_allocated_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        conn.execute("CREATE TABLE t (n INTEGER, data BLOB)")
        rows = 2 * WAL_SIZE_LIMIT // 4000
        for n in range(rows):
            conn.execute("INSERT INTO t VALUES (?, ?)", (n, os.urandom(4000)))
        wal = Path(f"{path}-wal")
        assert wal.stat().st_size > WAL_SIZE_LIMIT
        restart_checkpoint(conn)
        conn.execute("INSERT INTO t VALUES (?, ?)", (rows, b"after"))
        assert wal.stat().st_size == WAL_SIZE_LIMIT  # cut back to the limit, not to nothing
        for n in range(rows + 1, rows + 50):  # and written again from its beginning
            conn.execute("INSERT INTO t VALUES (?, ?)", (n, b"x"))
        assert wal.stat().st_size == WAL_SIZE_LIMIT
    finally:
        conn.close()
    again = sqlite3.connect(path)
    try:
        assert again.execute("SELECT count(*), max(n) FROM t").fetchone() == (rows + 50, rows + 49)
        assert again.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        again.close()
