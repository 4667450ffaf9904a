"""Stores in the old (v0) layout, for the migration tests: real runs, then the v1 parts removed."""

from __future__ import annotations

import asyncio
from typing import Any

from durability_flows import SlowFlow
from sqlalchemy import create_engine, inspect, text

from flowpoint import WorkflowCheckpointer
from flowpoint.demo import JokeFlow

V1_ONLY_INDEXES = ("ix_flowpoint_checkpoints_input_name", "ix_flowpoint_checkpoints_output_name")
V1_ONLY_COLUMNS = ("input_name", "output_name", "size_bytes")


async def _fill(url: str, jokes: int) -> None:
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    for i in range(jokes):
        await ckptr.run(topic=f"topic {i}")
    ckptr.store.close()
    slow = WorkflowCheckpointer(SlowFlow(max_sleep_ms=0), store=url)
    await slow.run(steps=40)
    slow.store.close()


def execute(url: str, *statements: str) -> list[Any]:
    """Run SQL behind flowpoint's back in one transaction; the last statement's rows."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = None
            for sql in statements:
                result = conn.execute(text(sql))
            return list(result) if result is not None and result.returns_rows else []
    finally:
        engine.dispose()


def make_v0_store(url: str, jokes: int = 5, doublings: int = 0) -> int:
    """Real runs written by this flowpoint, then turned back into the v0 layout (no bare type
    names, no row sizes, no meta table); each doubling copies every run and checkpoint under new
    ids, so the migration has more rows to fill in. Returns how many checkpoints it holds."""
    asyncio.run(_fill(url, jokes))
    cols = ("seq, step, input_type, output_type, input_event, output_event, state_manifest, "
            "created_at, step_duration_s, metadata, parent_id, serializer")
    copies = []
    for n in range(doublings):
        copies += [
            f"INSERT INTO flowpoint_runs (run_id, workflow, status, started_at) "
            f"SELECT run_id || '-d{n}', workflow, status, started_at FROM flowpoint_runs",
            f"INSERT INTO flowpoint_checkpoints (id, run_id, {cols}) "
            f"SELECT id || '-d{n}', run_id || '-d{n}', {cols} FROM flowpoint_checkpoints"]
    execute(url, *copies, *[f"DROP INDEX IF EXISTS {ix}" for ix in V1_ONLY_INDEXES],
            *[f"ALTER TABLE flowpoint_checkpoints DROP COLUMN {c}" for c in V1_ONLY_COLUMNS],
            "DROP TABLE flowpoint_meta")
    return int(execute(url, "SELECT COUNT(*) FROM flowpoint_checkpoints")[0][0])


def layout(url: str) -> tuple[Any, set[str]]:
    """(stored schema version or None without a meta table, checkpoint column names)."""
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        columns = {c["name"] for c in insp.get_columns("flowpoint_checkpoints")}
        version = None
        if "flowpoint_meta" in insp.get_table_names():
            with engine.connect() as conn:
                version = conn.execute(text(
                    "SELECT value FROM flowpoint_meta WHERE key = 'schema_version'")).scalar()
        return version, columns
    finally:
        engine.dispose()
