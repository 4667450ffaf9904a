"""Fixtures for the durability tests: real store URLs (SQLite file, PostgreSQL) and workers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from durability_support import fresh_pg_schema, reap, sqlite_url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty PostgreSQL store URL (fails under CI without FLOWPOINT_TEST_PG)."""
    with fresh_pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
    else:
        with fresh_pg_schema() as url:
            yield url


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    """Worker processes a test started: killed (if still running) and reaped at teardown."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        reap(p)
