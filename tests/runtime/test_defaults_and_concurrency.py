"""Upstream's defaults (4 workers per step, 45 s per run) and the caps on concurrent runs."""

from __future__ import annotations

import asyncio
import time

import pytest

from flowpoint import (
    Context,
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowTimeoutError,
    step,
)
from flowpoint.runtime.step import STEP_ATTR


class Job(Event):
    i: int


class Done(Event):
    i: int


class Fan(Workflow):
    @step
    async def spread(self, ev: StartEvent, ctx: Context) -> Job | None:
        for i in range(4):
            ctx.send_event(Job(i=i))
        return None

    @step
    async def work(self, ev: Job) -> Done:
        await asyncio.sleep(0.3)
        return Done(i=ev.i)

    @step
    async def gather(self, ev: Done, ctx: Context) -> StopEvent | None:
        got = ctx.collect_events(ev, [Done] * 4)
        return StopEvent(result=sorted(e.i for e in got)) if got else None


def test_a_run_times_out_after_45_seconds_by_default():
    assert Fan().timeout == 45.0
    assert Fan()._timeout == 45.0
    assert Fan(timeout=None).timeout is None


def test_a_step_has_four_workers_by_default():
    assert getattr(Fan.work, STEP_ATTR).num_workers == 4
    assert Fan().steps()["work"].num_workers == 4


async def test_four_events_for_one_step_run_at_once_by_default():
    started = time.perf_counter()
    assert await Fan().run() == [0, 1, 2, 3]
    assert time.perf_counter() - started < 1.0  # four 0.3 s steps side by side, not 1.2 s


async def test_a_short_timeout_fails_a_slow_run():
    class Slow(Workflow):
        @step
        async def go(self, ev: StartEvent) -> StopEvent:
            await asyncio.sleep(5)
            return StopEvent()

    with pytest.raises(WorkflowTimeoutError, match="timeout=None"):
        await Slow(timeout=0.2).run()


class Counting(Workflow):
    def __init__(self, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.active = 0
        self.peak = 0

    @step
    async def go(self, ev: StartEvent) -> StopEvent:
        self.active += 1
        self.peak = max(self.peak, self.active)
        await asyncio.sleep(0.05)
        self.active -= 1
        return StopEvent(result=f"Run {ev.run_num}: Done")


@pytest.mark.parametrize(("cap", "expected_peak"), [(1, 1), (2, 2), (None, 4)])
async def test_num_concurrent_runs_caps_runs_in_flight(cap, expected_peak):
    wf = Counting(num_concurrent_runs=cap)
    results = await asyncio.gather(*(wf.run(run_num=i) for i in range(1, 5)))
    assert results == [f"Run {i}: Done" for i in range(1, 5)]
    assert wf.peak == expected_peak


async def test_is_done_is_false_while_a_run_is_in_flight():
    wf = Counting()
    assert wf.is_done()
    handler = wf.run(run_num=1)
    await asyncio.sleep(0.01)
    assert not wf.is_done()
    await handler
    assert wf.is_done()


class Chain(Workflow):
    """Three steps in a row: each step's work is one event at a time."""

    tasks_seen = 0

    @step
    async def first(self, ev: StartEvent) -> Job:
        return Job(i=1)

    @step
    async def second(self, ev: Job) -> Done:
        return Done(i=ev.i + 1)

    @step
    async def third(self, ev: Done) -> StopEvent:
        Chain.tasks_seen = len(asyncio.all_tasks())
        return StopEvent(result=ev.i)


async def test_workers_start_as_a_steps_events_need_them():
    """A step handed one event at a time runs it on one worker (the other three of its
    default four are never started); events arriving together still get a worker each."""
    assert await Chain(timeout=None).run() == 2
    assert Chain.tasks_seen <= 5  # this test, the run, and one worker per step (not 4 each)

    class Burst(Workflow):
        active = peak = 0

        @step
        async def spread(self, ev: StartEvent, ctx: Context) -> Job | None:
            for i in range(6):
                ctx.send_event(Job(i=i))
            return None

        @step
        async def work(self, ev: Job) -> Done:
            Burst.active += 1
            Burst.peak = max(Burst.peak, Burst.active)
            await asyncio.sleep(0.05)
            Burst.active -= 1
            return Done(i=ev.i)

        @step
        async def gather(self, ev: Done, ctx: Context) -> StopEvent | None:
            got = ctx.collect_events(ev, [Done] * 6)
            return StopEvent(result=sorted(e.i for e in got)) if got else None

    assert await Burst(timeout=None).run() == list(range(6))
    assert Burst.peak == 4  # four workers, the default, side by side
