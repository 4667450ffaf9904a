"""Migrating an old store while other processes open it too, or while being SIGKILLed: the
store ends up migrated exactly once, or still whole in its old layout, never half of each."""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from durability_support import read_line, reap, sqlite_url, start_worker
from migration_support import V1_ONLY_COLUMNS, execute, layout, make_v0_store

from flowpoint import WorkflowCheckpointer
from flowpoint.demo import JokeEvent, JokeFlow
from flowpoint.storage.sqlschema import SCHEMA_VERSION

JOKES = 5
OPENERS = 4


def go(procs: list[Any]) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


def check_migrated(url: str, total: int, jokes: int) -> None:
    """Opened here (migrating it if needed): current version, new columns filled in for every
    row, bare-name filters working."""
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    try:
        version, columns = layout(url)
        assert version == str(SCHEMA_VERSION) and set(V1_ONLY_COLUMNS) <= columns
        unfilled = execute(url, "SELECT COUNT(*) FROM flowpoint_checkpoints WHERE "
                                "(input_type IS NOT NULL AND input_name IS NULL) OR "
                                "(output_type IS NOT NULL AND output_name IS NULL) OR "
                                "size_bytes <= 48")
        assert unfilled[0][0] == 0
        assert ckptr.store.count_checkpoints() == total
        found = ckptr.filter_checkpoints(output_event_type="JokeEvent")
        assert len(found) == jokes and all(type(c.output_event) is JokeEvent for c in found[:20])
    finally:
        ckptr.store.close()


@pytest.mark.slow
def test_processes_opening_an_old_store_at_once_migrate_it_once(
        store_url: str, tmp_path: Path, workers: list[Any]) -> None:
    total = make_v0_store(store_url, jokes=JOKES, doublings=2)
    assert layout(store_url)[0] is None
    procs = [start_worker("open", store_url, cwd=tmp_path) for _ in range(OPENERS)]
    workers.extend(procs)
    for proc in procs:
        assert read_line(proc) == {"loaded": True}
    go(procs)
    seen = [read_line(proc) for proc in procs]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    assert seen == [{"checkpoints": total, "jokes": JOKES * 4}] * OPENERS
    check_migrated(store_url, total, JOKES * 4)


@pytest.mark.slow
def test_sigkill_during_migration_leaves_the_old_or_the_new_layout(
        tmp_path: Path, workers: list[Any]) -> None:
    template = tmp_path / "v0.db"
    total = make_v0_store(sqlite_url(tmp_path, "v0.db"), jokes=JOKES, doublings=9)
    seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    outcomes = []
    for i in range(6):
        path = tmp_path / f"kill{i}.db"
        shutil.copyfile(template, path)
        url = sqlite_url(tmp_path, path.name)
        proc = start_worker("open", url, cwd=tmp_path)
        workers.append(proc)
        assert read_line(proc) == {"loaded": True}
        delay = rng.uniform(0, 0.9)
        go([proc])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        reap(proc)
        where = f"seed {seed}, kill {i} after {delay:.3f} s"
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], where
        finally:
            conn.close()
        version, columns = layout(url)
        old = version is None and not set(V1_ONLY_COLUMNS) & columns
        new = version == str(SCHEMA_VERSION) and set(V1_ONLY_COLUMNS) <= columns
        assert old or new, f"{where}: half migrated: version {version}, columns {columns}"
        outcomes.append("old" if old else "migrated")
        check_migrated(url, total, JOKES * 2**9)
        path.unlink()
    print(f"seed {seed}: {outcomes}")
