"""Runs and checkpoints come back exactly as they were put, on every backend."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from storage_helpers import make_ckpt, make_run

from flowpoint.errors import CheckpointNotFound, StoreError
from flowpoint.storage import CheckpointStore
from flowpoint.storage.contentstore import split_state


def test_every_store_implements_the_protocol(store: Any) -> None:
    assert isinstance(store, CheckpointStore)
    assert isinstance(store.url, str) and store.url


def test_run_round_trips_with_all_fields(store: Any) -> None:
    run = make_run(
        "run-a", ended_at=5.5, origin_checkpoint_id="ck-1", edited={"joke": "new"},
        error={"type": "ValueError", "message": "bad", "traceback": "..."},
        result={"answer": [1, 2.5, None, "x"]}, owner="host:1:boot", heartbeat_at=4.0,
    )
    store.put_run(run)
    assert store.get_run("run-a") == run
    assert store.get_run("run-missing") is None


def test_run_result_may_be_any_json_value(store: Any) -> None:
    for i, result in enumerate(["text", 3, [1, 2], None, True]):
        store.put_run(make_run(f"r{i}", result=result))
        assert store.get_run(f"r{i}").result == result


def test_duplicate_run_is_a_store_error(store: Any) -> None:
    store.put_run(make_run("dup"))
    with pytest.raises(StoreError, match="already exists"):
        store.put_run(make_run("dup"))


def test_unknown_status_is_refused(store: Any) -> None:
    with pytest.raises(ValueError, match="unknown run status 'finished'"):
        store.put_run(make_run("r", status="finished"))


def test_update_run_sets_known_fields(store: Any) -> None:
    store.put_run(make_run("r"))
    store.update_run("r", status="failed", ended_at=9.0, error={"type": "KeyError"})
    run = store.get_run("r")
    assert (run.status, run.ended_at, run.error) == ("failed", 9.0, {"type": "KeyError"})
    store.update_run("r", error=None)
    assert store.get_run("r").error is None


def test_update_run_names_an_unknown_field(store: Any) -> None:
    store.put_run(make_run("r"))
    with pytest.raises(ValueError, match="'colour'"):
        store.update_run("r", colour="red")
    assert store.get_run("r").status == "running"


def test_update_of_missing_run_is_not_found(store: Any) -> None:
    with pytest.raises(CheckpointNotFound, match="no run with id 'ghost'"):
        store.update_run("ghost", status="completed")


def test_list_runs_oldest_first_and_filtered(store: Any) -> None:
    store.put_run(make_run("late", started_at=30.0, status="completed"))
    store.put_run(make_run("early", started_at=10.0, status="failed"))
    store.put_run(make_run("mid", started_at=20.0, status="completed"))
    assert [r.run_id for r in store.list_runs()] == ["early", "mid", "late"]
    assert [r.run_id for r in store.list_runs(statuses=["completed"])] == ["mid", "late"]
    assert [r.run_id for r in store.list_runs(run_ids=["late", "early"])] == ["early", "late"]
    assert store.list_runs(run_ids=[]) == []


def test_checkpoint_round_trips_with_state(store: Any) -> None:
    store.put_run(make_run("r"))
    state = {
        "store": {"topic": "cats", "nested": {"deep": [1, {"x": None}]}},
        "log": [{"type": "a.B", "data": {"i": i, "text": "é ✓ \"quoted\" \\ %_"}} for i in range(200)],
        "big": {"k": "v" * 2000},
        "$chunks": "a user key that looks like a marker",
    }
    ck = make_ckpt("r", 1, ctx_state=state, step_duration_s=0.25, metadata={"label": "x"},
                   parent_id="p-1", serializer="json")
    store.put_checkpoint(ck)
    assert store.get_checkpoint(ck.id) == ck


def test_listing_leaves_out_state_unless_asked(store: Any) -> None:
    store.put_run(make_run("r"))
    ck = make_ckpt("r", 0)
    store.put_checkpoint(ck)
    (listed,) = store.list_checkpoints()
    assert listed == dataclasses.replace(ck, ctx_state=None)
    (full,) = store.list_checkpoints(with_state=True)
    assert full == ck


def test_put_checkpoint_sets_the_run_heartbeat(store: Any) -> None:
    store.put_run(make_run("r", heartbeat_at=None))
    store.put_checkpoint(make_ckpt("r", 0, created_at=123.5))
    assert store.get_run("r").heartbeat_at == 123.5


def test_checkpoint_of_unknown_run_is_refused(store: Any) -> None:
    with pytest.raises(StoreError, match="no run 'ghost'"):
        store.put_checkpoint(make_ckpt("ghost", 0))
    assert store.count_checkpoints() == 0


def test_duplicate_checkpoint_id_or_seq_is_refused_and_nothing_is_half_written(store: Any) -> None:
    store.put_run(make_run("r"))
    ck = make_ckpt("r", 1)
    store.put_checkpoint(ck)
    with pytest.raises(StoreError, match="already exists"):
        store.put_checkpoint(make_ckpt("r", 2, id=ck.id))
    with pytest.raises(StoreError, match="seq 1"):
        store.put_checkpoint(make_ckpt("r", 1, ctx_state={"big": ["x" * 40] * 100}))
    assert store.count_checkpoints() == 1
    assert store.storage_report()["blobs"] == 0


def test_state_that_is_not_json_is_refused_with_the_checkpoint_named(store: Any) -> None:
    store.put_run(make_run("r"))
    with pytest.raises(StoreError, match="cannot be stored"):
        store.put_checkpoint(make_ckpt("r", 0, id="ck-set", ctx_state={"s": {1, 2}}))
    assert store.count_checkpoints() == 0


def test_storage_report_counts_rows_and_bytes(store: Any) -> None:
    store.put_run(make_run("r"))
    state = {"big": [f"item {i:3}" * 4 for i in range(100)]}
    store.put_checkpoint(make_ckpt("r", 0, ctx_state=state))
    report = store.storage_report()
    blobs = len(split_state(state)[1])
    assert (report["runs"], report["checkpoints"], report["blobs"]) == (1, 1, blobs) and blobs > 4
    assert report["bytes"] > 4000
    assert report["url"] == store.url
