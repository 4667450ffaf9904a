"""Stores opened on files they must not change: another application's database, a read-only
mount, a full disk; and store URLs that are not what they seem."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowpoint import StoreError, WorkflowCheckpointer
from flowpoint.demo import JokeFlow
from flowpoint.storage import SQLStore, open_store


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_another_applications_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
    conn.commit()
    conn.close()
    before = _digest(path)
    for spec in (f"sqlite:///{path}", str(path)):
        with pytest.raises(StoreError, match="another application's SQLite database.*invoices"):
            WorkflowCheckpointer(JokeFlow(), store=spec)
    assert _digest(path) == before
    assert not Path(f"{path}-wal").exists()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] \
        == ["invoices"]
    conn.close()


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 200)
    before = _digest(path)
    with pytest.raises(StoreError, match="not a SQLite database"):
        SQLStore(f"sqlite:///{path}")
    assert _digest(path) == before


async def _one_run(url: str) -> str:
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    h = ckptr.run(topic="files")
    await h
    ckptr.store.close()
    return h.run_id


async def test_read_only_open_reads_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    run_id = await _one_run(f"sqlite:///{path}")
    before = _digest(path)
    store = SQLStore(f"sqlite:///{path}", read_only=True)
    try:
        assert store.read_only and "read_only=True" in repr(store)
        ckptr = WorkflowCheckpointer(JokeFlow(), store=store)
        assert ckptr.runs[run_id].status == "completed"
        assert len(ckptr.filter_checkpoints(run_id=run_id, include_start=True)) == 3
        with pytest.raises(StoreError, match="read-only"):
            ckptr.run(topic="refused")
        with pytest.raises(StoreError, match="read-only"):
            ckptr.prune(keep_last=1)
    finally:
        store.close()
    assert _digest(path) == before


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[list[Path]]:
    """Mount points made by a test (root only: this suite runs as root), unmounted after."""
    made: list[Path] = []
    yield made
    for point in reversed(made):
        subprocess.run(["umount", "-l", str(point)], check=False)


def _mount(mounts: list[Path], *args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)
    mounts.append(Path(args[-1]))


async def test_a_store_on_a_read_only_mount_opens_read_only(tmp_path: Path,
                                                            mounts: list[Path]) -> None:
    source, view = tmp_path / "data", tmp_path / "view"
    source.mkdir()
    view.mkdir()
    run_id = await _one_run(f"sqlite:///{source / 'runs.db'}")
    _mount(mounts, "--bind", str(source), str(view))
    subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
    with pytest.warns(UserWarning, match="read-only filesystem: opened the store read-only"):
        ckptr = WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{view / 'runs.db'}")
    try:
        assert ckptr.store.read_only
        assert ckptr.runs[run_id].status == "completed"
        assert ckptr.last_checkpoint(run_id).seq == 2
        with pytest.raises(StoreError, match="read-only"):
            ckptr.run(topic="refused")
    finally:
        ckptr.store.close()


FULL_DISK = textwrap.dedent("""
    import asyncio, json, os, sys
    from flowpoint import StoreError, WorkflowCheckpointer
    from flowpoint.demo import JokeFlow

    url, filler = sys.argv[1], sys.argv[2]
    async def main():
        keep = WorkflowCheckpointer(JokeFlow(), store=url)
        await keep.run(topic="before")
        with open(filler, "wb", buffering=0) as f:  # fill the disk
            try:
                while True:
                    f.write(b"x" * 4096)
            except OSError:
                pass
        out = {}
        ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
        out["runs"] = [r.status for r in ckptr.runs.values()]
        try:
            await ckptr.run(topic="after")
            out["write"] = "succeeded"
        except StoreError as exc:
            out["write"] = str(exc)
        out["runs_after"] = len(ckptr.runs)
        out["checkpoints"] = sum(len(v) for v in ckptr.checkpoints.values())
        os.remove(filler)
        await ckptr.run(topic="freed")
        out["runs_freed"] = sorted(r.status for r in ckptr.runs.values())
        print(json.dumps(out))
    asyncio.run(main())
""")


def test_a_full_disk_fails_writes_clearly_and_leaves_reading(tmp_path: Path,
                                                             mounts: list[Path]) -> None:
    disk = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    disk.mkdir()
    _mount(mounts, "-t", "tmpfs", "-o", "size=2M", "tmpfs", str(disk))
    proc = subprocess.run([sys.executable, "-c", FULL_DISK, f"sqlite:///{disk / 'runs.db'}",
                           str(disk / "filler")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    assert out["runs"] == ["completed"]
    assert "disk is full" in out["write"], out["write"]
    assert out["checkpoints"] >= 2  # the step checkpoints of the run from before
    assert out["runs_freed"].count("completed") == 2  # writes work again once there is space


@pytest.mark.parametrize("spec", ["sqlite:/data/runs.db", "sqlite:runs.db", "file:runs.sqlite"])
def test_a_url_with_too_few_slashes_is_an_error_naming_the_forms(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 spec: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match=r"sqlite:///path/to/file\.db"):
        open_store(spec)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("spec", ["mysql://user@host/db", "postgresql+psycopg://u@h:port/db",
                                  "oracle://x"])
def test_unknown_or_malformed_urls_name_the_accepted_forms(spec: str) -> None:
    with pytest.raises(StoreError, match="postgresql\\+psycopg://"):
        open_store(spec)


def test_a_postgresql_url_without_the_driver_says_what_to_install() -> None:
    code = ("import sys; sys.modules['psycopg'] = None\n"
            "from flowpoint import StoreError\nfrom flowpoint.storage import open_store\n"
            "try:\n    open_store('postgresql+psycopg://u:p@127.0.0.1:1/db')\n"
            "except StoreError as exc:\n    print(exc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert "pip install 'flowpoint[postgres]'" in proc.stdout, proc.stdout + proc.stderr
    assert "ModuleNotFoundError" not in proc.stderr
