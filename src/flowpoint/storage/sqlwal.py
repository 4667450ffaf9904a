"""SQLite WAL upkeep for the writer: checkpoints copy the WAL into the database file.

The copy and its fsyncs run on a background thread instead of inside a writer's commit; the
writer only finishes the few frames appended meanwhile, so the WAL can restart from its
beginning and stays bounded.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from sqlalchemy import Engine

from .sqlengine import WAL_SIZE_LIMIT

RESTART_WAIT_S = 2.0
_IDLE_EXIT_S = 30.0


class WalCheckpointer:
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
        """Wake the background thread (starting it if needed) to checkpoint the WAL."""
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
        """Checkpoint passively; restart the WAL too when it outgrew WAL_SIZE_LIMIT."""
        try:
            raw = self._engine.raw_connection()
            try:
                passive_checkpoint(raw.driver_connection)
                if wal_bytes(self._engine) > WAL_SIZE_LIMIT:
                    restart_checkpoint(raw.driver_connection)
            finally:
                raw.close()
        except Exception:  # a failed checkpoint is retried on the next request
            pass

    def stop(self) -> None:
        """Stop the background thread and wait (a little) for it to end."""
        with self._guard:
            self._stopped = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)


def passive_checkpoint(dbapi_conn: Any) -> None:
    """Checkpoint as much of the WAL as possible without waiting for any lock."""
    dbapi_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def wal_bytes(engine: Engine) -> int:
    try:
        return os.path.getsize(f"{engine.url.database}-wal")
    except (OSError, TypeError):
        return 0


def restart_checkpoint(dbapi_conn: Any) -> None:
    """Copy the whole WAL into the database so that the next write starts it again from its
    beginning, waiting up to RESTART_WAIT_S for the readers still using it. Continuous readers
    always hold some part of the WAL, so passive checkpoints alone would let it grow without
    end; new readers meanwhile read the database file, so the wait ends as soon as the current
    ones finish. The restarted WAL is cut back to WAL_SIZE_LIMIT (journal_size_limit), not to
    nothing: later commits overwrite file space already allocated, and their fsyncs (with
    durability="power") need not also record the file growing, which doubled their time."""
    busy = dbapi_conn.execute("PRAGMA busy_timeout").fetchone()[0]
    dbapi_conn.execute(f"PRAGMA busy_timeout = {int(RESTART_WAIT_S * 1000)}")
    try:
        dbapi_conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
    finally:
        dbapi_conn.execute(f"PRAGMA busy_timeout = {int(busy)}")
