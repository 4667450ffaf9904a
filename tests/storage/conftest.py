"""Store fixtures: the same tests run on memory, a SQLite file and a PostgreSQL schema."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from storage_helpers import pg_base_url

from flowpoint.storage import MemoryStore, SQLStore


def _with_options(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"


@contextmanager
def _fresh_schema() -> Iterator[str]:
    base = pg_base_url()
    schema = f"fp_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_options(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema, dropped after the test."""
    with _fresh_schema() as url:
        yield url


@pytest.fixture(scope="session")
def _pg_shared() -> Iterator[str]:
    with _fresh_schema() as url:
        SQLStore(url).close()
        yield url


@pytest.fixture
def pg_store_url(_pg_shared: str) -> str:
    """A URL to a schema with the flowpoint tables, emptied for this test."""
    engine = create_engine(_pg_shared)
    try:
        with engine.begin() as conn:
            for table in ("flowpoint_checkpoints", "flowpoint_blobs", "flowpoint_runs"):
                conn.execute(text(f"DELETE FROM {table}"))
    finally:
        engine.dispose()
    return _pg_shared


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/nested/dir/checkpoints.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request: pytest.FixtureRequest) -> str:
    """A URL for each SQL backend."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_store_url")


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_sql_url(request: pytest.FixtureRequest) -> str:
    """A URL for each SQL backend with no flowpoint tables yet (for schema tests)."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    """An empty store of each kind."""
    if request.param == "memory":
        st: Any = MemoryStore()
    else:
        url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_store_url")
        st = SQLStore(url)
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def sql_store(sql_url: str) -> Iterator[SQLStore]:
    """An empty SQLStore on each SQL backend."""
    st = SQLStore(sql_url)
    try:
        yield st
    finally:
        st.close()
