"""Runs at once on one SQL store share commits: their checkpoints of one turn of the event loop
are written in one transaction, and each step still dispatches its output only once its own
checkpoint is committed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

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
    # run, each checkpoint, end (the process's lease keeper may add a heartbeat renewal)
    assert 1 + (1 + STEPS) + 1 <= _commits(ckptr) - before <= 1 + (1 + STEPS) + 2
    assert SEEN[h.run_id] == list(range(1, STEPS + 1))


class Item(Event):
    n: int


class Done(Event):
    n: int
    square: int


CALLS: list[int] = []


class Fan(Workflow):
    """Six items to 3 workers, squares collected; the store lists the items processed."""

    @step
    async def spread(self, ev: StartEvent, ctx: Context) -> None:
        await ctx.store.set("processed", [])
        for i in range(6):
            ctx.send_event(Item(n=i))

    @step(num_workers=3)
    async def square(self, ev: Item, ctx: Context) -> Done:
        CALLS.append(ev.n)
        await asyncio.sleep(0.001 * (ev.n % 3))
        processed = await ctx.store.get("processed")
        await ctx.store.set("processed", processed + [ev.n])
        return Done(n=ev.n, square=ev.n * ev.n)

    @step
    async def collect(self, ev: Done, ctx: Context) -> StopEvent | None:
        got = ctx.collect_events(ev, [Done] * 6)
        return None if got is None else StopEvent(result=sorted(d.square for d in got))


async def test_a_fan_out_sharing_commits_resumes_from_every_checkpoint_exactly_once(
        url: str) -> None:
    ckptr = WorkflowCheckpointer(Fan(timeout=None), store=url)
    before = _commits(ckptr)
    handlers = [ckptr.run() for _ in range(3)]
    expected = [0, 1, 4, 9, 16, 25]
    assert await asyncio.gather(*handlers) == [expected] * 3
    assert _commits(ckptr) - before < 3 * (1 + 1 + 6 + 6)
    for h in handlers:
        ckpts = [ckptr.start_checkpoint(h.run_id), *ckptr.checkpoints[h.run_id]]
        assert len(ckpts) == 1 + 1 + 6 + 6
        for ckpt in ckpts[:-1]:
            CALLS.clear()
            ckptr.workflow = Fan(timeout=None)
            assert await ckptr.run_from(ckpt) == expected, f"from seq {ckpt.seq}"
            done_before = len(ckpt.ctx_state["store"].get("processed", []))
            assert done_before + len(CALLS) == 6 or ckpt.seq == 0, (ckpt.seq, CALLS)


class Turn(Event):
    n: int


PRUNING: dict[str, WorkflowCheckpointer] = {}


class PrunesItself(Workflow):
    """A growing list; at turn 25 every checkpoint but the start ones is pruned (and blobs)."""

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Turn:
        await ctx.store.set("items", [])
        return Turn(n=0)

    @step
    async def grow(self, ev: Turn, ctx: Context) -> Turn | StopEvent:
        items = await ctx.store.get("items")
        items.append(f"{ev.n:04d}" + "z" * 600)
        if ev.n == 25:
            PRUNING["ckptr"].store.prune(keep_last=0)
        return StopEvent(result=len(items)) if ev.n >= 40 else Turn(n=ev.n + 1)


async def test_blobs_pruned_behind_runs_sharing_commits_are_stored_again(url: str) -> None:
    ckptr = PRUNING["ckptr"] = WorkflowCheckpointer(PrunesItself(timeout=None), store=url)
    try:
        handlers = [ckptr.run() for _ in range(3)]
        assert await asyncio.gather(*handlers) == [41] * 3
    finally:
        PRUNING.clear()
    for h in handlers:
        last = ckptr.last_checkpoint(h.run_id)
        assert last.ctx_state["store"]["items"] == [f"{n:04d}" + "z" * 600 for n in range(41)]
        assert "$corrupt" not in repr(last.ctx_state)


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
