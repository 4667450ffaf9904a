"""Fixtures for the command-line tests: real stores with real runs."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Filled, fill
from sqlalchemy import create_engine, text


@pytest.fixture
def filled(tmp_path: Path) -> Filled:
    """Runs of two workflows in a real SQLite file."""
    return fill(f"sqlite:///{tmp_path}/store/checkpoints.db")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty schema on the real PostgreSQL server (``. scripts/postgres.sh``)."""
    base = os.environ.get("FLOWPOINT_TEST_PG")
    if not base:
        pytest.fail("FLOWPOINT_TEST_PG is not set: run '. scripts/postgres.sh' first")
    schema = f"fp_cli_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
