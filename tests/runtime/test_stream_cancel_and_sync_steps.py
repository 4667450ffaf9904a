"""Streaming ends once, cancelling never hangs, and plain ``def`` steps run off the loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from flowpoint import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCancelledByUser,
    WorkflowCancelledError,
    WorkflowRuntimeError,
    step,
)


class Word(Event):
    pass


class Talk(Workflow):
    @step
    async def chat(self, ev: StartEvent, ctx: Context) -> StopEvent:
        for w in "one two three".split():
            ctx.write_event_to_stream(Word(msg=w))
        return StopEvent(result="said")


async def test_a_second_stream_after_the_end_raises_instead_of_hanging():
    handler = Talk().run()
    words = [ev.msg async for ev in handler.stream_events() if isinstance(ev, Word)]
    assert words == ["one", "two", "three"]
    with pytest.raises(WorkflowRuntimeError, match="already been consumed"):
        async for _ in handler.stream_events():
            pass
    assert await handler == "said"


async def test_each_run_has_its_own_stream():
    wf = Talk()
    for _ in range(2):
        handler = wf.run()
        assert [e async for e in handler.stream_events()][-1].result == "said"


async def test_a_failing_step_ends_the_stream_and_the_error_arrives_raw():
    class Boom(Workflow):
        @step
        async def go(self, ev: StartEvent, ctx: Context) -> StopEvent:
            ctx.write_event_to_stream(Word(msg="before"))
            raise ValueError("The step raised an error!")

    handler = Boom().run()
    seen = [ev async for ev in handler.stream_events()]
    assert [e.msg for e in seen] == ["before"]
    with pytest.raises(ValueError, match="The step raised an error!"):
        await handler


async def test_cancel_run_reports_cancelled_by_user():
    class Slow(Workflow):
        @step
        async def go(self, ev: StartEvent) -> StopEvent:
            await asyncio.sleep(10)
            return StopEvent()

    handler = Slow().run()
    await asyncio.sleep(0.01)
    await handler.cancel_run()
    assert handler.is_done()
    assert type(handler.exception()) is WorkflowCancelledByUser
    assert isinstance(handler.exception(), WorkflowCancelledError)


class Ask(Workflow):
    @step
    async def ask(self, ev: StartEvent, ctx: Context) -> StopEvent:
        answer = await ctx.wait_for_event(HumanResponseEvent,
                                          waiter_event=InputRequiredEvent(prefix="?"), timeout=30)
        await asyncio.sleep(0)
        return StopEvent(result=answer.response)


async def test_cancel_in_the_same_tick_as_answering_a_timed_wait_does_not_hang():
    for cancel_first in (True, False):
        handler = Ask(timeout=None).run()
        async for ev in handler.stream_events():
            if isinstance(ev, InputRequiredEvent):
                if cancel_first:
                    cancelling = asyncio.ensure_future(handler.cancel_run())
                    handler.ctx.send_event(HumanResponseEvent(response="hi"))
                else:
                    handler.ctx.send_event(HumanResponseEvent(response="hi"))
                    cancelling = asyncio.ensure_future(handler.cancel_run())
                await asyncio.wait_for(cancelling, timeout=5)
                break
        assert handler.done() and handler.status == "cancelled"


async def test_a_plain_def_step_runs_in_a_thread_off_the_loop():
    loop_thread = threading.get_ident()
    threads: dict[str, int] = {}

    class Mixed(Workflow):
        @step
        async def first(self, ev: StartEvent) -> Word:
            return Word(msg="x")

        @step
        def blocking(self, ev: Word, ctx: Context) -> StopEvent:
            threads["blocking"] = threading.get_ident()
            ctx.write_event_to_stream(Word(msg="from thread"))
            ctx.collect_events(ev, [Word])
            return StopEvent(result=ev.msg * 2)

    wf = Mixed()
    handler = wf.run()
    streamed = [e async for e in handler.stream_events()]
    assert await handler == "xx"
    assert threads["blocking"] != loop_thread
    assert any(getattr(e, "msg", None) == "from thread" for e in streamed)
    assert wf.is_done()


async def test_def_steps_do_not_block_each_other_or_the_loop():
    class Sleepy(Workflow):
        @step
        async def fan(self, ev: StartEvent, ctx: Context) -> Word:
            for i in range(3):
                ctx.send_event(Word(i=i))
            return None  # type: ignore[return-value]

        @step(num_workers=3)
        def nap(self, ev: Word) -> StopEvent | None:
            threading.Event().wait(0.3)
            return None

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    t = asyncio.create_task(ticker())
    with pytest.raises(WorkflowRuntimeError, match="stalled"):
        await Sleepy(disable_validation=True).run()
    t.cancel()
    assert ticks >= 10  # the loop kept running while the three steps slept in threads


async def test_a_def_step_sending_events_from_its_thread_reaches_other_steps():
    class Sender(Workflow):
        @step
        def start(self, ev: StartEvent, ctx: Context) -> Word:
            ctx.send_event(Word(msg="a"))
            ctx.send_event(Word(msg="b"))
            return None  # type: ignore[return-value]

        @step
        async def gather(self, ev: Word, ctx: Context) -> StopEvent | None:
            got = ctx.collect_events(ev, [Word, Word])
            return StopEvent(result=sorted(e.msg for e in got)) if got else None

    assert await Sender().run() == ["a", "b"]
