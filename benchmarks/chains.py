"""The flowpoint workflows measured: a 10-step chain of no-op steps and a growing-state loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowpoint import Context, Event, StartEvent, StopEvent, Workflow, step

CHAIN_STEPS = 10
ITEM = "x" * 88  # with its index and JSON quoting, one list item is ~100 bytes


def _chain_events() -> list[type[Event]]:
    """E1..E9: the event each step hands to the next (module-level, so the registry finds them)."""
    out = []
    for i in range(1, CHAIN_STEPS):
        cls = type(f"ChainEvent{i}", (Event,), {"__module__": __name__,
                                                 "__qualname__": f"ChainEvent{i}"})
        globals()[cls.__name__] = cls
        out.append(cls)
    return out


CHAIN_EVENTS = _chain_events()


def chain_body(name: str, owner: str, accepts: type, emits: type,
               write: Callable[[], None] | None = None) -> Any:
    """The function of chain step ``name`` of class ``owner``, for any runtime's ``@step``: it
    takes an ``accepts`` and returns ``emits()`` (calling ``write()`` first, if given)."""
    if write is None:
        async def chain_step(self: Any, ev: Any) -> Any:
            return emits()
    else:
        async def chain_step(self: Any, ev: Any) -> Any:
            write()
            return emits()
    chain_step.__annotations__ = {"ev": accepts, "return": emits}
    chain_step.__name__, chain_step.__qualname__ = name, f"{owner}.{name}"  # bound by __name__
    return chain_step


def _chain_workflow(name: str = "ChainFlow",
                    write: Callable[[], None] | None = None) -> type[Workflow]:
    kinds: list[type[Event]] = [StartEvent, *CHAIN_EVENTS, StopEvent]
    attrs: dict[str, Any] = {"__module__": __name__, "__qualname__": name}
    for i in range(CHAIN_STEPS):
        attrs[f"step{i}"] = step(chain_body(f"step{i}", "ChainFlow", kinds[i], kinds[i + 1],
                                            write))
    return type(name, (Workflow,), attrs)


def writing_chain(write: Callable[[], None]) -> Workflow:
    """The chain, each step calling ``write()`` before it returns: what a raw write costs when
    it is made between the steps of a running chain rather than in a loop of its own."""
    return _chain_workflow("WritingChainFlow", write)(timeout=None)


ChainFlow = _chain_workflow()
ChainFlow.__doc__ = "Ten no-op steps in a row: StartEvent -> E1 -> ... -> E9 -> StopEvent."


class Tick(Event):
    """One more turn of the growth loop."""

    n: int


class GrowthFlow(Workflow):
    """Each step appends one ~100-byte item to ``ctx.store["items"]`` until it holds ``steps``."""

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Tick:
        await ctx.store.set("items", [])
        await ctx.store.set("target", int(ev.steps))
        return Tick(n=0)

    @step
    async def grow(self, ev: Tick, ctx: Context) -> Tick | StopEvent:
        items = await ctx.store.get("items")
        items.append(f"{ev.n:08d}:{ITEM}")
        await ctx.store.set("items", items)
        if len(items) >= await ctx.store.get("target"):
            return StopEvent(result=len(items))
        return Tick(n=ev.n + 1)


def item(n: int, size: int) -> str:
    """The ``n``-th appended item: ``size`` bytes, unique by its index."""
    return f"{n:08d}:" + "y" * (size - 9)


class AppendFlow(Workflow):
    """Each step appends one ``item_bytes`` string to ``ctx.store["items"]`` (``steps`` turns)."""

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Tick:
        await ctx.store.set("items", [])
        await ctx.store.set("target", int(ev.steps))
        await ctx.store.set("size", int(ev.item_bytes))
        return Tick(n=0)

    @step
    async def grow(self, ev: Tick, ctx: Context) -> Tick | StopEvent:
        items = await ctx.store.get("items")
        items.append(item(ev.n, await ctx.store.get("size")))
        await ctx.store.set("items", items)
        if len(items) >= await ctx.store.get("target"):
            return StopEvent(result=len(items))
        return Tick(n=ev.n + 1)


class BigValueFlow(Workflow):
    """A ``big_bytes`` value set once and left alone, beside a counter that changes each step."""

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Tick:
        await ctx.store.set("document", "d" * int(ev.big_bytes))
        await ctx.store.set("target", int(ev.steps))
        await ctx.store.set("counter", 0)
        await ctx.store.set("with_counter", bool(ev.get("with_counter", True)))
        return Tick(n=0)

    @step
    async def count(self, ev: Tick, ctx: Context) -> Tick | StopEvent:
        if ev.n + 1 >= await ctx.store.get("target"):
            return StopEvent(result=ev.n + 1)
        if await ctx.store.get("with_counter"):
            await ctx.store.set("counter", ev.n + 1)
        return Tick(n=ev.n + 1)


class FanItem(Event):
    """One item of the fan-out."""

    i: int


class FanDone(Event):
    """One item processed."""

    i: int


FAN_ITEMS = 100
FAN_WORKERS = 4


class FanFlow(Workflow):
    """Fan out ``FAN_ITEMS`` items to a step with ``FAN_WORKERS`` workers, then collect them."""

    @step
    async def spread(self, ev: StartEvent, ctx: Context) -> None:
        for i in range(FAN_ITEMS):
            ctx.send_event(FanItem(i=i))

    @step(num_workers=FAN_WORKERS)
    async def work(self, ev: FanItem) -> FanDone:
        return FanDone(i=ev.i * 2)

    @step
    async def gather(self, ev: FanDone, ctx: Context) -> StopEvent | None:
        done = ctx.collect_events(ev, [FanDone] * FAN_ITEMS)
        if done is None:
            return None
        return StopEvent(result=sum(d.i for d in done))
