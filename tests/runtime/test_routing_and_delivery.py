"""How events reach steps: exact types, dropped events, waiting with requirements, custom
start and stop events."""

from __future__ import annotations

import asyncio

import pytest

from flowpoint import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowRuntimeError,
    step,
)


class Base(Event):
    n: int = 0


class Child(Base):
    pass


class Stray(Event):
    pass


class MyStart(StartEvent):
    query: str


class MyStop(StopEvent):
    outcome: str


class Middle(Event):
    pass


async def test_a_step_taking_base_does_not_receive_a_subclass_event():
    seen: list[str] = []

    class Flow(Workflow):
        @step
        async def start(self, ev: StartEvent) -> Child:
            return Child(n=1)

        @step
        async def base_only(self, ev: Base) -> StopEvent:
            seen.append("base")
            return StopEvent(result="base")

        @step
        async def child_only(self, ev: Child) -> StopEvent:
            seen.append("child")
            return StopEvent(result="child")

    assert await Flow().run() == "child"
    assert seen == ["child"]


async def test_an_event_no_step_accepts_is_dropped_and_the_run_goes_on():
    class Flow(Workflow):
        @step
        async def start(self, ev: StartEvent, ctx: Context) -> Middle:
            ctx.send_event(Stray())
            return Middle()

        @step
        async def finish(self, ev: Middle) -> StopEvent:
            await asyncio.sleep(0.01)
            return StopEvent(result="finished")

    handler = Flow().run()
    assert await handler == "finished"
    assert any(type(e) is Stray for e in handler.ctx._event_log)


async def test_a_run_left_with_only_a_dropped_event_says_so():
    class Flow(Workflow):
        @step
        async def start(self, ev: StartEvent, ctx: Context):  # type: ignore[no-untyped-def]
            ctx.send_event(Stray())

    with pytest.raises(WorkflowRuntimeError, match="stalled.*Stray.*dropped"):
        await Flow().run()


async def test_wait_for_event_keeps_waiting_past_events_that_do_not_match():
    class Flow(Workflow):
        @step
        async def ask(self, ev: StartEvent, ctx: Context) -> StopEvent:
            got = await ctx.wait_for_event(
                HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="name?"),
                requirements={"response": "yes"}, timeout=5)
            return StopEvent(result=got.response)

    handler = Flow().run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            handler.ctx.send_event(HumanResponseEvent(response="no"))
            handler.ctx.send_event(Event(msg="noise"))
            await asyncio.sleep(0.02)
            assert not handler.done()
            handler.ctx.send_event(HumanResponseEvent(response="yes"))
    assert await handler == "yes"


async def test_send_event_to_a_named_step_checks_the_step_and_its_type():
    class Flow(Workflow):
        @step
        async def start(self, ev: StartEvent, ctx: Context) -> Middle:
            ctx.send_event(Middle(), step="second")
            return None  # type: ignore[return-value]

        @step
        async def first(self, ev: Middle) -> StopEvent:
            return StopEvent(result="first")

        @step
        async def second(self, ev: Middle) -> StopEvent:
            return StopEvent(result="second")

    handler = Flow().run()
    assert await handler == "second"
    assert ["second", f"{Middle.__module__}.Middle"] in handler.ctx._accepted

    class Wrong(Workflow):
        @step
        async def start(self, ev: StartEvent, ctx: Context) -> StopEvent:
            ctx.send_event(Stray(), step="nope")
            return StopEvent()

    with pytest.raises(WorkflowRuntimeError, match="Step nope does not exist"):
        await Wrong().run()

    class WrongType(Wrong):
        @step
        async def start(self, ev: StartEvent, ctx: Context) -> StopEvent:
            ctx.send_event(Stray(), step="start")
            return StopEvent()

    with pytest.raises(WorkflowRuntimeError, match="Step start does not accept event of type"):
        await WrongType().run()


class CustomFlow(Workflow):
    @step
    async def start_step(self, ev: MyStart) -> Middle:
        return Middle(query=ev.query)

    @step
    async def end_step(self, ev: Middle) -> MyStop:
        return MyStop(outcome=f"done with {ev.query}")


async def test_a_step_taking_a_start_event_subclass_starts_the_run():
    wf = CustomFlow()
    assert wf.start_event_class is MyStart
    assert wf.stop_event_class is MyStop
    result = await wf.run(query="foo")
    assert isinstance(result, MyStop)
    assert result.outcome == "done with foo"


async def test_a_custom_start_event_can_be_passed_whole():
    result = await CustomFlow().run(start_event=MyStart(query="bar"))
    assert result.outcome == "done with bar"


async def test_wrong_keyword_arguments_for_a_custom_start_event_are_reported():
    with pytest.raises(WorkflowRuntimeError,
                       match="Failed creating a start event of type 'MyStart'"):
        CustomFlow().run(wrong_field="x")


async def test_streaming_a_run_that_ends_in_a_custom_stop_event_ends():
    handler = CustomFlow().run(query="q")

    async def consume() -> list[Event]:
        return [ev async for ev in handler.stream_events()]

    events = await asyncio.wait_for(consume(), timeout=5)
    assert isinstance(events[-1], MyStop)
    assert (await handler).outcome == "done with q"


class Waiting(Workflow):
    @step
    async def go(self, ev: StartEvent, ctx: Context) -> StopEvent:
        return StopEvent(result=[e.msg for e in ctx._event_log if type(e) is Middle])

    @step
    async def middle(self, ev: Middle) -> None:
        return None


async def test_a_context_before_its_run_can_be_waited_on_and_sent_to():
    ctx = Context(Waiting())
    waiting = asyncio.ensure_future(ctx.wait_for_event(Event, requirements={"msg": "foo"}))
    await asyncio.sleep(0.01)
    ctx.send_event(Event(msg="bar"))
    ctx.send_event(Event(msg="foo"))
    assert (await asyncio.wait_for(waiting, 2)).msg == "foo"
    with pytest.raises(WorkflowRuntimeError, match="Step does_not_exist does not exist"):
        ctx.send_event(Event(), "does_not_exist")
    with pytest.raises(WorkflowRuntimeError, match="Step middle does not accept event of type"):
        ctx.send_event(Stray(), "middle")


async def test_events_sent_before_a_run_are_delivered_when_it_starts():
    ctx = Context(Waiting())
    ctx.send_event(Middle(msg="early"))
    ctx.write_event_to_stream(Event(msg="note"))
    handler = Waiting().run(ctx=ctx)
    streamed = [e async for e in handler.stream_events()]
    assert await handler == ["early"]
    assert streamed[0].msg == "note"
