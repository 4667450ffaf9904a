"""Helpers for the durability tests: real store URLs (SQLite file, PostgreSQL) and workers.

PostgreSQL tests each get a fresh schema in the ``FLOWPOINT_TEST_PG`` database (its tables are
dropped with it), so they never touch tables another test suite is using.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
FLOWPOINT_TABLES = "flowpoint_checkpoints, flowpoint_blobs, flowpoint_runs, flowpoint_meta"


def pg_base_url() -> str:
    """FLOWPOINT_TEST_PG, or fail under CI (a missing server is a failure there), else skip."""
    url = os.environ.get("FLOWPOINT_TEST_PG")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("FLOWPOINT_TEST_PG is not set under CI: run `. scripts/postgres.sh` first")
        pytest.skip("FLOWPOINT_TEST_PG not set (run `. scripts/postgres.sh`)")
    return url


@contextlib.contextmanager
def fresh_pg_schema() -> Iterator[str]:
    """A URL whose search_path is a new, empty schema (no flowpoint tables), dropped afterwards.

    The same isolation tests/storage uses: nothing another suite's tables hold is touched.
    """
    base = pg_base_url()
    schema = f"fp_durable_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in base else "?"
        url = f"{base}{sep}options=-csearch_path%3D{schema}"
        drop_pg_tables(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def drop_pg_tables(url: str) -> None:
    """Remove every flowpoint table (in the URL's search_path) so a store starts empty."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {FLOWPOINT_TABLES} CASCADE"))
    finally:
        engine.dispose()


def sqlite_url(directory: Path, name: str = "store.db") -> str:
    """The URL of a SQLite store file in ``directory``."""
    return f"sqlite:///{directory / name}"


def worker_cmd(*args: Any) -> list[str]:
    """The command line of a worker process (the venv's python running worker.py)."""
    return [sys.executable, str(WORKER), *map(str, args)]


def run_worker(*args: Any, cwd: Path, timeout: float = 120) -> list[dict[str, Any]]:
    """Run a worker to completion; its JSON lines, or a failure showing its stderr."""
    proc = subprocess.run(worker_cmd(*args), cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"worker {args[:1]} exited {proc.returncode}:\n{proc.stderr}"
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def start_worker(*args: Any, cwd: Path) -> subprocess.Popen[str]:
    """Start a worker with stdin and stdout piped (JSON lines) and stderr to a file in ``cwd``."""
    err = open(cwd / f"worker-{os.urandom(4).hex()}.err", "w+")  # noqa: SIM115 - closed by reap
    proc = subprocess.Popen(worker_cmd(*args), cwd=cwd, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=err, text=True)
    proc.stderr = err  # type: ignore[assignment]
    return proc


def worker_stderr(proc: subprocess.Popen[str]) -> str:
    """What a worker started by start_worker wrote to stderr so far."""
    err = proc.stderr
    if err is None or err.closed:
        return ""
    err.flush()
    err.seek(0)
    return err.read()


def reap(proc: subprocess.Popen[str]) -> None:
    """Kill a worker if it still runs, wait for it, close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None and not stream.closed:
            with contextlib.suppress(OSError):  # a killed reader leaves stdin a broken pipe
                stream.close()


def read_line(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """The next JSON line a worker prints; fails with its stderr if it ended instead."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        raise AssertionError(f"worker ended (exit {proc.returncode}) without the expected line:"
                             f"\n{worker_stderr(proc)}")
    return json.loads(line)



def every_run(ckptr: Any) -> dict[str, Any]:
    """Every stored run of any workflow by id, oldest first (the store-wide view)."""
    from flowpoint import Run

    return {r.run_id: Run.from_record(r) for r in ckptr.store.list_runs()}


def every_checkpoint(ckptr: Any) -> dict[str, list[Any]]:
    """Every stored checkpoint of any workflow by run, start checkpoints included."""
    out = {}
    for rec in ckptr.store.list_runs():
        ckpts = ckptr.filter_checkpoints(run_id=rec.run_id, workflow=rec.workflow,
                                         include_start=True)
        if ckpts:
            out[rec.run_id] = ckpts
    return out
