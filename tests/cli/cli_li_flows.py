"""A llama-index-workflows 2.x workflow, for resuming one from the command line."""

from __future__ import annotations

from workflows import Context, Workflow, step
from workflows.events import Event, StartEvent, StopEvent


class LiJokeEvent(Event):
    joke: str


class LiJokeFlow(Workflow):
    @step
    async def generate_joke(self, ctx: Context, ev: StartEvent) -> LiJokeEvent:
        await ctx.store.set("topic", ev.topic)
        return LiJokeEvent(joke=f"a joke about {ev.topic}")

    @step
    async def critique_joke(self, ctx: Context, ev: LiJokeEvent) -> StopEvent:
        return StopEvent(result=f"critique of {ev.joke!r} ({await ctx.store.get('topic')})")
