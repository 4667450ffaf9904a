"""Runs at once on one SQL store share commits: their checkpoints of one turn of the event loop
are written in one transaction, and each step still dispatches its output only once its own
checkpoint is committed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from resume_flows import SQUARES, FanFlow, resume_from_each, run_pruning_itself

from flowpoint import (
    Context,
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCheckpointer,
    step,
)
from flowpoint.storage import CheckpointQuery, SQLStore

STEPS = 6


class Hop(Event):
    n: int


SEEN: dict[str, list[int]] = {}  # run id -> checkpoints already committed when each step ran
WATCHER: dict[str, SQLStore] = {}


def _committed_so_far(run_id: str) -> int:
    return WATCHER["store"].count_checkpoints(CheckpointQuery(run_ids=(run_id,)))


class Hops(Workflow):
    """STEPS steps in a row; each notes how many checkpoints of its run another connection
    already sees when it starts (the step before it must have been committed)."""

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Hop:
        SEEN.setdefault(ctx.run_id, []).append(_committed_so_far(ctx.run_id))
        return Hop(n=1)

    @step
    async def hop(self, ev: Hop, ctx: Context) -> Hop | StopEvent:
        SEEN.setdefault(ctx.run_id, []).append(_committed_so_far(ctx.run_id))
        await ctx.store.set("n", ev.n)
        return StopEvent(result=ev.n) if ev.n >= STEPS - 1 else Hop(n=ev.n + 1)


class ThreadHops(Workflow):
    """The same with ``def`` steps, which run in threads."""

    @step
    def begin(self, ev: StartEvent, ctx: Context) -> Hop:
        SEEN.setdefault(ctx.run_id, []).append(_committed_so_far(ctx.run_id))
        return Hop(n=1)

    @step
    def hop(self, ev: Hop, ctx: Context) -> Hop | StopEvent:
        SEEN.setdefault(ctx.run_id, []).append(_committed_so_far(ctx.run_id))
        return StopEvent(result=ev.n) if ev.n >= STEPS - 1 else Hop(n=ev.n + 1)


@pytest.fixture
def url(tmp_path: Any) -> Any:
    path = f"sqlite:///{tmp_path}/shared.db"
    WATCHER["store"] = SQLStore(path)
    SEEN.clear()
    yield path
    WATCHER.pop("store").close()


def _commits(ckptr: WorkflowCheckpointer) -> int:
    return int(ckptr.store._writer._commits)


@pytest.mark.parametrize("flow", [Hops, ThreadHops], ids=["async-steps", "def-steps"])
async def test_runs_at_once_share_commits_and_each_output_waits_for_its_checkpoint(
        url: str, flow: type[Workflow]) -> None:
    ckptr = WorkflowCheckpointer(flow(timeout=None), store=url)
    before = _commits(ckptr)
    handlers = [ckptr.run() for _ in range(4)]
    assert await asyncio.gather(*handlers) == [STEPS - 1] * 4
    commits = _commits(ckptr) - before
    alone = 4 * (1 + (1 + STEPS) + 1)  # each run's row, checkpoints and end, one commit each
    if flow is Hops:  # def steps end in threads, so fewer of them share a turn of the loop
        assert commits < alone, f"{commits} commits, as many as without sharing"
    for h in handlers:
        # the step after checkpoint k (start = 0) saw k + 1 of them committed
        assert SEEN[h.run_id] == list(range(1, STEPS + 1))
        ckpts = [ckptr.start_checkpoint(h.run_id), *ckptr.checkpoints[h.run_id]]
        assert [c.seq for c in ckpts] == list(range(STEPS + 1))
        assert [c.parent_id for c in ckpts[1:]] == [c.id_ for c in ckpts[:-1]]
        assert ckptr.runs[h.run_id].status == "completed"


async def test_a_single_run_commits_each_checkpoint_at_once(url: str) -> None:
    ckptr = WorkflowCheckpointer(Hops(timeout=None), store=url)
    before = _commits(ckptr)
    h = ckptr.run()
    assert await h == STEPS - 1
    # run, each checkpoint (the last with the run's end; the process's lease keeper may add a
    # heartbeat renewal)
    assert 1 + (1 + STEPS) <= _commits(ckptr) - before <= 1 + (1 + STEPS) + 1
    assert SEEN[h.run_id] == list(range(1, STEPS + 1))


async def test_a_fan_out_sharing_commits_resumes_from_every_checkpoint_exactly_once(
        url: str) -> None:
    ckptr = WorkflowCheckpointer(FanFlow(timeout=None), store=url)
    before = _commits(ckptr)
    handlers = [ckptr.run() for _ in range(3)]
    assert await asyncio.gather(*handlers) == [SQUARES] * 3
    assert _commits(ckptr) - before < 3 * (1 + 1 + 6 + 6)
    for h in handlers:
        await resume_from_each(ckptr, h.run_id)


async def test_blobs_pruned_behind_runs_sharing_commits_are_stored_again(url: str) -> None:
    await run_pruning_itself(url, at=25, stop=40, runs=3)


class Slow(Workflow):
    """Many short steps, each yielding once, so a cancel lands while checkpoints are shared."""

    @step
    async def begin(self, ev: StartEvent) -> Hop:
        return Hop(n=1)

    @step
    async def hop(self, ev: Hop) -> Hop | StopEvent:
        await asyncio.sleep(0)
        return StopEvent(result=ev.n) if ev.n >= 200 else Hop(n=ev.n + 1)


async def test_a_run_cancelled_while_sharing_commits_stops_cleanly(url: str) -> None:
    from flowpoint import WorkflowCancelledByUser

    ckptr = WorkflowCheckpointer(Slow(timeout=None), store=url)
    victim, *others = [ckptr.run() for _ in range(3)]
    await asyncio.sleep(0.05)
    victim.cancel()
    with pytest.raises((WorkflowCancelledByUser, asyncio.CancelledError)):
        await victim
    assert await asyncio.gather(*others) == [200, 200]
    await asyncio.sleep(0.05)
    left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert left == [], left
    assert ckptr.runs[victim.run_id].status == "cancelled"
    ckpts = [ckptr.start_checkpoint(victim.run_id), *ckptr.checkpoints[victim.run_id]]
    assert [c.seq for c in ckpts] == list(range(len(ckpts)))
    assert 1 < len(ckpts) < 201


class Once(Workflow):
    """One step: a run is its row, its start checkpoint and the step's checkpoint."""

    @step
    async def only(self, ev: StartEvent, ctx: Context) -> StopEvent:
        SEEN.setdefault(ctx.run_id, []).append(_committed_so_far(ctx.run_id))
        return StopEvent(result="done")


async def test_runs_started_together_commit_their_start_checkpoints_together(url: str) -> None:
    ckptr = WorkflowCheckpointer(Once(timeout=None), store=url)
    before = _commits(ckptr)
    handlers = [ckptr.run() for _ in range(4)]
    rows = _commits(ckptr) - before  # each run's row is written when run() returns
    assert rows == 4
    assert await asyncio.gather(*handlers) == ["done"] * 4
    # one commit for the four start checkpoints, one for the four step checkpoints (with the
    # runs' ends); the process's lease keeper may add a heartbeat renewal
    assert 2 <= _commits(ckptr) - before - rows <= 3
    for h in handlers:
        assert SEEN[h.run_id] == [1]  # the step ran once its start checkpoint was committed
        ckpts = [ckptr.start_checkpoint(h.run_id), *ckptr.checkpoints[h.run_id]]
        assert [c.seq for c in ckpts] == [0, 1]
        assert ckptr.runs[h.run_id].status == "completed"
