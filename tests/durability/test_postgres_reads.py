"""PostgreSQL: a checkpoint is read in one snapshot, and forked processes never share pooled
connections."""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import event

from flowpoint.storage import CheckpointRecord, RunRecord, SQLStore

BIG = {"store": {"big": {f"k{i}": "v" * 40 for i in range(40)}}, "event_log": list(range(100))}


def _checkpoint(run_id: str, seq: int) -> CheckpointRecord:
    return CheckpointRecord(id=f"{run_id}-{seq}", run_id=run_id, seq=seq, step="s",
                            input_type=None, output_type=None, input_event=None,
                            output_event=None, ctx_state=BIG, created_at=time.time())


def test_a_prune_committed_during_a_read_does_not_damage_it(pg_url: str) -> None:
    reader, pruner = SQLStore(pg_url), SQLStore(pg_url)
    try:
        reader.put_run(RunRecord(run_id="r", workflow="w", status="completed",
                                 started_at=time.time()))
        reader.put_checkpoint(_checkpoint("r", 0))
        reader.put_checkpoint(_checkpoint("r", 1))
        fired: list[str] = []

        def between(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "flowpoint_blobs" in statement and not fired:
                fired.append(statement)
                assert pruner.delete_runs(["r"]) == 2  # committed while the read is open

        event.listen(reader._engine, "before_cursor_execute", between)
        try:
            rec = reader.get_checkpoint("r-1")
        finally:
            event.remove(reader._engine, "before_cursor_execute", between)
        assert fired, "the read never fetched blobs: the test proves nothing"
        assert rec.ctx_state == BIG
        assert reader.get_run("r") is None
    finally:
        reader.close()
        pruner.close()


def _backends(store: SQLStore) -> tuple[int, int]:
    """The server process ids behind the store's pooled read connection and its writer."""
    with store._read() as conn:
        reader = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    with store._writer.transaction() as conn:
        writer = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    return int(reader), int(writer)


def test_forked_processes_use_connections_of_their_own(pg_url: str) -> None:
    store = SQLStore(pg_url)
    try:
        store.put_run(RunRecord(run_id="parent", workflow="w", status="completed",
                                started_at=time.time()))
        parent_backends = _backends(store)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: use the store, report its connections, close it, exit
            code = 1
            try:
                os.close(read_end)
                assert store.get_run("parent") is not None  # a read first, then a write
                backends = _backends(store)
                store.put_run(RunRecord(run_id="child", workflow="w", status="completed",
                                        started_at=time.time()))
                os.write(write_end, f"{backends[0]} {backends[1]}".encode())
                store.close()
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        reported = os.read(read_end, 100).decode()
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "the child could not use the store"
        child_backends = tuple(int(x) for x in reported.split())
        assert set(child_backends).isdisjoint(parent_backends), (child_backends, parent_backends)
        assert _backends(store) == parent_backends  # the parent's sessions survived the child
        store.put_run(RunRecord(run_id="after", workflow="w", status="completed",
                                started_at=time.time()))
        assert {r.run_id for r in store.list_runs()} == {"parent", "child", "after"}
    finally:
        store.close()
