"""The schema version in flowpoint_meta: a newer or unreadable one is refused with a clear
message and nothing changed; an older store (the v0 layout) is migrated and fully usable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from durability_support import every_checkpoint, every_run
from hostile_data import build_template, copy_store

from flowpoint import SchemaVersionError, StoreError, WorkflowCheckpointer
from flowpoint.demo import JokeEvent, JokeFlow
from flowpoint.storage.sqlschema import SCHEMA_VERSION

V0_CHECKPOINTS = """
CREATE TABLE flowpoint_checkpoints (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES flowpoint_runs (run_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    step TEXT, input_type TEXT, output_type TEXT, input_event TEXT, output_event TEXT,
    state_manifest TEXT, created_at FLOAT NOT NULL, step_duration_s FLOAT, metadata TEXT,
    parent_id TEXT, serializer TEXT NOT NULL,
    CONSTRAINT uq_flowpoint_checkpoints_run_seq UNIQUE (run_id, seq)
)"""
V0_COLUMNS = ("id, run_id, seq, step, input_type, output_type, input_event, output_event, "
              "state_manifest, created_at, step_duration_s, metadata, parent_id, serializer")

EVERY = ["JokeFlow", "SlowFlow"]  # the template holds runs of both


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("schema-template"))


def set_version(path: Path, value: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE flowpoint_meta SET value = ? WHERE key = 'schema_version'", (value,))
    conn.close()


def snapshot(path: Path) -> tuple:
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        meta = "SELECT value FROM flowpoint_meta"
        return (conn.execute(meta).fetchall() if "flowpoint_meta" in tables else None,
                conn.execute("SELECT COUNT(*), SUM(LENGTH(output_event)) FROM "
                             "flowpoint_checkpoints").fetchall(),
                [r[1] for r in conn.execute("PRAGMA table_info(flowpoint_checkpoints)")])
    finally:
        conn.close()


def test_a_store_from_a_newer_flowpoint_is_refused_and_left_as_it_was(
        template: Path, tmp_path: Path) -> None:
    path = copy_store(template, tmp_path)
    newer = SCHEMA_VERSION + 1
    set_version(path, str(newer))
    before = snapshot(path)
    with pytest.raises(SchemaVersionError) as err:
        WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{path}")
    message = str(err.value)
    assert f"version {newer}" in message and str(path) in message
    assert "upgrade flowpoint" in message
    assert snapshot(path) == before


@pytest.mark.parametrize("value, error, words", [
    ("abc", StoreError, "unreadable schema_version 'abc'"),
    ("-1", SchemaVersionError, "cannot migrate"),
    ("1.5", StoreError, "unreadable schema_version '1.5'"),
    ("<script>alert(1)</script>", StoreError, "unreadable schema_version"),
])
def test_an_unreadable_or_unknown_version_is_refused_by_name(
        template: Path, tmp_path: Path, value: str, error: type, words: str) -> None:
    path = copy_store(template, tmp_path)
    set_version(path, value)
    before = snapshot(path)
    with pytest.raises(error) as err:
        WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{path}")
    assert words in str(err.value)
    assert snapshot(path) == before


def make_v0(path: Path, with_meta: bool) -> None:
    """Rewrite a store into the v0 layout: no bare type names, no row sizes (no meta table)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(f"""
        PRAGMA foreign_keys = OFF;
        BEGIN;
        CREATE TABLE old_ckpts AS SELECT {V0_COLUMNS} FROM flowpoint_checkpoints;
        DROP TABLE flowpoint_checkpoints;
        {V0_CHECKPOINTS};
        INSERT INTO flowpoint_checkpoints ({V0_COLUMNS}) SELECT {V0_COLUMNS} FROM old_ckpts;
        DROP TABLE old_ckpts;
        {"UPDATE flowpoint_meta SET value = '0'" if with_meta else "DROP TABLE flowpoint_meta"};
        COMMIT;
    """)
    conn.close()


@pytest.mark.parametrize("with_meta", [False, True], ids=["no-meta-table", "version-0-row"])
async def test_an_older_store_is_migrated_and_everything_in_it_works(
        template: Path, tmp_path: Path, with_meta: bool) -> None:
    path = copy_store(template, tmp_path)
    make_v0(path, with_meta)
    assert "input_name" not in snapshot(path)[2]
    ckptr = WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{path}")
    try:
        meta, _, columns = snapshot(path)
        assert meta == [(str(SCHEMA_VERSION),)]
        assert {"input_name", "output_name", "size_bytes"} <= set(columns)
        runs = every_run(ckptr)
        assert sorted(r.status for r in runs.values()) == ["completed"] * 3 + ["failed"]
        by_run = every_checkpoint(ckptr)
        assert sum(len(cs) for cs in by_run.values()) == 3 + 3 + 2 + 43
        assert all(c.problems == [] for cs in by_run.values() for c in cs)
        jokes = ckptr.filter_checkpoints(output_event_type="JokeEvent")  # bare name: new column
        assert len(jokes) == 3 and all(type(c.output_event) is JokeEvent for c in jokes)
        assert len(ckptr.filter_checkpoints(output_event_type=JokeEvent)) == 3
        assert ckptr.storage_report()["bytes"] > 0
        conn = sqlite3.connect(path)
        assert conn.execute("SELECT COUNT(*) FROM flowpoint_checkpoints "
                            "WHERE size_bytes <= 48").fetchone() == (0,)
        conn.close()
        failed = next(r for r in runs.values() if r.status == "failed")
        result = await ckptr.run_from(ckptr.last_checkpoint(failed.run_id))
        assert result.startswith("Critique:")
        assert len(ckptr.to_dataframe(workflow=EVERY)) == 3 + 3 + 2 + 43 + 1
    finally:
        ckptr.store.close()
    # Opening it again is a no-op: already at the current version.
    again = WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{path}")
    assert len(again.to_dataframe(workflow=EVERY)) == 3 + 3 + 2 + 43 + 1
    again.store.close()
