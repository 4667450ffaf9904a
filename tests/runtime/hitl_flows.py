"""Workflows shared by the context round-trip tests and the process that continues them."""

from __future__ import annotations

import json

from flowpoint import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    JsonSerializer,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)


class Draft(Event):
    text: str


class ReviewFlow(Workflow):
    """Writes a draft, asks a human to approve it, then publishes it."""

    @step
    async def write(self, ctx: Context, ev: StartEvent) -> Draft:
        await ctx.store.set("writes", await ctx.store.get("writes", default=0) + 1)
        return Draft(text=f"draft about {ev.topic}")

    @step
    async def ask(self, ctx: Context, ev: Draft) -> InputRequiredEvent:
        await ctx.store.set("draft", ev.text)
        return InputRequiredEvent(prefix=f"approve '{ev.text}'?")

    @step
    async def publish(self, ctx: Context, ev: HumanResponseEvent) -> StopEvent:
        draft = await ctx.store.get("draft")
        return StopEvent(result={"draft": draft, "answer": ev.response,
                                 "writes": await ctx.store.get("writes")})


async def continue_from(path: str, answer: str) -> None:
    """Load a context dict from ``path``, answer the prompt it waits on, print the result."""
    with open(path) as f:
        data = json.load(f)
    wf = ReviewFlow(timeout=30)
    ctx = Context.from_dict(wf, data, serializer=JsonSerializer())
    handler = wf.run(ctx=ctx)
    prompts = []
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            prompts.append(ev.prefix)
            handler.ctx.send_event(HumanResponseEvent(response=answer))
    result = await handler
    print(json.dumps({"prompts": prompts, "result": result}))

