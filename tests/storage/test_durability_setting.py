"""durability="process" / "power" reaches the database connections that commit checkpoints."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from flowpoint import StoreError, WorkflowCheckpointer
from flowpoint.demo import JokeFlow
from flowpoint.storage import CheckpointQuery, SQLStore, open_store

SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def synchronous(store: SQLStore) -> str:
    raw = store._engine.raw_connection()
    try:
        return SYNC_NAMES[raw.driver_connection.execute("PRAGMA synchronous").fetchone()[0]]
    finally:
        raw.close()


def writer_synchronous(store: SQLStore) -> str:
    with store._writer._raw() as cur:
        cur.execute("PRAGMA synchronous")
        return SYNC_NAMES[cur.fetchone()[0]]


@pytest.mark.parametrize("durability, expected", [(None, "NORMAL"), ("process", "NORMAL"),
                                                  ("power", "FULL")])
async def test_the_setting_reaches_sqlite_and_checkpoints_are_written(
        tmp_path: Path, durability: str | None, expected: str) -> None:
    ckptr = WorkflowCheckpointer(JokeFlow(timeout=None), store=str(tmp_path / "d.db"),
                                 durability=durability)
    handler = ckptr.run(topic="fsync")
    await handler
    store = ckptr.store
    assert isinstance(store, SQLStore) and store.durability == (durability or "process")
    assert synchronous(store) == expected
    assert writer_synchronous(store) == expected
    assert store.count_checkpoints(CheckpointQuery(run_ids=(handler.run_id,))) == 3
    store.close()


def test_postgresql_power_commits_synchronously() -> None:
    url = os.environ.get("FLOWPOINT_TEST_PG")
    if not url:
        pytest.fail("FLOWPOINT_TEST_PG is not set (source scripts/postgres.sh)")
    store = open_store(url, durability="power")
    try:
        raw = store._engine.raw_connection()
        try:
            cur = raw.driver_connection.cursor()
            cur.execute("SHOW synchronous_commit")
            assert cur.fetchone()[0] == "on"
        finally:
            raw.close()
    finally:
        store.close()


def test_unknown_levels_and_impossible_combinations_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unknown durability 'disk'.*'process'.*'power'"):
        open_store(str(tmp_path / "x.db"), durability="disk")
    with pytest.raises(StoreError, match="memory store cannot give durability='power'"):
        open_store("memory", durability="power")
    store = open_store(str(tmp_path / "y.db"))
    try:
        with pytest.raises(StoreError, match="opened with durability='process', not 'power'"):
            WorkflowCheckpointer(JokeFlow(timeout=None), store=store, durability="power")
        assert open_store(store, durability="process") is store
    finally:
        store.close()


def test_power_writes_a_new_runs_row_unsynced_and_every_checkpoint_fsynced(
        tmp_path: Path) -> None:
    """A run's row needs no fsync of its own under "power": its start checkpoint's fsynced
    commit follows before any step runs. The writer is back on FULL right after it."""
    import time

    from flowpoint.storage import RunRecord

    store = open_store(str(tmp_path / "p.db"), durability="power")
    try:
        assert isinstance(store, SQLStore)
        store.put_run(RunRecord(run_id="r1", workflow="w", status="running",
                                started_at=time.time()))
        assert writer_synchronous(store) == "FULL"
        assert store.get_run("r1") is not None
        with pytest.raises(StoreError, match="already exists"):
            store.put_run(RunRecord(run_id="r1", workflow="w", status="running",
                                    started_at=time.time()))
        assert writer_synchronous(store) == "FULL"  # also after a refused write
    finally:
        store.close()
