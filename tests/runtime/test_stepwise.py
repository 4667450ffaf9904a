"""``wf.run(stepwise=True)``: ``await handler.run_step()`` runs one step at a time and hands back
the events it produced, which the caller sends on."""

from __future__ import annotations

import pytest

from flowpoint import (
    Context,
    Event,
    HumanResponseEvent,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowHandler,
    WorkflowRuntimeError,
    step,
)


class First(Event):
    pass


class Last(Event):
    pass


class Line(Workflow):
    @step
    async def start_step(self, ctx: Context, ev: StartEvent) -> First:
        await ctx.store.set("ran", ["start_step"])
        return First()

    @step
    async def middle_step(self, ctx: Context, ev: First) -> Last:
        await ctx.store.set("ran", [*await ctx.store.get("ran"), "middle_step"])
        return Last()

    @step
    async def end_step(self, ev: Last) -> StopEvent:
        return StopEvent(result="Workflow completed")


async def test_run_step_runs_one_step_and_returns_what_it_produced():
    handler = Line().run(stepwise=True)
    assert not handler.ctx.store.to_dict()  # nothing ran before the first run_step
    events = await handler.run_step()
    assert [type(e) for e in events] == [First]
    assert await handler.ctx.store.get("ran") == ["start_step"]
    assert not handler.is_done()
    handler.ctx.send_event(events[0])

    events = await handler.run_step()
    assert [type(e) for e in events] == [Last]
    assert await handler.ctx.store.get("ran") == ["start_step", "middle_step"]
    handler.ctx.send_event(events[0])

    events = await handler.run_step()
    assert [type(e) for e in events] == [StopEvent]
    assert not handler.is_done()
    handler.ctx.send_event(events[0])

    assert await handler.run_step() is None
    assert await handler == "Workflow completed"
    assert handler.is_done()
    assert not handler.ctx.snapshot()["in_progress"]


class Int1(Event):
    value: int


class Int2(Event):
    value: int


class Fork(Workflow):
    probe = ""

    @step
    async def step1(self, ctx: Context, ev: StartEvent) -> None:
        ctx.send_event(Int1(value=21))
        ctx.send_event(Int2(value=23))

    @step
    async def step2a(self, ev: Int1) -> StopEvent:
        return StopEvent(result=ev.value * 2)

    @step
    async def step2b(self, ev: Int2) -> None:
        type(self).probe = "test"


async def test_the_usual_loop_drives_a_run_to_its_end():
    handler = Fork().run(stepwise=True)
    rounds = 0
    while produced := await handler.run_step():
        rounds += 1
        for ev in produced:
            handler.ctx.send_event(ev)
    assert await handler == 42
    assert Fork.probe == "test"  # both steps of the second round ran
    assert rounds == 2


async def test_a_failing_step_raises_from_run_step_and_fails_the_run():
    class Boom(Workflow):
        @step
        async def go(self, ev: StartEvent) -> StopEvent:
            raise ValueError("The step raised an error!")

    handler = Boom().run(stepwise=True)
    with pytest.raises(ValueError, match="The step raised an error!"):
        await handler.run_step()
    assert isinstance(handler.exception(), ValueError)


async def test_run_step_on_a_normal_run_is_an_error():
    handler = Line().run()
    with pytest.raises(ValueError, match="stepwise=True"):
        await handler.run_step()
    await handler


async def test_stepwise_with_a_human_in_the_loop_is_refused():
    class Human(Workflow):
        @step
        async def go(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

        @step
        async def answer(self, ev: HumanResponseEvent) -> StopEvent:
            return StopEvent()

    with pytest.raises(WorkflowRuntimeError, match="not supported with stepwise"):
        Human().run(stepwise=True)


async def test_cancelling_a_stepwise_run_midway():
    handler = Line().run(stepwise=True)
    events = await handler.run_step()
    handler.ctx.send_event(events[0])
    await handler.cancel_run()
    assert handler.is_done() and handler.status == "cancelled"


async def test_a_stepwise_run_continues_from_its_context_dict():
    wf = Line()
    handler = wf.run(stepwise=True)
    events = await handler.run_step()
    handler.ctx.send_event(events[0])
    data = handler.ctx.to_dict()
    await handler.cancel_run()

    resumed = wf.run(ctx=Context.from_dict(wf, data), stepwise=True)
    events = await resumed.run_step()
    assert [type(e) for e in events] == [Last]  # the start step is not run again
    resumed.ctx.send_event(events[0])
    events = await resumed.run_step()
    resumed.ctx.send_event(events[0])
    assert await resumed.run_step() is None
    assert await resumed == "Workflow completed"
    assert await resumed.ctx.store.get("ran") == ["start_step", "middle_step"]


async def test_a_handler_holding_only_a_context():
    handler = WorkflowHandler()
    with pytest.raises(ValueError, match="Context is not set!"):
        async for _ in handler.stream_events():
            pass
    with pytest.raises(ValueError, match="Context must be set to run a workflow step-wise!"):
        await handler.run_step()
    handler.set_result([])
    assert str(handler) == "[]" and handler.is_done() and await handler == []

    wf = Line()
    done = wf.run()
    await done
    holder = WorkflowHandler(ctx=Context.from_dict(wf, done.ctx.to_dict()))
    assert await holder.ctx.store.get("ran") == ["start_step", "middle_step"]
    with pytest.raises(ValueError, match="stepwise=True"):
        await holder.run_step()
    again = wf.run(ctx=holder.ctx)
    assert await again == "Workflow completed"
