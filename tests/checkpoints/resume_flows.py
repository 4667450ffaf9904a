"""Workflows shared by the checkpoint tests: a fan-out that records which items it processed,
and a growing list whose run prunes its own checkpoints halfway."""

from __future__ import annotations

import asyncio
from typing import Any

from flowpoint import Context, Event, StartEvent, StopEvent, Workflow, WorkflowCheckpointer, step

FAN_ITEMS = 6
SQUARES = [n * n for n in range(FAN_ITEMS)]
CALLS: list[int] = []  # the items ``square`` processed, in the order it ran them


class Item(Event):
    n: int


class Done(Event):
    n: int
    square: int


class FanFlow(Workflow):
    """Six items to 3 workers, squares collected; ``ctx.store["processed"]`` lists the items done."""

    @step
    async def spread(self, ev: StartEvent, ctx: Context) -> None:
        await ctx.store.set("processed", [])
        for i in range(FAN_ITEMS):
            ctx.send_event(Item(n=i))

    @step(num_workers=3)
    async def square(self, ev: Item, ctx: Context) -> Done:
        CALLS.append(ev.n)
        await asyncio.sleep(0.002 * (ev.n % 3))
        processed = await ctx.store.get("processed")
        await ctx.store.set("processed", processed + [ev.n])
        return Done(n=ev.n, square=ev.n * ev.n)

    @step
    async def collect(self, ev: Done, ctx: Context) -> StopEvent | None:
        got = ctx.collect_events(ev, [Done] * FAN_ITEMS)
        return None if got is None else StopEvent(result=sorted(d.square for d in got))


async def resume_from_each(ckptr: WorkflowCheckpointer, run_id: str) -> None:
    """``run_from`` every checkpoint of a FanFlow run but the last, each with a new instance:
    the result is the same and each item is processed exactly once across the two runs."""
    ckpts = [ckptr.start_checkpoint(run_id), *ckptr.checkpoints[run_id]]
    assert len(ckpts) == 1 + 1 + FAN_ITEMS + FAN_ITEMS
    for ckpt in ckpts[:-1]:
        CALLS.clear()
        ckptr.workflow = FanFlow(timeout=None)
        assert await ckptr.run_from(ckpt) == SQUARES, f"from seq {ckpt.seq}"
        done_before = ckpt.ctx_state["store"].get("processed", [])
        assert sorted(done_before + CALLS) == list(range(FAN_ITEMS)), (
            ckpt.seq, done_before, CALLS)


class Turn(Event):
    n: int


PRUNING: dict[str, Any] = {}  # "ckptr": whose store to prune, "at": the turn, "stop": the last


def item(n: int) -> str:
    """The ``n``-th item of a PrunesItself run."""
    return f"{n:04d}" + "z" * 600


class PrunesItself(Workflow):
    """A growing list; at turn ``PRUNING["at"]`` every checkpoint but the start ones is pruned
    (and their blobs), then the run goes on to turn ``PRUNING["stop"]``."""

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Turn:
        await ctx.store.set("items", [])
        return Turn(n=0)

    @step
    async def grow(self, ev: Turn, ctx: Context) -> Turn | StopEvent:
        items = await ctx.store.get("items")
        items.append(item(ev.n))
        if ev.n == PRUNING["at"]:
            PRUNING["ckptr"].store.prune(keep_last=0)
        return StopEvent(result=len(items)) if ev.n >= PRUNING["stop"] else Turn(n=ev.n + 1)


async def run_pruning_itself(store: str, at: int, stop: int, runs: int = 1
                             ) -> tuple[WorkflowCheckpointer, list[str]]:
    """``runs`` PrunesItself runs at once; each one's last checkpoint holds its whole list."""
    ckptr = WorkflowCheckpointer(PrunesItself(timeout=None), store=store)
    PRUNING.update(ckptr=ckptr, at=at, stop=stop)
    try:
        handlers = [ckptr.run() for _ in range(runs)]
        assert await asyncio.gather(*handlers) == [stop + 1] * runs
    finally:
        PRUNING.clear()
    for h in handlers:
        last = ckptr.last_checkpoint(h.run_id)
        assert last.ctx_state["store"]["items"] == [item(n) for n in range(stop + 1)]
        assert "$corrupt" not in repr(last.ctx_state)
    return ckptr, [h.run_id for h in handlers]
