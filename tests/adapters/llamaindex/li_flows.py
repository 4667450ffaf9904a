"""llama-index-workflows 2.x workflows the adapter tests run, written as a 2.x user writes them.

``RAN`` records every step call (and fan-out item) so tests can say what ran in which run.
"""

from __future__ import annotations

import asyncio
import collections

from pydantic import BaseModel
from workflows import Context, Workflow, step
from workflows.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
)

RAN: list[str] = []
PROCESSED: collections.Counter[int] = collections.Counter()
FAIL_ONCE: set[int] = set()
SLOW_ONCE: set[int] = set()
SLOW_STARTED: set[int] = set()


class JokeEvent(Event):
    joke: str


class JokeFlow(Workflow):
    @step
    async def generate_joke(self, ctx: Context, ev: StartEvent) -> JokeEvent:
        RAN.append("generate_joke")
        await ctx.store.set("topic", ev.topic)
        return JokeEvent(joke=f"a joke about {ev.topic}")

    @step
    async def critique_joke(self, ctx: Context, ev: JokeEvent) -> StopEvent:
        RAN.append("critique_joke")
        topic = await ctx.store.get("topic")
        return StopEvent(result=f"critique of '{ev.joke}' ({topic})")


class Tally(BaseModel):
    count: int = 0
    label: str = ""


class CountEvent(Event):
    step_no: int


class TypedFlow(Workflow):
    """Typed ``ctx.store`` state (a pydantic model), three steps."""

    @step
    async def one(self, ctx: Context[Tally], ev: StartEvent) -> CountEvent:
        RAN.append("one")
        async with ctx.store.edit_state() as state:
            state.count += 1
            state.label = ev.label
        return CountEvent(step_no=1)

    @step
    async def two(self, ctx: Context[Tally], ev: CountEvent) -> JokeEvent:
        RAN.append("two")
        async with ctx.store.edit_state() as state:
            state.count += 10
        return JokeEvent(joke=f"step {ev.step_no}")

    @step
    async def three(self, ctx: Context[Tally], ev: JokeEvent) -> StopEvent:
        RAN.append("three")
        state = await ctx.store.get_state()
        return StopEvent(result=f"{state.label}:{state.count}:{ev.joke}")


class AskFlow(Workflow):
    """Human in the loop by returning an InputRequiredEvent."""

    @step
    async def ask(self, ev: StartEvent) -> InputRequiredEvent:
        RAN.append("ask")
        return InputRequiredEvent(prefix="your name? ")

    @step
    async def greet(self, ev: HumanResponseEvent) -> StopEvent:
        RAN.append("greet")
        return StopEvent(result=f"hello {ev.response}")


class Item(Event):
    n: int


class Squared(Event):
    n: int
    sq: int


class WaitingFlow(Workflow):
    """One step waits for a human (``wait_for_event``) while another step completes."""

    @step
    async def begin(self, ctx: Context, ev: StartEvent) -> Item | Squared | None:
        RAN.append("begin")
        ctx.send_event(Item(n=7))
        ctx.send_event(Squared(n=0, sq=0))
        return None

    @step
    async def confirm(self, ctx: Context, ev: Item) -> StopEvent:
        RAN.append("confirm")
        answer = await ctx.wait_for_event(
            HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="ok?"), waiter_id="ok")
        return StopEvent(result=f"{ev.n}:{answer.response}")

    @step
    async def side(self, ev: Squared) -> None:
        await asyncio.sleep(0.05)
        RAN.append("side")
        return None


class FanFlow(Workflow):
    """Fan-out with ``send_event``, two workers, fan-in with ``collect_events``."""

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Item | None:
        RAN.append("split")
        await ctx.store.set("count", ev.count)
        for i in range(ev.count):
            ctx.send_event(Item(n=i))
        return None

    @step(num_workers=2)
    async def work(self, ev: Item) -> Squared:
        await asyncio.sleep(0.005 * (ev.n % 3))
        if ev.n in SLOW_ONCE:  # still running when the run fails, so it never completes
            SLOW_ONCE.discard(ev.n)
            SLOW_STARTED.add(ev.n)
            await asyncio.sleep(60)
        if ev.n in FAIL_ONCE:
            FAIL_ONCE.discard(ev.n)
            for _ in range(1000):
                if SLOW_STARTED or not SLOW_ONCE:
                    break
                await asyncio.sleep(0.01)
            raise RuntimeError(f"item {ev.n} failed")
        PROCESSED[ev.n] += 1
        return Squared(n=ev.n, sq=ev.n * ev.n)

    @step
    async def gather(self, ctx: Context, ev: Squared) -> StopEvent | None:
        count = await ctx.store.get("count")
        got = ctx.collect_events(ev, [Squared] * count)
        if got is None:
            return None
        return StopEvent(result=sorted(e.sq for e in got))


class Stored(Event):
    pass


class StoreFlow(Workflow):
    """Writes the StartEvent's ``entries`` into ``ctx.store``; the last step returns the store."""

    @step
    async def write(self, ctx: Context, ev: StartEvent) -> Stored:
        RAN.append("write")
        for key, value in ev.entries.items():
            await ctx.store.set(key, value)
        return Stored()

    @step
    async def read(self, ctx: Context, ev: Stored) -> StopEvent:
        RAN.append("read")
        state = await ctx.store.get_state()
        return StopEvent(result=dict(state._data))


def reset() -> None:
    RAN.clear()
    PROCESSED.clear()
    FAIL_ONCE.clear()
    SLOW_ONCE.clear()
    SLOW_STARTED.clear()


async def answer_prompts(handler, answer: str) -> tuple[int, object]:
    """Stream the run, answering every prompt with ``answer``; (prompts seen, result)."""
    prompts = 0
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            prompts += 1
            handler.ctx.send_event(HumanResponseEvent(response=answer))
    return prompts, await handler
