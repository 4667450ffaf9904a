"""LangGraph savers for the adapter tests: a SQLite file and a fresh PostgreSQL schema."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from flowpoint.notebook.explorer import CheckpointExplorer


def pg_conninfo(url: str, schema: str | None = None) -> str:
    """A libpq URI for psycopg from a SQLAlchemy URL (``postgresql+psycopg://...``)."""
    parts = urlsplit(url)
    query = parts.query
    if schema is not None:
        opt = "options=" + quote(f"-csearch_path={schema}")
        query = f"{query}&{opt}" if query else opt
    return urlunsplit(("postgresql", parts.netloc, parts.path, query, ""))


def pg_url() -> str:
    url = os.environ.get("FLOWPOINT_TEST_PG")
    if not url:
        raise RuntimeError("the PostgreSQL tests need FLOWPOINT_TEST_PG: run `. scripts/postgres.sh` "
                           "first (it starts the local server and exports it)")
    return url


@pytest.fixture
def sqlite_saver(tmp_path) -> Iterator[SqliteSaver]:
    conn = sqlite3.connect(tmp_path / "graph.db", check_same_thread=False)
    yield SqliteSaver(conn)
    conn.close()


@pytest.fixture
def postgres_saver() -> Iterator[Any]:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    schema = f"lg_test_{uuid.uuid4().hex[:12]}"
    base = pg_conninfo(pg_url())
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    conn = psycopg.connect(pg_conninfo(pg_url(), schema), autocommit=True, prepare_threshold=0,
                           row_factory=dict_row)
    saver = PostgresSaver(conn)
    saver.setup()
    try:
        yield saver
    finally:
        conn.close()
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def saver(request) -> Any:
    """Each test that takes ``saver`` runs on the SQLite saver and on the PostgreSQL saver."""
    return request.getfixturevalue(f"{request.param}_saver")


@pytest.fixture
def explorers() -> Iterator[Any]:
    made: list[CheckpointExplorer] = []

    def make(ckptr: Any, **kw: Any) -> CheckpointExplorer:
        made.append(CheckpointExplorer(ckptr, **kw))
        return made[-1]

    yield make
    for e in made:
        e.close()
