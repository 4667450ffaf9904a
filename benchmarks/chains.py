"""The flowpoint workflows measured: a 10-step chain of no-op steps and a growing-state loop."""

from __future__ import annotations

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


def _chain_step(name: str, accepts: type[Event], emits: type[Event]) -> Any:
    async def chain_step(self: Any, ev: Any) -> Any:
        return emits()

    chain_step.__annotations__ = {"ev": accepts, "return": emits}
    chain_step.__name__, chain_step.__qualname__ = name, f"ChainFlow.{name}"  # bound by __name__
    return step(chain_step)


def _chain_workflow() -> type[Workflow]:
    kinds: list[type[Event]] = [StartEvent, *CHAIN_EVENTS, StopEvent]
    attrs: dict[str, Any] = {"__module__": __name__, "__qualname__": "ChainFlow"}
    for i in range(CHAIN_STEPS):
        attrs[f"step{i}"] = _chain_step(f"step{i}", kinds[i], kinds[i + 1])
    return type("ChainFlow", (Workflow,), attrs)


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
