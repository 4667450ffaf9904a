"""Workflows shared by the durability tests and the worker processes they start.

Imported under the same module name in both (``durability_flows``), so stored event keys match.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from flowpoint import Context, Event, StartEvent, StopEvent, Workflow, step

PAYLOAD = "x" * 200  # each work step grows the user store by about this much


class Tick(Event):
    """One more unit of work to do."""

    n: int


class Finished(Event):
    """All units done."""

    n: int


class SlowFlow(Workflow):
    """``steps`` work steps in a loop, each sleeping 1-20 ms and appending to the store."""

    def __init__(self, seed: int = 0, max_sleep_ms: int = 20, **kw: Any) -> None:
        super().__init__(**kw)
        self.rng = random.Random(seed)
        self.max_sleep_ms = max_sleep_ms

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Tick:
        await ctx.store.set("steps", int(ev.get("steps", 30)))
        await ctx.store.set("items", [])
        await ctx.store.set("total", 0)
        return Tick(n=0)

    @step
    async def work(self, ev: Tick, ctx: Context) -> Tick | Finished:
        if self.max_sleep_ms:
            await asyncio.sleep(self.rng.randint(1, self.max_sleep_ms) / 1000)
        items = await ctx.store.get("items")
        await ctx.store.set("items", items + [f"{ev.n}:{PAYLOAD}"])
        await ctx.store.set("total", await ctx.store.get("total") + ev.n * ev.n)
        if ev.n + 1 >= await ctx.store.get("steps"):
            return Finished(n=ev.n + 1)
        return Tick(n=ev.n + 1)

    @step
    async def finish(self, ev: Finished, ctx: Context) -> StopEvent:
        items = await ctx.store.get("items")
        return StopEvent(result={"steps": ev.n, "total": await ctx.store.get("total"),
                                 "items": len(items), "first": items[0][:2] if items else None})


def slow_result(steps: int) -> dict[str, Any]:
    """What a clean SlowFlow run of ``steps`` returns."""
    return {"steps": steps, "total": sum(n * n for n in range(steps)), "items": steps,
            "first": "0:" if steps else None}


class FanItem(Event):
    """One item of a fan-out."""

    i: int


class FanDone(Event):
    """One item squared."""

    i: int
    square: int


class FanFlow(Workflow):
    """Spreads ``count`` items to two workers and collects their squares."""

    @step
    async def spread(self, ev: StartEvent, ctx: Context) -> None:
        count = int(ev.get("count", 3))
        await ctx.store.set("count", count)
        for i in range(count):
            ctx.send_event(FanItem(i=i))

    @step(num_workers=2)
    async def square(self, ev: FanItem) -> FanDone:
        await asyncio.sleep(0)
        return FanDone(i=ev.i, square=ev.i * ev.i)

    @step
    async def collect(self, ev: FanDone, ctx: Context) -> StopEvent | None:
        got = ctx.collect_events(ev, [FanDone] * await ctx.store.get("count"))
        if got is None:
            return None
        return StopEvent(result=sorted(d.square for d in got))


def fan_checkpoints(count: int) -> int:
    """Checkpoints of a clean FanFlow run: start, spread, one per square, one per collect."""
    return 2 + 2 * count


def slow_output_types(step_name: str | None) -> tuple[type[Event], ...]:
    """The exact output event classes a SlowFlow checkpoint after ``step_name`` may hold."""
    return {None: (StartEvent,), "begin": (Tick,), "work": (Tick, Finished),
            "finish": (StopEvent,)}[step_name]


def find_corrupt(value: Any, path: str = "") -> list[str]:
    """Paths inside plain data that hold a ``$corrupt`` placeholder (a part that failed to load)."""
    if isinstance(value, dict):
        if "$corrupt" in value:
            return [f"{path}: {value['$corrupt']}"]
        return [p for k, v in value.items() for p in find_corrupt(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in find_corrupt(v, f"{path}[{i}]")]
    return []
