"""Damaged rows are reported in place, never raised: one bad row must not hide the others."""

from __future__ import annotations

from typing import Any

import pytest
from storage_helpers import make_ckpt, make_run, raw_execute

from flowpoint.storage import SQLStore


def put_two(store: SQLStore) -> None:
    store.put_run(make_run("r", result={"ok": 1}))
    store.put_checkpoint(make_ckpt("r", 0, id="good"))
    store.put_checkpoint(make_ckpt(
        "r", 1, id="bad", metadata={"label": "x"},
        ctx_state={"small": 1, "log": [f"entry {i}" * 5 for i in range(40)],
                   "big": {f"k{i}": "v" * 20 for i in range(40)}},
    ))


def test_unparseable_json_columns_become_corrupt_markers(sql_store: SQLStore, sql_url: str) -> None:
    put_two(sql_store)
    raw_execute(
        sql_url,
        "UPDATE flowpoint_checkpoints SET input_event = '{\"type\": ', output_event = 'nan?',"
        " metadata = '[1, 2]' WHERE id = 'bad'",
    )
    good, bad = sql_store.list_checkpoints()
    assert good.id == "good" and "$corrupt" not in str(good)
    assert bad.input_event["$corrupt"].startswith("input_event: ")
    assert bad.output_event["$corrupt"].startswith("output_event: ")
    assert bad.metadata == {"$corrupt": "metadata: expected an object, got list"}


def test_unparseable_metadata_is_a_corrupt_dict(sql_store: SQLStore, sql_url: str) -> None:
    put_two(sql_store)
    raw_execute(sql_url, "UPDATE flowpoint_checkpoints SET metadata = 'oops' WHERE id = 'bad'")
    assert set(sql_store.get_checkpoint("bad").metadata) == {"$corrupt"}


def test_unparseable_state_manifest_is_reported(sql_store: SQLStore, sql_url: str) -> None:
    put_two(sql_store)
    raw_execute(sql_url, "UPDATE flowpoint_checkpoints SET state_manifest = '{' WHERE id = 'bad'")
    assert sql_store.get_checkpoint("bad").ctx_state["$corrupt"].startswith("state_manifest: ")
    states = [c.ctx_state for c in sql_store.list_checkpoints(with_state=True)]
    assert states[0] == {"store": {"seq": 0}, "log": []}
    assert set(states[1]) == {"$corrupt"}


def test_missing_and_damaged_blobs_are_reported_per_value(sql_store: SQLStore, sql_url: str) -> None:
    put_two(sql_store)
    ck = sql_store.get_checkpoint("bad")
    big_hash = _manifest(sql_url)["big"]["$blob"]
    chunk_hash = _manifest(sql_url)["log"]["$chunks"][0]
    raw_execute(sql_url, f"DELETE FROM flowpoint_blobs WHERE hash = '{big_hash}'")
    raw_execute(sql_url, f"UPDATE flowpoint_blobs SET data = '[1,' WHERE hash = '{chunk_hash}'")
    state = sql_store.get_checkpoint("bad").ctx_state
    assert state["small"] == ck.ctx_state["small"] == 1
    assert state["big"] == {"$corrupt": f"missing blob {big_hash}"}
    assert state["log"]["$corrupt"].startswith(f"blob {chunk_hash} does not match its hash")


def test_corrupt_run_columns_are_reported(sql_store: SQLStore, sql_url: str) -> None:
    put_two(sql_store)
    raw_execute(sql_url, "UPDATE flowpoint_runs SET result = '{{', error = 'x' WHERE run_id = 'r'")
    (run,) = sql_store.list_runs()
    assert run.result["$corrupt"].startswith("result: ")
    assert run.error["$corrupt"].startswith("error: ")


def test_run_error_and_edited_that_are_not_objects_are_reported(
    sql_store: SQLStore, sql_url: str
) -> None:
    put_two(sql_store)
    raw_execute(sql_url, "UPDATE flowpoint_runs SET error = '[1, 2]', edited = '5'")
    (run,) = sql_store.list_runs()
    assert run.error == {"$corrupt": "error: expected an object, got list"}
    assert run.edited == {"$corrupt": "edited: expected an object, got int"}


def test_numbers_stored_as_text_are_reported_not_raised(sqlite_url: str) -> None:
    with SQLStore(sqlite_url) as store:
        put_two(store)
        raw_execute(sqlite_url,
                    "UPDATE flowpoint_checkpoints SET created_at = 'yesterday',"
                    " step_duration_s = 'slow' WHERE id = 'bad'",
                    "UPDATE flowpoint_runs SET started_at = 'dawn', ended_at = '12.5'")
        good, bad = store.list_checkpoints()
        assert "$corrupt" not in good.metadata
        assert (bad.created_at, bad.step_duration_s, bad.metadata["label"]) == (0.0, None, "x")
        assert "created_at: 'yesterday' is not a time" in bad.metadata["$corrupt"]
        assert "step_duration_s: 'slow' is not a number" in bad.metadata["$corrupt"]
        (run,) = store.list_runs()
        assert (run.started_at, run.ended_at) == (0.0, 12.5)
        assert run.error == {"$corrupt": "started_at: 'dawn' is not a time datetimes can hold"}


@pytest.mark.parametrize("value", [1e12, -1e15, 2**62, 1e300])
def test_times_out_of_datetime_range_are_reported(sql_store: SQLStore, sql_url: str,
                                                 value: float) -> None:
    put_two(sql_store)
    raw_execute(sql_url, "UPDATE flowpoint_checkpoints SET created_at = :v WHERE id = 'bad'",
                "UPDATE flowpoint_runs SET heartbeat_at = :v", params={"v": value})
    bad = sql_store.get_checkpoint("bad")
    assert bad.created_at == 0.0 and "created_at" in bad.metadata["$corrupt"]
    (run,) = sql_store.list_runs()
    assert run.heartbeat_at is None and "heartbeat_at" in run.error["$corrupt"]


def test_prune_survives_corrupt_manifests(sql_store: SQLStore, sql_url: str) -> None:
    put_two(sql_store)
    raw_execute(sql_url, "UPDATE flowpoint_checkpoints SET state_manifest = '{$' WHERE id = 'good'")
    assert sql_store.prune(keep_last=0) == 1
    assert sql_store.storage_report()["blobs"] == 0


def _manifest(url: str) -> Any:
    import json

    (row,) = raw_execute(url, "SELECT state_manifest FROM flowpoint_checkpoints WHERE id = 'bad'")
    return json.loads(row[0])
