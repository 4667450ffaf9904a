"""Schema versions: newer stores are refused clearly, older ones are migrated, files persist."""

from __future__ import annotations

import pytest
from storage_helpers import make_ckpt, make_run, raw_execute

from flowpoint.errors import SchemaVersionError, StoreError
from flowpoint.storage import CheckpointQuery, SQLStore
from flowpoint.storage.sqlschema import SCHEMA_VERSION

V0_DDL = (
    "CREATE TABLE flowpoint_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE flowpoint_runs (run_id TEXT PRIMARY KEY, workflow TEXT NOT NULL,"
    " status TEXT NOT NULL, started_at FLOAT NOT NULL, ended_at FLOAT,"
    " origin_checkpoint_id TEXT, edited TEXT, error TEXT, result TEXT, owner TEXT,"
    " heartbeat_at FLOAT)",
    "CREATE TABLE flowpoint_checkpoints (id TEXT PRIMARY KEY,"
    " run_id TEXT NOT NULL REFERENCES flowpoint_runs (run_id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL, step TEXT, input_type TEXT, output_type TEXT, input_event TEXT,"
    " output_event TEXT, state_manifest TEXT, created_at FLOAT NOT NULL, step_duration_s FLOAT,"
    " metadata TEXT, parent_id TEXT, serializer TEXT NOT NULL, UNIQUE (run_id, seq))",
    "CREATE TABLE flowpoint_blobs (hash TEXT PRIMARY KEY, data TEXT NOT NULL,"
    " size INTEGER NOT NULL)",
    "INSERT INTO flowpoint_meta (key, value) VALUES ('schema_version', '0')",
    "INSERT INTO flowpoint_runs (run_id, workflow, status, started_at)"
    " VALUES ('old-run', 'JokeFlow', 'completed', 1.0)",
    "INSERT INTO flowpoint_checkpoints (id, run_id, seq, step, input_type, output_type,"
    " input_event, output_event, state_manifest, created_at, metadata, serializer) VALUES"
    " ('old-0', 'old-run', 0, NULL, 'fp.events.StartEvent', 'demo.flows.JokeEvent', '{}',"
    " '{\"joke\": \"old\"}', '{\"store\": {\"n\": 1}}', 2.0, '{}', 'json')",
)


def test_newer_schema_is_refused_with_upgrade_advice(fresh_sql_url: str) -> None:
    SQLStore(fresh_sql_url).close()
    raw_execute(fresh_sql_url, "UPDATE flowpoint_meta SET value = '7' WHERE key = 'schema_version'")
    with pytest.raises(SchemaVersionError) as err:
        SQLStore(fresh_sql_url)
    message = str(err.value)
    assert "written by schema version 7" in message
    assert f"reads up to {SCHEMA_VERSION}: upgrade flowpoint" in message
    assert "***" in message or "sqlite" in message
    assert ":flowpoint@" not in message


def test_unreadable_schema_version_is_a_store_error(fresh_sql_url: str) -> None:
    SQLStore(fresh_sql_url).close()
    raw_execute(fresh_sql_url, "UPDATE flowpoint_meta SET value = 'two' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="unreadable schema_version 'two'"):
        SQLStore(fresh_sql_url)


def test_version_zero_store_is_migrated_in_place(fresh_sql_url: str) -> None:
    raw_execute(fresh_sql_url, *V0_DDL)
    with SQLStore(fresh_sql_url) as store:
        (old,) = store.list_checkpoints(with_state=True)
        assert (old.id, old.output_event, old.ctx_state) == ("old-0", {"joke": "old"}, {"store": {"n": 1}})
        assert store.list_checkpoints(CheckpointQuery(output_types=("JokeEvent",)))[0].id == "old-0"
        assert store.list_checkpoints(CheckpointQuery(input_types=("StartEvent",)))[0].id == "old-0"
        assert store.storage_report()["bytes"] > 48
        store.put_checkpoint(make_ckpt("old-run", 1))
    (version,) = raw_execute(fresh_sql_url, "SELECT value FROM flowpoint_meta")
    assert version[0] == str(SCHEMA_VERSION)
    with SQLStore(fresh_sql_url) as again:
        assert again.count_checkpoints() == 2


def test_sqlite_file_reopened_by_a_fresh_store_sees_everything(sqlite_url: str) -> None:
    with SQLStore(sqlite_url) as first:
        first.put_run(make_run("r", status="running"))
        for seq in range(5):
            first.put_checkpoint(make_ckpt("r", seq, id=f"c{seq}", ctx_state={"n": [seq] * 50}))
        first.update_run("r", status="completed", ended_at=3.0)
    with SQLStore(sqlite_url) as second:
        assert second.get_run("r").status == "completed"
        assert [c.ctx_state for c in second.list_checkpoints(with_state=True)] == [
            {"n": [seq] * 50} for seq in range(5)]


def test_store_reports_the_url_without_password(pg_url: str) -> None:
    with SQLStore(pg_url) as store:
        assert "***" in store.url and ":flowpoint@" not in store.url
        assert "***" in repr(store) and ":flowpoint@" not in repr(store)


def _checkpoint_indexes(url: str) -> set[str]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        return {ix["name"] for ix in inspect(engine).get_indexes("flowpoint_checkpoints")}
    finally:
        engine.dispose()


def test_version_one_store_drops_its_secondary_indexes_and_keeps_its_data(
        fresh_sql_url: str) -> None:
    from flowpoint.storage.sqlschema import DROPPED_INDEXES

    with SQLStore(fresh_sql_url) as store:
        store.put_run(make_run("r", status="running"))
        for seq in range(3):
            store.put_checkpoint(make_ckpt("r", seq, id=f"c{seq}", ctx_state={"n": [seq] * 40}))
    columns = {"ix_flowpoint_checkpoints_step": "step",
               "ix_flowpoint_checkpoints_input_name": "input_name",
               "ix_flowpoint_checkpoints_output_name": "output_name",
               "ix_flowpoint_checkpoints_created_at": "created_at"}
    raw_execute(fresh_sql_url,  # the version 1 layout: the same tables plus four indexes
                *[f"CREATE INDEX {name} ON flowpoint_checkpoints ({col})"
                  for name, col in columns.items()],
                "UPDATE flowpoint_meta SET value = '1' WHERE key = 'schema_version'")
    assert set(DROPPED_INDEXES) <= _checkpoint_indexes(fresh_sql_url)
    with SQLStore(fresh_sql_url) as store:
        assert not set(DROPPED_INDEXES) & _checkpoint_indexes(fresh_sql_url)
        assert [c.ctx_state for c in store.list_checkpoints(with_state=True)] == [
            {"n": [seq] * 40} for seq in range(3)]
        assert [c.id for c in store.list_checkpoints(CheckpointQuery(steps=("step_2",)))] == ["c2"]
        store.put_checkpoint(make_ckpt("r", 3, id="c3"))
        assert store.count_checkpoints() == 4
    (version,) = raw_execute(fresh_sql_url, "SELECT value FROM flowpoint_meta")
    assert version[0] == str(SCHEMA_VERSION) == "2"
