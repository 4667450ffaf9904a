"""record_rows: the stored values list_checkpoints reads, in RECORD_COLUMNS order, read the same."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from storage_helpers import make_ckpt, make_run, raw_execute

from flowpoint.storage import CheckpointQuery, SQLStore
from flowpoint.storage.bulk import collector_paused
from flowpoint.storage.records import RECORD_COLUMNS
from flowpoint.storage.rows import record_from_values


def fill(store: Any) -> None:
    for r, at in (("a", 100.0), ("b", 50.0)):
        store.put_run(make_run(r, started_at=at, status="completed"))
        for seq in range(3):
            store.put_checkpoint(make_ckpt(r, seq, id=f"{r}{seq}", created_at=at + seq,
                                           step_duration_s=None if seq == 0 else 0.5,
                                           metadata={"n": seq} if seq == 2 else {}))


@pytest.mark.parametrize("query", [
    None, CheckpointQuery(run_ids=("a",)), CheckpointQuery(include_start=False),
    CheckpointQuery(descending=True), CheckpointQuery(created_after=101.5),
])
def test_rows_read_as_the_records_list_checkpoints_returns(store: Any, query: Any) -> None:
    fill(store)
    rows = store.record_rows(query)
    assert all(len(r) == len(RECORD_COLUMNS) for r in rows)
    assert [record_from_values(r) for r in rows] == store.list_checkpoints(query)
    assert [record_from_values(r) for r in store.record_rows(query, limit=2, offset=1)] == \
        store.list_checkpoints(query, limit=2, offset=1)


def test_json_columns_stay_text_until_read(store: Any) -> None:
    fill(store)
    row = dict(zip(RECORD_COLUMNS, store.record_rows(CheckpointQuery(run_ids=("b",)))[2],
                   strict=True))
    assert isinstance(row["input_event"], str) and isinstance(row["metadata"], str)
    assert record_from_values(tuple(row.values())).metadata == {"n": 2}


def test_bad_stored_values_read_as_damaged_and_never_raise(sql_store: SQLStore,
                                                           sql_url: str) -> None:
    fill(sql_store)
    raw_execute(sql_url, "UPDATE flowpoint_checkpoints SET input_event = '{\"type\": ', "
                         "output_event = '{\"a\": 1} x', metadata = '[1]' WHERE id = 'a1'")
    raw_execute(sql_url, "UPDATE flowpoint_checkpoints SET metadata = ' {\"k\": 1} ', "
                         "output_event = '\ufeff{}' WHERE id = 'a2'")
    by_id = {r[0]: record_from_values(r) for r in sql_store.record_rows()}
    assert by_id["a1"].input_event["$corrupt"].startswith("input_event: ")
    assert by_id["a1"].output_event["$corrupt"].startswith("output_event: Extra data")
    assert by_id["a1"].metadata == {"$corrupt": "metadata: expected an object, got list"}
    assert by_id["a2"].metadata == {"k": 1}  # JSON with spaces around still reads
    assert set(by_id["a2"].output_event) == {"$corrupt"}
    assert by_id["b1"].input_event == {"type": "flowpoint.runtime.events.StartEvent",
                                       "data": {"topic": "cats"}}


def test_bad_numbers_in_sqlite_are_reported_in_the_metadata(sqlite_url: str) -> None:
    with SQLStore(sqlite_url) as store:
        fill(store)
        raw_execute(sqlite_url, "UPDATE flowpoint_checkpoints SET seq = 'x', created_at = "
                                "'yesterday', step_duration_s = 1e999 WHERE id = 'a1'",
                    "UPDATE flowpoint_checkpoints SET created_at = 1e300 WHERE id = 'a2'",
                    "UPDATE flowpoint_runs SET started_at = 'soon', ended_at = -1e300 "
                    "WHERE run_id = 'b'")
        by_id = {r[0]: record_from_values(r) for r in store.record_rows()}
        bad = by_id["a1"]
        assert (bad.seq, bad.created_at, bad.step_duration_s) == (-1, 0.0, None)
        assert all(f"{c}:" in bad.metadata["$corrupt"]
                   for c in ("seq", "created_at", "step_duration_s"))
        assert by_id["a2"].created_at == 0.0 and by_id["a2"].metadata["n"] == 2
        assert "created_at: " in by_id["a2"].metadata["$corrupt"]
        assert by_id["b1"].metadata == {} and by_id["b1"].step_duration_s == 0.5
        run = {r.run_id: r for r in store.list_runs()}["b"]
        assert (run.started_at, run.ended_at) == (0.0, None)
        assert "started_at:" in run.error["$corrupt"] and "ended_at:" in run.error["$corrupt"]
        assert store.get_run("b") == run


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_inside_and_as_before_after(enabled: bool) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(KeyError), collector_paused():
            raise KeyError("x")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
