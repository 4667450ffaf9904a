"""Reads over many checkpoints written by runs at once, checked from outside on SQLite and
PostgreSQL: listings and the frame ordered by run then seq, typed columns, limits that are
prefixes, and one damaged row shown in its place without hiding the others."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from test_cost_contract_probe import Turn

from flowpoint import Context, StartEvent, StopEvent, Workflow, WorkflowCheckpointer, step

RUNS, STEPS = 12, 5


class Interleaved(Workflow):
    """Runs at once whose steps take turns, so their checkpoints are stored interleaved."""

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Turn:
        await ctx.store.set("who", ev.get("who"))
        return Turn(n=1)

    @step
    async def again(self, ev: Turn, ctx: Context) -> Turn | StopEvent:
        await asyncio.sleep(0.001 * ((ev.n * 7 + len(str(ctx.run_id))) % 3))
        if ev.n == 3 and await ctx.store.get("who") == 5:
            raise RuntimeError("run 5 fails at step 3")
        return StopEvent(result=ev.n) if ev.n >= STEPS else Turn(n=ev.n + 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'reads.db'}"
    return str(request.getfixturevalue("pg_store_url"))


async def many_runs(url: str) -> tuple[WorkflowCheckpointer, list[str]]:
    ckptr = WorkflowCheckpointer(Interleaved(timeout=None), store=url)
    handlers = [ckptr.run(who=i) for i in range(RUNS)]
    results = await asyncio.gather(*handlers, return_exceptions=True)
    assert sum(isinstance(r, RuntimeError) for r in results) == 1
    return ckptr, [h.run_id for h in handlers]


async def test_listings_and_the_frame_are_ordered_by_run_then_seq(url: str) -> None:
    ckptr, started = await many_runs(url)
    try:
        assert list(ckptr.runs) == started  # oldest first
        by_run = ckptr.checkpoints
        assert list(by_run) == started
        for i, run_id in enumerate(started):
            want = list(range(1, 4 if i == 5 else STEPS + 2))  # the failed run: 3 checkpoints
            assert [c.seq for c in by_run[run_id]] == want, i
            assert all(c.run_id == run_id for c in by_run[run_id])
        listed = ckptr.filter_checkpoints(last_completed_step="again")
        order = [(started.index(c.run_id), c.seq) for c in listed]
        assert order == sorted(order) and len(order) == (RUNS - 1) * STEPS + 2
        frame = ckptr.to_dataframe()
        order = [(started.index(r), s) for r, s in zip(frame["run_id"], frame["seq"], strict=True)]
        assert order == sorted(order) and len(frame) == (RUNS - 1) * (STEPS + 2) + 4
        assert frame["seq"].dtype == "int64" and frame["step_duration_s"].dtype == "float64"
        assert isinstance(frame["created_at"].dtype, pd.DatetimeTZDtype)
        assert frame["edited"].dtype == bool
        failed = frame[frame["run_id"] == started[5]]
        assert set(failed["status"].astype(str)) == {"failed"}
        assert frame.groupby("run_id", sort=False)["created_at"].is_monotonic_increasing.all()
        head = ckptr.to_dataframe(limit=9)
        assert head["checkpoint_id"].tolist() == frame["checkpoint_id"].tolist()[:9]
        one = ckptr.to_dataframe(run_id=started[3])
        assert one["seq"].tolist() == list(range(STEPS + 2))
    finally:
        ckptr.store.close()


async def test_one_damaged_row_is_listed_in_its_place(url: str) -> None:
    ckptr, started = await many_runs(url)
    victim = ckptr.checkpoints[started[2]][1]  # seq 2 of the third run
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE flowpoint_checkpoints SET output_event = '{not json', "
                          "state_manifest = '[[[' WHERE id = :id"), {"id": victim.id_})
    engine.dispose()
    try:
        ckptr.store.close()
        again = WorkflowCheckpointer(Interleaved(timeout=None), store=url)
        listed = again.checkpoints[started[2]]
        assert [c.seq for c in listed] == list(range(1, STEPS + 2))
        damaged = listed[1]
        assert damaged.id_ == victim.id_ and damaged.problems, damaged
        assert all(not c.problems for c in listed if c.id_ != victim.id_)
        frame = again.to_dataframe()
        assert len(frame) == (RUNS - 1) * (STEPS + 2) + 4
        assert frame["checkpoint_id"].tolist().count(victim.id_) == 1
        assert sum(len(v) for v in again.checkpoints.values()) == (RUNS - 1) * (STEPS + 1) + 3
        again.store.close()
    finally:
        ckptr.store.close()
