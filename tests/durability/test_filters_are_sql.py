"""Filters run in the database: a SELECT with a WHERE on the column, fetching only the matches.

Every statement the store's engine sends is captured (SQLAlchemy's before_cursor_execute) and
re-run by hand to count the rows it returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from durability_flows import SlowFlow
from sqlalchemy import event

from flowpoint import WorkflowCheckpointer
from flowpoint.demo import JokeFlow

JOKE_RUNS = 20
SLOW_RUNS = 10
SLOW_STEPS = 46  # 1 start + begin + 46 work + finish = 49 checkpoints a run
BOTH = ["JokeFlow", "SlowFlow"]  # one checkpointer lists its own workflow unless told otherwise
TOTAL = JOKE_RUNS * 3 + SLOW_RUNS * (SLOW_STEPS + 3)


@contextmanager
def captured(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    """(SQL, parameters) of every statement the engine sends while inside the block."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def rows_returned(engine: Any, statement: str, parameters: Any) -> int:
    """How many rows the statement returns, run again on a raw driver connection."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(statement, parameters)
        n = len(cur.fetchall())
        cur.close()
        raw.rollback()
        return n
    finally:
        raw.close()


def checkpoint_selects(seen: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(s, p) for s, p in seen if "FROM flowpoint_checkpoints" in s and
            s.lstrip().upper().startswith("SELECT")]


@pytest.fixture
async def filled(store_url: str) -> Any:
    """JokeFlow and SlowFlow runs: TOTAL checkpoints, 20 of them after generate_joke."""
    jokes = WorkflowCheckpointer(JokeFlow(), store=store_url)
    for i in range(JOKE_RUNS):
        await jokes.run(topic=f"topic {i}")
    slow = WorkflowCheckpointer(SlowFlow(max_sleep_ms=0), store=store_url)
    for _ in range(SLOW_RUNS):
        await slow.run(steps=SLOW_STEPS)
    slow.store.close()
    yield jokes
    jokes.store.close()


async def test_filter_by_step_is_a_where_clause_fetching_only_the_matches(
        filled: WorkflowCheckpointer) -> None:
    engine = filled.store._engine
    assert filled.store.count_checkpoints() == TOTAL
    for step, expected in (("generate_joke", JOKE_RUNS), ("finish", SLOW_RUNS),
                           ("work", SLOW_RUNS * SLOW_STEPS)):
        with captured(engine) as seen:
            found = filled.filter_checkpoints(last_completed_step=step, workflow=BOTH)
        assert len(found) == expected and {c.last_completed_step for c in found} == {step}
        selects = checkpoint_selects(seen)
        assert selects, seen
        for sql, _ in selects:
            where = sql.upper().split("WHERE", 1)
            assert len(where) == 2, f"a SELECT without WHERE: {sql}"
            assert "FLOWPOINT_CHECKPOINTS.STEP" in where[1], sql
        assert sum(rows_returned(engine, s, p) for s, p in selects) == expected, step
        assert not any("flowpoint_blobs" in s for s, _ in seen), "listing loaded states"
    await combined_filters_and_the_dataframe_fetch_only_the_matches(filled)


async def combined_filters_and_the_dataframe_fetch_only_the_matches(
        filled: WorkflowCheckpointer) -> None:
    """An AND of two filters, the DataFrame, and a filter matching nothing."""
    engine = filled.store._engine
    with captured(engine) as seen:
        found = filled.filter_checkpoints(last_completed_step="work", output_event_type="Finished",
                                          workflow=BOTH)
    assert len(found) == SLOW_RUNS and all(c.output_event.n == SLOW_STEPS for c in found)
    selects = checkpoint_selects(seen)
    for sql, _ in selects:
        assert "FLOWPOINT_CHECKPOINTS.STEP" in sql.upper()
        assert "FLOWPOINT_CHECKPOINTS.OUTPUT_NAME" in sql.upper()
    assert sum(rows_returned(engine, s, p) for s, p in selects) == SLOW_RUNS

    with captured(engine) as seen:
        frame = filled.to_dataframe(last_completed_step="generate_joke")
    assert len(frame) == JOKE_RUNS and set(frame["step"]) == {"generate_joke"}
    selects = checkpoint_selects(seen)
    assert sum(rows_returned(engine, s, p) for s, p in selects) == JOKE_RUNS
    run_selects = [(s, p) for s, p in seen if "FROM flowpoint_runs" in s and s not in
                   {x for x, _ in selects}]
    fetched_runs = sum(rows_returned(engine, s, p) for s, p in run_selects)
    assert fetched_runs <= JOKE_RUNS + 1, "the DataFrame read every run"

    with captured(engine) as seen:
        assert filled.filter_checkpoints(last_completed_step="no such step") == []
    assert sum(rows_returned(engine, s, p) for s, p in checkpoint_selects(seen)) == 0
