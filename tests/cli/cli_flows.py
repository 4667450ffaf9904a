"""Workflows the command-line tests run and resume (imported by name with --workflow)."""

from __future__ import annotations

from flowpoint import Context, Event, StartEvent, StopEvent, Workflow, step
from flowpoint.demo import JokeFlow, ReviewFlow

__all__ = ["DoubleFlow", "JokeFlow", "NumberEvent", "ReviewFlow", "StepFailed"]


class StepFailed(Exception):
    """What DoubleFlow raises for a negative number."""


class NumberEvent(Event):
    n: int


class DoubleFlow(Workflow):
    """Stores a number, then doubles it; a negative number fails the second step."""

    @step
    async def take(self, ev: StartEvent, ctx: Context) -> NumberEvent:
        await ctx.store.set("taken", ev.n)
        return NumberEvent(n=ev.n)

    @step
    async def double(self, ev: NumberEvent, ctx: Context) -> StopEvent:
        if ev.n < 0:
            raise StepFailed(f"cannot double {ev.n}")
        await ctx.store.set("doubled", ev.n * 2)
        return StopEvent(result={"doubled": ev.n * 2})
