"""The runtime on its own: routing, context, fan-out/fan-in, streaming, errors, validation."""

from __future__ import annotations

import asyncio

import pytest

from flowpoint import (
    ConstantDelayRetryPolicy,
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCancelledError,
    WorkflowConfigurationError,
    WorkflowRuntimeError,
    WorkflowTimeoutError,
    WorkflowValidationError,
    step,
)
from flowpoint.demo import JokeEvent, JokeFlow


class AEvent(Event):
    n: int


class BEvent(Event):
    n: int


class Result(Event):
    value: int


async def test_start_event_fields_are_attributes_and_result_is_returned():
    handler = JokeFlow().run(topic="chemistry")
    result = await handler
    assert result.startswith("Critique:")
    assert handler.status == "completed"
    assert len(handler.run_id) == 36


def test_start_event_get_and_contains():
    ev = StartEvent(topic="x", n=3)
    assert ev.topic == "x" and ev.get("n") == 3 and ev.get("missing", 5) == 5
    assert "topic" in ev and ev["n"] == 3


async def test_union_annotation_routes_both_types_and_ctx_store_persists():
    class Flow(Workflow):
        @step
        async def start(self, ev: StartEvent, ctx: Context) -> AEvent | BEvent:
            await ctx.store.set("seen", [])
            return AEvent(n=1) if ev.first == "a" else BEvent(n=2)

        @step
        async def either(self, ev: AEvent | BEvent, ctx: Context) -> StopEvent:
            seen = await ctx.store.get("seen")
            return StopEvent(result=(type(ev).__name__, ev.n, seen))

    assert await Flow().run(first="a") == ("AEvent", 1, [])
    assert await Flow().run(first="b") == ("BEvent", 2, [])


async def test_fan_out_with_workers_and_collect_events():
    class Fan(Workflow):
        @step
        async def spread(self, ev: StartEvent, ctx: Context) -> AEvent | None:
            for i in range(ev.count):
                ctx.send_event(AEvent(n=i))
            return None

        @step(num_workers=3)
        async def work(self, ev: AEvent) -> Result:
            await asyncio.sleep(0.01 * (3 - ev.n % 3))
            return Result(value=ev.n * 10)

        @step
        async def gather(self, ev: Result, ctx: Context) -> StopEvent | None:
            got = ctx.collect_events(ev, [Result] * 5)
            if got is None:
                return None
            return StopEvent(result=sorted(r.value for r in got))

    assert await Fan().run(count=5) == [0, 10, 20, 30, 40]


async def test_wait_for_event_gets_the_human_response_and_stream_shows_the_prompt():
    class Ask(Workflow):
        @step
        async def ask(self, ev: StartEvent, ctx: Context) -> StopEvent:
            answer = await ctx.wait_for_event(
                HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="name?"))
            return StopEvent(result=f"hello {answer.response}")

    handler = Ask().run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            assert ev.prefix == "name?"
            assert handler.status == "waiting"
            handler.ctx.send_event(HumanResponseEvent(response="ada"))
    assert await handler == "hello ada"


async def test_input_required_event_returned_by_a_step_reaches_the_stream():
    from flowpoint.demo import ReviewFlow

    handler = ReviewFlow().run(topic="cats")
    prompts = []
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            prompts.append(ev.prefix)
            handler.ctx.send_event(HumanResponseEvent(response="yes"))
    assert prompts and prompts[0].startswith("Publish this joke?")
    assert (await handler).startswith("published: ")


async def test_write_event_to_stream_and_stream_ends_with_stop_event():
    class Progress(Event):
        pct: int

    class Flow(Workflow):
        @step
        async def go(self, ev: StartEvent, ctx: Context) -> StopEvent:
            for pct in (50, 100):
                ctx.write_event_to_stream(Progress(pct=pct))
            return StopEvent(result="ok")

    handler = Flow().run()
    seen = [ev async for ev in handler.stream_events()]
    assert [type(e).__name__ for e in seen] == ["Progress", "Progress", "StopEvent"]
    assert [e.pct for e in seen[:2]] == [50, 100]


async def test_a_step_that_raises_fails_the_run_with_that_exception():
    class Boom(Workflow):
        @step
        async def go(self, ev: StartEvent) -> StopEvent:
            raise ValueError("bad input")

    handler = Boom().run()
    with pytest.raises(ValueError, match="bad input"):
        await handler
    assert handler.status == "failed"


async def test_a_step_raising_timeout_error_fails_with_that_error_not_a_run_timeout():
    class Slow(Workflow):
        @step
        async def go(self, ev: StartEvent) -> StopEvent:
            raise TimeoutError("upstream API timed out")

    handler = Slow().run()
    with pytest.raises(TimeoutError, match="upstream API timed out"):
        await handler
    assert handler.status == "failed"


async def test_retry_policy_retries_a_flaky_step():
    calls = []

    class Flaky(Workflow):
        @step(retry_policy=ConstantDelayRetryPolicy(delay=0, maximum_attempts=3))
        async def go(self, ev: StartEvent) -> StopEvent:
            calls.append(1)
            if len(calls) < 3:
                raise RuntimeError("transient")
            return StopEvent(result=len(calls))

    assert await Flaky().run() == 3


async def test_timeout_fails_the_run():
    class Slow(Workflow):
        @step
        async def go(self, ev: StartEvent) -> StopEvent:
            await asyncio.sleep(5)
            return StopEvent()

    handler = Slow(timeout=0.05).run()
    with pytest.raises(WorkflowTimeoutError, match="timed out after 0.05 seconds"):
        await handler
    assert handler.status == "failed"


async def test_cancel_stops_the_run():
    class Slow(Workflow):
        @step
        async def go(self, ev: StartEvent) -> StopEvent:
            await asyncio.sleep(5)
            return StopEvent()

    handler = Slow().run()
    await asyncio.sleep(0.01)
    handler.cancel()
    with pytest.raises(WorkflowCancelledError):
        await handler
    assert handler.status == "cancelled"


async def test_a_run_with_no_work_left_and_no_stop_event_fails_instead_of_hanging():
    class Stuck(Workflow):
        @step
        async def go(self, ev: StartEvent):  # unannotated: not known to end the run
            return None

    with pytest.raises(WorkflowRuntimeError, match="stalled"):
        await Stuck().run()


async def test_missing_store_key_names_the_key():
    class Flow(Workflow):
        @step
        async def go(self, ev: StartEvent, ctx: Context) -> StopEvent:
            return StopEvent(result=await ctx.store.get("nope"))

    with pytest.raises(KeyError, match="'nope' not found"):
        await Flow().run()


def test_validation_no_step_takes_start_event():
    class NoStart(Workflow):
        @step
        async def go(self, ev: JokeEvent) -> StopEvent:
            return StopEvent()

    with pytest.raises(WorkflowConfigurationError,
                       match="At least one Event of type StartEvent must be received"):
        NoStart()


async def test_validation_returned_type_nobody_accepts():
    class Orphan(Workflow):
        @step
        async def go(self, ev: StartEvent) -> JokeEvent | StopEvent:
            return JokeEvent(joke="x")

    wf = Orphan()
    with pytest.raises(WorkflowValidationError,
                       match="produced but never consumed: JokeEvent .'go' returns JokeEvent"):
        await wf.run()


def test_validation_step_without_event_annotation():
    with pytest.raises(WorkflowValidationError, match="'ev' has no type annotation"):
        class Bare(Workflow):
            @step
            async def go(self, ev) -> StopEvent:  # type: ignore[no-untyped-def]
                return StopEvent()


def test_run_outside_a_loop_explains_what_to_do():
    with pytest.raises(WorkflowRuntimeError, match="running asyncio loop"):
        JokeFlow().run(topic="x")


async def test_free_function_step_bound_with_workflow_argument():
    class Base(Workflow):
        @step
        async def start(self, ev: StartEvent) -> AEvent:
            return AEvent(n=ev.n)

    @step(workflow=Base)
    async def finish(ev: AEvent) -> StopEvent:
        return StopEvent(result=ev.n + 1)

    assert await Base().run(n=41) == 42


async def test_a_step_whose_function_has_another_name_runs():
    async def shared(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="aliased")

    class Aliased(Workflow):
        first = step(shared)

    assert await Aliased().run() == "aliased"
