"""The SQLite WAL stays bounded while other processes read continuously."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from flowpoint.storage import CheckpointRecord, RunRecord, SQLStore
from flowpoint.storage.sqlengine import WAL_SIZE_LIMIT

READER = """
import sys, time
from flowpoint.storage import SQLStore
store = SQLStore(sys.argv[1])
deadline = time.time() + float(sys.argv[2])
print("ready", flush=True)
while time.time() < deadline:
    for rec in store.list_checkpoints(limit=20, with_state=True):
        pass
store.close()
"""


def test_wal_stays_bounded_under_continuous_readers(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    url = f"sqlite:///{path}"
    store = SQLStore(url)
    seconds = 20.0
    readers = [subprocess.Popen([sys.executable, "-c", READER, url, str(seconds)],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        for r in readers:
            assert r.stdout is not None and r.stdout.readline().strip() == "ready"
        store.put_run(RunRecord(run_id="r", workflow="w", status="running",
                                started_at=time.time()))
        largest, seq = 0, 0
        deadline = time.time() + seconds
        while time.time() < deadline:
            state = {"store": {"blob": os.urandom(6000).hex()}, "event_log": [seq]}
            store.put_checkpoint(CheckpointRecord(
                id=f"c{seq}", run_id="r", seq=seq, step="s", input_type=None, output_type=None,
                input_event=None, output_event=None, ctx_state=state, created_at=time.time()))
            seq += 1
            wal = Path(f"{path}-wal")
            largest = max(largest, wal.stat().st_size if wal.exists() else 0)
        written = path.stat().st_size
    finally:
        for r in readers:
            r.wait(timeout=60)
        store.close()
    assert written > 2 * WAL_SIZE_LIMIT, f"only {written} bytes written: the test proves nothing"
    assert largest <= 4 * WAL_SIZE_LIMIT, f"WAL grew to {largest} bytes for a {written}-byte db"
