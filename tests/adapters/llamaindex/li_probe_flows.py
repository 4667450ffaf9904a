"""More 2.x user code, as written for llama-index-workflows: a typed StartEvent, nested
pydantic fields, a typed state with nested models, a prompt subclass, streamed progress and a
retried step. ``CALLS`` records what ran."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field
from workflows import Context, Workflow, step
from workflows.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
)
from workflows.retry_policy import retry_policy, stop_after_attempt, wait_fixed

CALLS: list[str] = []
FLAKY: dict[str, int] = {}


class Source(BaseModel):
    url: str
    score: float = 0.0


class Notes(BaseModel):
    """A typed ctx.store state with nested models and a datetime."""

    sources: list[Source] = Field(default_factory=list)
    seen_at: dt.datetime | None = None
    rounds: int = 0


class ResearchStart(StartEvent):
    query: str
    depth: int = 1


class Found(Event):
    sources: list[Source]
    best: Source | None = None


class Progress(Event):
    msg: str


class AskApproval(InputRequiredEvent):
    question: str


class Approval(HumanResponseEvent):
    approved: bool = False


class ResearchFlow(Workflow):
    """A typed start, typed state, a streamed progress event, a prompt subclass."""

    @step
    async def search(self, ctx: Context[Notes], ev: ResearchStart) -> Found:
        CALLS.append("search")
        found = [Source(url=f"https://x/{ev.query}/{i}", score=i / 10) for i in range(ev.depth)]
        async with ctx.store.edit_state() as state:
            state.sources = found
            state.seen_at = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
            state.rounds += 1
        return Found(sources=found, best=found[-1])

    @step
    async def ask(self, ctx: Context[Notes], ev: Found) -> AskApproval:
        CALLS.append("ask")
        ctx.write_event_to_stream(Progress(msg=f"best {ev.best.url if ev.best else None}"))
        return AskApproval(question=f"use {len(ev.sources)} sources?")

    @step
    async def decide(self, ctx: Context[Notes], ev: Approval) -> StopEvent:
        CALLS.append("decide")
        state = await ctx.store.get_state()
        ctx.write_event_to_stream(Progress(msg="deciding"))
        return StopEvent(result={"approved": ev.approved, "response": ev.response,
                                 "urls": [s.url for s in state.sources],
                                 "seen": state.seen_at.isoformat() if state.seen_at else None,
                                 "rounds": state.rounds})


class Count(Event):
    n: int


class RetryFlow(Workflow):
    """The middle step fails on its first attempt, then succeeds on a retry."""

    @step
    async def begin(self, ev: StartEvent) -> Count:
        CALLS.append("begin")
        return Count(n=1)

    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(3)))
    async def flaky(self, ev: Count) -> Count | StopEvent:
        CALLS.append("flaky")
        FLAKY["tries"] = FLAKY.get("tries", 0) + 1
        if FLAKY["tries"] == 1:
            raise RuntimeError("transient")
        return StopEvent(result=ev.n + 1)


class BaseSteps(Workflow):
    @step
    async def first(self, ctx: Context, ev: StartEvent) -> Count:
        CALLS.append("first")
        await ctx.store.set("who", "base")
        return Count(n=ev.get("n", 0))


class DerivedFlow(BaseSteps):
    """Steps inherited from a base workflow class."""

    @step
    async def second(self, ctx: Context, ev: Count) -> StopEvent:
        CALLS.append("second")
        return StopEvent(result=f"{await ctx.store.get('who')}:{ev.n}")


def reset() -> None:
    CALLS.clear()
    FLAKY.clear()


class Memo(BaseModel):
    """A plain pydantic model (not an event) kept as a value in a DictState ctx.store."""

    text: str
    when: dt.datetime | None = None


class Kept(Event):
    pass


class MemoFlow(Workflow):
    """Puts pydantic values (alone and nested) and, if asked, a datetime into a DictState."""

    @step
    async def put(self, ctx: Context, ev: StartEvent) -> Kept:
        CALLS.append("put")
        await ctx.store.set("memo", Memo(text="m", when=dt.datetime(2024, 1, 1)))
        await ctx.store.set("nested", {"memos": [Memo(text="n")], "count": 1})
        if ev.get("with_datetime"):
            await ctx.store.set("when", dt.datetime(2024, 1, 2))
        return Kept()

    @step
    async def show(self, ctx: Context, ev: Kept) -> StopEvent:
        CALLS.append("show")
        memo, nested = await ctx.store.get("memo"), await ctx.store.get("nested")
        return StopEvent(result={"memo": [type(memo).__name__, memo.text, str(memo.when)],
                                 "nested": [type(m).__name__ for m in nested["memos"]],
                                 "when": repr(await ctx.store.get("when", default=None))})
