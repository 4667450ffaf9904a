"""A checkpoint that cannot be taken fails its 2.x run loudly: the error reaches ``await``, the
event stream ends with a WorkflowFailedEvent instead of waiting forever, and the run's record
says failed with the checkpoints taken before."""

from __future__ import annotations

import asyncio

import pytest
from workflows import Context, Workflow, step
from workflows.events import Event, StartEvent, StopEvent, WorkflowFailedEvent

from flowpoint import WorkflowCheckpointer
from flowpoint.errors import SerializationError


class Next(Event):
    n: int


class SetFlow(Workflow):
    """The second step leaves a set in ctx.store, which JSON cannot hold."""

    @step
    async def first(self, ctx: Context, ev: StartEvent) -> Next:
        await ctx.store.set("fine", [1, 2])
        return Next(n=1)

    @step
    async def second(self, ctx: Context, ev: Next) -> StopEvent:
        await ctx.store.set("bad", {1, 2})
        return StopEvent(result="never checkpointed")


@pytest.mark.parametrize("stream", [True, False])
async def test_an_unstorable_state_fails_the_run_and_ends_its_stream(tmp_path, stream):
    ckptr = WorkflowCheckpointer(workflow=SetFlow(timeout=30),
                                 store=f"sqlite:///{tmp_path}/ckpts.db")
    handler = ckptr.run()
    seen = []

    async def follow():
        if stream:
            async for ev in handler.stream_events():
                seen.append(ev)
        return await handler

    with pytest.raises(SerializationError, match=r"ctx\.store\['bad'\]"):
        await asyncio.wait_for(follow(), 20)
    if stream:
        assert isinstance(seen[-1], WorkflowFailedEvent)
        assert isinstance(seen[-1].exception, SerializationError)
    run = ckptr.runs[handler.run_id]
    assert run.status == "failed"
    assert [c.last_completed_step for c in ckptr.checkpoints[handler.run_id]] == ["first"]
