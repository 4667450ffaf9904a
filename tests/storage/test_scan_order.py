"""SQLite reads a whole listing filtered on checkpoint columns by one pass over the checkpoints,
and a page, a few runs or a run status through each run's rows: the same rows either way."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.dialects import sqlite
from storage_helpers import make_ckpt, make_run

from flowpoint.storage import CheckpointQuery as Q
from flowpoint.storage import SQLStore
from flowpoint.storage.sqlquery import select_checkpoints
from flowpoint.storage.sqlschema import checkpoints

STEPS = (None, "generate", "critique")


@pytest.fixture
def store(tmp_path):
    s = SQLStore(f"sqlite:///{tmp_path}/scan.db")
    for r in range(30):  # started out of id order: the run order is not the storage order
        run_id = f"run-{(r * 7) % 30:02d}"
        s.put_run(make_run(run_id, status="failed" if r % 5 == 0 else "completed",
                           started_at=1000.0 - r))
        for seq, step in enumerate(STEPS):
            s.put_checkpoint(make_ckpt(run_id, seq, id=f"{run_id}-{seq}", step=step,
                                       created_at=2000.0 + (r * 13 + seq) % 90))
    yield s
    s.close()


def _one_pass(store: SQLStore, query: Q, limit: int | None = None) -> bool:
    """True if SQLite is kept from joining through the (run_id, seq) index, and its plan
    then reads the checkpoints in one pass."""
    stmt = select_checkpoints([checkpoints.c.id], query, limit, 0, True)
    sql = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    if "+flowpoint_checkpoints.run_id" not in sql:
        return False
    with sqlite3.connect(store._url.database) as conn:
        plan = [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
    assert plan[0] == "SCAN flowpoint_checkpoints", plan
    return True


def _by_index(store: SQLStore, query: Q) -> list[str]:
    """The same listing read through each run's rows (a run filter covering every run)."""
    every = tuple(r.run_id for r in store.list_runs())
    return [c.id for c in store.list_checkpoints(
        Q(**{**_fields(query), "run_ids": query.run_ids or every}))]


def _fields(query: Q) -> dict:
    return {name: getattr(query, name) for name in Q.__dataclass_fields__}


@pytest.mark.parametrize("query", [
    Q(created_after=2040.0), Q(created_before=2030.0, descending=True), Q(include_start=False),
    Q(steps=("critique",), sort="created_at"), Q(created_after=2010.0, sort="step",
                                                   descending=True)])
def test_a_listing_filtered_on_checkpoint_columns_is_one_pass_with_the_same_rows(store, query):
    assert _one_pass(store, query)
    got = [c.id for c in store.list_checkpoints(query)]
    assert got == _by_index(store, query) and 0 < len(got) < 90
    assert [r[0] for r in store.table_rows(query)] == got
    assert [r[0] for r in store.record_rows(query)] == got


@pytest.mark.parametrize("query,limit", [
    (Q(created_after=2040.0), 10), (Q(created_after=2040.0, run_ids=("run-03",)), None),
    (Q(created_after=2040.0, statuses=("failed",)), None), (Q(), None)])
def test_pages_some_runs_or_no_checkpoint_filter_go_through_each_runs_rows(store, query, limit):
    assert not _one_pass(store, query, limit)
    assert [c.id for c in store.list_checkpoints(query, limit=limit)] == _by_index(
        store, query)[:limit]
