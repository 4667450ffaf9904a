"""The SQLite file: WAL mode, its directory created, and a WAL kept small by background checkpoints."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from storage_helpers import make_ckpt, make_run

from flowpoint.storage import SQLStore
from flowpoint.storage.sqlwriter import WAL_CHECKPOINT_EVERY


def test_sqlite_store_uses_wal_and_creates_its_directory(sqlite_url: str, tmp_path: Any) -> None:
    with SQLStore(sqlite_url) as store:
        assert (tmp_path / "nested" / "dir" / "checkpoints.db").exists()
        assert store.storage_report()["file_bytes"] > 0
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_wal_is_checkpointed_while_writing_and_on_close(sqlite_url: str, tmp_path: Path) -> None:
    wal = tmp_path / "nested" / "dir" / "checkpoints.db-wal"
    store = SQLStore(sqlite_url)
    store.put_run(make_run("r"))
    sizes = []
    for seq in range(4 * WAL_CHECKPOINT_EVERY):
        store.put_checkpoint(make_ckpt("r", seq, ctx_state={"seq": seq}))
        if seq % WAL_CHECKPOINT_EVERY == WAL_CHECKPOINT_EVERY - 1:
            time.sleep(0.2)
            sizes.append(wal.stat().st_size)
    assert max(sizes) <= 2 * sizes[0], sizes
    store.close()
    assert not wal.exists() or os.path.getsize(wal) == 0
    with SQLStore(sqlite_url) as again:
        assert again.count_checkpoints() == 4 * WAL_CHECKPOINT_EVERY


def test_a_forked_child_writes_on_a_connection_of_its_own(sqlite_url: str) -> None:
    store = SQLStore(sqlite_url)
    try:
        store.put_run(make_run("r"))
        store.put_checkpoint(make_ckpt("r", 0))
        parents = store._writer._driver()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: write, say whether it used the parent's connection, exit
            code = 1
            try:
                os.close(read_end)
                store.put_checkpoint(make_ckpt("r", 1))
                shared = store._writer._driver() is parents
                os.write(write_end, b"shared" if shared else b"own")
                store.close()
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        reported = os.read(read_end, 10)
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the child could not write"
        assert reported == b"own"
        store.put_checkpoint(make_ckpt("r", 2))  # the parent's connection survived the child
        assert store._writer._driver() is parents
        assert [c.seq for c in store.list_checkpoints()] == [0, 1, 2]
    finally:
        store.close()
