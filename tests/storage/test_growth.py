"""Storage grows linearly with steps: an append-only log is not copied into every checkpoint."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from storage_helpers import make_ckpt, make_run

from flowpoint.storage import MemoryStore, SQLStore
from flowpoint.storage.sqlschema import blobs


def entry(i: int) -> dict[str, Any]:
    return {"type": "demo.flows.ProgressEvent", "data": {"step": i, "note": f"did thing {i}"}}


def blob_bytes(store: Any) -> int:
    if isinstance(store, MemoryStore):
        return sum(len(b) for b in store._blobs.values())
    with store._read() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(blobs.c.size), 0))).scalar_one())


def append_steps(store: Any, steps: int, measure_at: int = 0) -> tuple[int, int]:
    """Put `steps` checkpoints, each appending one entry to the log; (blob bytes, all bytes)
    after `measure_at` steps."""
    store.put_run(make_run("run"))
    log: list[dict[str, Any]] = []
    at = (0, 0)
    for seq in range(steps):
        log.append(entry(seq))
        state = {"store": {"counter": seq}, "queues": {}, "event_log": log}
        store.put_checkpoint(make_ckpt("run", seq, ctx_state=state))
        if seq + 1 == measure_at:
            at = (blob_bytes(store), store.storage_report()["bytes"])
    return at


def test_thousand_appends_cost_at_most_twelve_times_a_hundred(sqlite_url: str) -> None:
    """On the default store; the other backends are held to the same bytes below."""
    with SQLStore(sqlite_url) as store:
        blobs_100, total_100 = append_steps(store, 1000, measure_at=100)
        blobs_1000, total_1000 = blob_bytes(store), store.storage_report()["bytes"]
    assert blobs_1000 <= 12 * blobs_100, (blobs_100, blobs_1000)
    assert total_1000 <= 12 * total_100, (total_100, total_1000)
    full_copies = sum(len(str(entry(i))) * (1000 - i) for i in range(1000))
    assert total_1000 < full_copies / 20


def test_sql_stores_keep_exactly_the_blobs_the_encoding_makes(sql_store: SQLStore) -> None:
    reference = MemoryStore()
    append_steps(reference, 150)
    append_steps(sql_store, 150)
    assert sql_store.storage_report()["blobs"] == reference.storage_report()["blobs"]
    assert blob_bytes(sql_store) == blob_bytes(reference)


def test_last_state_of_a_long_run_reads_back_whole(store: Any) -> None:
    append_steps(store, 120)
    last = store.list_checkpoints(limit=1, offset=119, with_state=True)[0]
    assert last.ctx_state["event_log"] == [entry(i) for i in range(120)]
    assert store.get_checkpoint(last.id).ctx_state == last.ctx_state
