"""Contract tests: the adapter's own writing of the control loop snapshot and of event texts is
what the runtime itself writes (``BrokerState.to_serialized`` and ``JsonSerializer.serialize``),
at every tick of runs that use queues, workers, collect buffers, waiters, multi-event fan-in,
``list[E]`` collection streams and retries."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest
from li_flows import (
    AskFlow,
    FanFlow,
    Item,
    JokeFlow,
    Squared,
    Tally,
    TypedFlow,
    WaitingFlow,
    reset,
)
from pydantic import BaseModel
from workflows import Context, Workflow, step
from workflows.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
)
from workflows.retry_policy import retry_policy, stop_after_attempt, wait_fixed
from workflows.runtime.types.internal_state import BrokerState
from workflows.runtime.types.results import StepWorkerResult

from flowpoint import WorkflowCheckpointer
from flowpoint.adapters.llamaindex import loopstate
from flowpoint.adapters.llamaindex.driver import LlamaIndexDriver
from flowpoint.adapters.llamaindex.eventtext import EventTexts
from flowpoint.adapters.llamaindex.idletext import idle_context_text
from flowpoint.adapters.llamaindex.runtime import RunWatch
from flowpoint.storage.contentstore import compact_text


class Left(Event):
    side: str


class Right(Event):
    side: str


class JoinFlow(Workflow):
    """A step with two event parameters: the runtime binds the first until the second comes."""

    @step
    async def begin(self, ctx: Context, ev: StartEvent) -> Left | Right | None:
        ctx.send_event(Left(side="l"))
        ctx.send_event(Right(side="r"))
        return None

    @step
    async def join(self, left: Left, right: Right) -> StopEvent:
        return StopEvent(result=left.side + right.side)


class QueueFlow(Workflow):
    """Items queue behind one slow worker, then are collected."""

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Item | None:
        for i in range(4):
            ctx.send_event(Item(n=i))
        return None

    @step(num_workers=1)
    async def work(self, ev: Item) -> Squared:
        await asyncio.sleep(0.01)
        return Squared(n=ev.n, sq=ev.n * ev.n)

    @step
    async def gather(self, ctx: Context, ev: Squared) -> StopEvent | None:
        got = ctx.collect_events(ev, [Squared] * 4)
        return None if got is None else StopEvent(result=sorted(e.sq for e in got))


class NeedsFlow(Workflow):
    """``wait_for_event`` with requirements on the awaited event."""

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        answer = await ctx.wait_for_event(
            HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="ok?"),
            requirements={"response": "yes"})
        return StopEvent(result=answer.response)


class ListFlow(Workflow):
    """A ``list[E]`` fan-out and its fan-in: a collection stream."""

    @step
    async def split(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(3)]

    @step
    async def work(self, ev: Item) -> Squared:
        return Squared(n=ev.n, sq=ev.n * ev.n)

    @step
    async def gather(self, events: list[Squared]) -> StopEvent:
        return StopEvent(result=sorted(e.sq for e in events))


FAILED: list[int] = []


class RetryFlow(Workflow):
    """A step that fails once and is retried: its attempt carries the exception."""

    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(3)))
    async def flaky(self, ev: StartEvent) -> StopEvent:
        if not FAILED:
            FAILED.append(1)
            raise RuntimeError("first attempt fails")
        return StopEvent(result="ok")


def _reference(broker: BrokerState, serializer: Any) -> dict[str, Any]:
    """The runtime's own snapshot of the busy steps, as the adapter stores it."""
    trimmed = copy.copy(broker)
    trimmed.workers = {k: w for k, w in broker.workers.items()
                       if w.queue or w.in_progress or w.collected_events or w.collected_waiters
                       or w.static_collect_events}
    serialized = trimmed.to_serialized(serializer)
    out = serialized.model_dump(mode="json", exclude_defaults=True)
    out["version"] = serialized.version
    out.pop("state", None)
    return out


@pytest.fixture
def compared(monkeypatch):
    """Compare the adapter's snapshot with the runtime's at every tick; count the ticks whose
    state took the runtime's own path."""
    seen: dict[str, Any] = {"ticks": 0, "by_runtime": 0, "without_output": 0, "idle_text": 0,
                            "parts": set()}
    on_tick = RunWatch.on_tick
    by_runtime = loopstate._by_runtime

    def spy_by_runtime(broker, texts, steps):
        seen["by_runtime"] += 1
        return by_runtime(broker, texts, steps)

    def spy(self, tick, loop_runner):
        on_tick(self, tick, loop_runner)
        broker = self.broker()
        if broker is None or broker.children:
            return
        seen["ticks"] += 1
        reference = _reference(broker, self.registry.serializer)
        mine, index = loopstate.loop_context(broker, EventTexts(self.registry.serializer))
        assert index is None and mine == reference, type(tick).__name__
        done = [r.result for r in getattr(tick, "result", ()) if isinstance(r, StepWorkerResult)]
        if done and done[0] is not None:  # as a checkpoint stores it, its output put back
            ckpt, index = loopstate.loop_context(broker, EventTexts(self.registry.serializer),
                                                 output=done[0])
            if index is not None and "event" not in ckpt["deliveries"][index]:
                seen["without_output"] += 1  # (the runtime's own path keeps it)
                ckpt["deliveries"] = LlamaIndexDriver._with_output(
                    ckpt["deliveries"], index, done[0], self.registry, "-")
            assert ckpt == reference, type(tick).__name__
            if not loopstate.busy(broker):  # the text written directly for an idle loop
                made = idle_context_text(broker, EventTexts(self.registry.serializer), done[0])
                if made is not None:
                    seen["idle_text"] += 1
                    text, text_index = made
                    assert text == compact_text(json.loads(text))  # as the store writes it
                    assert (json.loads(text), text_index) == loopstate.loop_context(
                        broker, EventTexts(self.registry.serializer), output=done[0])
        if not loopstate.busy(broker):
            made = idle_context_text(broker, EventTexts(self.registry.serializer))
            if made is not None:
                assert json.loads(made[0]) == reference and made[1] is None
        for worker in mine.get("workers", {}).values():
            seen["parts"].update(worker)
            for item in (*worker.get("queue", ()), *worker.get("in_progress", ()),
                         *worker.get("collected_waiters", ())):
                seen["parts"].update(f"item.{k}" for k in item)

    monkeypatch.setattr(loopstate, "_by_runtime", spy_by_runtime)
    monkeypatch.setattr(RunWatch, "on_tick", spy)
    reset()
    FAILED.clear()
    return seen


async def _answer(handler: Any, answer: str) -> Any:
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            handler.ctx.send_event(HumanResponseEvent(response=answer))
    return await handler


@pytest.mark.parametrize("flow, kwargs, answer", [
    (JokeFlow, {"topic": "chemistry"}, None),
    (TypedFlow, {"label": "x"}, None),
    (FanFlow, {"count": 6}, None),
    (QueueFlow, {}, None),
    (JoinFlow, {}, None),
    (AskFlow, {}, "ada"),
    (WaitingFlow, {}, "yes"),
    (NeedsFlow, {}, "yes"),
])
async def test_the_snapshot_of_ordinary_runs_is_the_runtimes_own(compared, flow, kwargs, answer):
    ckptr = WorkflowCheckpointer(workflow=flow(timeout=30), store="memory")
    handler = ckptr.run(**kwargs)
    await (_answer(handler, answer) if answer else handler)
    assert compared["ticks"] >= 4
    assert compared["by_runtime"] == 0  # all written directly
    if flow not in (JoinFlow, WaitingFlow, NeedsFlow):  # their steps return no event to deliver
        assert compared["without_output"] >= 1
    assert compared["idle_text"] >= 1


@pytest.mark.parametrize("flow, kwargs, answer, parts", [
    (QueueFlow, {}, None, {"queue", "in_progress", "collected_events", "collect_generations",
                           "item.worker_id", "item.invocation_id"}),
    (JoinFlow, {}, None, {"static_collect_events"}),
    (WaitingFlow, {}, "yes", {"collected_waiters", "item.waiter_id", "item.waiting_for_event"}),
    (NeedsFlow, {}, "yes", {"item.has_requirements"}),
])
async def test_the_compared_snapshots_hold_work_in_flight(compared, flow, kwargs, answer, parts):
    ckptr = WorkflowCheckpointer(workflow=flow(timeout=30), store="memory")
    handler = ckptr.run(**kwargs)
    await (_answer(handler, answer) if answer else handler)
    assert parts <= compared["parts"]


@pytest.mark.parametrize("flow", [ListFlow, RetryFlow])
async def test_states_written_by_the_runtime_agree_too(compared, flow):
    ckptr = WorkflowCheckpointer(workflow=flow(timeout=30), store="memory")
    handler = ckptr.run()
    assert (await handler) is not None
    assert compared["by_runtime"] >= 1  # streams, retried attempts: the runtime's own path


class Inner(BaseModel):
    a: int
    tags: list[str] = []


class Rich(Event):
    inner: Inner
    when: float = 1.5
    _secret: str = "hidden"


class Named(Event):
    class_name: str = "component-like"


@pytest.mark.parametrize("event", [
    StartEvent(topic="t", extra={"k": [1, 2]}),
    StopEvent(result={"x": 1}),
    InputRequiredEvent(prefix="name? "),
    HumanResponseEvent(response="yes"),
    Rich(inner=Inner(a=1, tags=["p"])),
    Item(n=3),
    Named(),
    StartEvent(class_name="looks like a component"),
])
def test_event_texts_are_what_the_serializer_writes(event):
    from flowpoint.adapters.llamaindex.types import TypeRegistry

    serializer = TypeRegistry(JokeFlow()).serializer
    texts = EventTexts(serializer)
    assert texts.serialize(event) == serializer.serialize(event)
    texts.done()
    assert texts.serialize(event) == serializer.serialize(event)  # kept by identity


class LateTally(Workflow):
    """Typed state that the first step leaves alone and the second writes."""

    @step
    async def first(self, ctx: Context[Tally], ev: StartEvent) -> Item:
        return Item(n=1)

    @step
    async def second(self, ctx: Context[Tally], ev: Item) -> StopEvent:
        async with ctx.store.edit_state() as state:
            state.count = 5
        return StopEvent(result="done")


async def test_the_stored_state_is_what_the_state_store_gives_before_and_after_a_write():
    ckptr = WorkflowCheckpointer(workflow=LateTally(timeout=30), store="memory")
    handler = ckptr.run()
    await handler
    first, second = ckptr.checkpoints[handler.run_id]
    assert first.raw_state["store"] == Tally().model_dump(mode="json")  # defaults, unwritten
    assert second.raw_state["store"] == {"count": 5, "label": ""}


async def test_the_state_store_record_the_snapshot_reads_is_the_checkpointed_model():
    from workflows.context.state_store import DictState, InMemoryStateStore

    store = InMemoryStateStore(DictState())
    await store.set("k", [1, 2])
    record = store._memory_storage._record
    assert record is not None and record.data is store.checkpoint().state
    assert store.state_type is DictState
    empty = InMemoryStateStore(Tally())
    assert empty._memory_storage._record is None or isinstance(
        empty._memory_storage._record.data, Tally)
