"""A run's end (status completed, its result) is committed with the checkpoint of its StopEvent,
in one transaction: a SQL store sees the run completed as soon as that checkpoint is, and a run
of N checkpoints costs N + 1 commits (its row, then its checkpoints)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowpoint import Context, Event, StartEvent, StopEvent, Workflow, WorkflowCheckpointer, step

STEPS = 4


class Hop(Event):
    n: int


class Hops(Workflow):
    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Hop:
        return Hop(n=1)

    @step
    async def hop(self, ev: Hop, ctx: Context) -> Hop | StopEvent:
        return StopEvent(result={"n": ev.n}) if ev.n >= STEPS - 1 else Hop(n=ev.n + 1)


@pytest.fixture
def ckptr(tmp_path: Any) -> Any:
    ckptr = WorkflowCheckpointer(Hops(timeout=None), store=f"sqlite:///{tmp_path}/end.db")
    yield ckptr
    ckptr.store.close()


def _watch_last(ckptr: WorkflowCheckpointer) -> list[tuple[str, Any]]:
    """(status, result) of the run as stored when its StopEvent checkpoint is announced."""
    seen: list[tuple[str, Any]] = []

    def listener(kind: str, run_id: str, payload: Any) -> None:
        if kind == "checkpoint" and (payload.output_type or "").endswith("StopEvent"):
            run = ckptr.store.get_run(run_id)
            seen.append((run.status, run.result))

    ckptr.subscribe(listener)
    return seen


async def test_the_run_is_completed_with_its_last_checkpoint(ckptr: WorkflowCheckpointer) -> None:
    seen = _watch_last(ckptr)
    before = ckptr.store._writer._commits
    assert await ckptr.run() == {"n": STEPS - 1}
    assert seen == [("completed", {"n": STEPS - 1})]
    checkpoints = STEPS + 1  # the start checkpoint and one per step
    assert ckptr.store._writer._commits - before == checkpoints + 1
    (run,) = ckptr.store.list_runs()
    assert run.status == "completed" and run.result == {"n": STEPS - 1} and run.ended_at


async def test_runs_at_once_end_in_their_shared_commits(ckptr: WorkflowCheckpointer) -> None:
    seen = _watch_last(ckptr)
    results = await asyncio.gather(*(ckptr.run() for _ in range(3)))
    assert results == [{"n": STEPS - 1}] * 3
    assert seen == [("completed", {"n": STEPS - 1})] * 3
    assert {(r.status, str(r.result)) for r in ckptr.store.list_runs()} == {
        ("completed", str({"n": STEPS - 1}))}


async def test_a_result_changed_after_the_stop_event_is_stored_as_the_run_ends(
        ckptr: WorkflowCheckpointer) -> None:
    """A result that changes after the StopEvent's checkpoint was committed (here by a step
    cancelled as the run stops its workers) is written again as the run ends: the store holds
    what the run returned."""
    items: list[str] = []

    class Late(Event):
        pass

    class ChangesItsResult(Workflow):
        @step
        async def begin(self, ev: StartEvent, ctx: Context) -> Late:
            ctx.send_event(Hop(n=0))
            return Late()

        @step
        async def linger(self, ev: Late) -> None:
            try:
                await asyncio.sleep(30)
            finally:
                items.append("late")  # while the run stops its workers

        @step
        async def stop(self, ev: Hop) -> StopEvent:
            await asyncio.sleep(0.01)
            items.append("stop")
            return StopEvent(result=items)

    other = WorkflowCheckpointer(ChangesItsResult(timeout=None), store=ckptr.store)
    assert await other.run() == ["stop", "late"]
    (run,) = other.store.list_runs()
    assert run.status == "completed" and run.result == ["stop", "late"]
