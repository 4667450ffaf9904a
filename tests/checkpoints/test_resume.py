"""run_from in the hard cases: fan-out in flight, collect buffers, human input, failures."""

from __future__ import annotations

import asyncio

import pytest
from resume_flows import SQUARES, FanFlow, Item, resume_from_each

from flowpoint import (
    Context,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCheckpointer,
    step,
)
from flowpoint.demo import ReviewFlow


@pytest.fixture
def store(tmp_path):
    return f"sqlite:///{tmp_path}/r.db"


async def test_resume_from_every_checkpoint_of_a_fan_out_gives_the_same_result(store):
    ckptr = WorkflowCheckpointer(FanFlow(), store=store)
    h = ckptr.run()
    assert await h == SQUARES
    ckpts = [ckptr.start_checkpoint(h.run_id), *ckptr.checkpoints[h.run_id]]
    assert any(c.ctx_state["queues"] or c.ctx_state["in_progress"] for c in ckpts[1:-1])
    assert any(c.ctx_state["collect_buffers"] for c in ckpts)
    await resume_from_each(ckptr, h.run_id)


async def test_resume_from_a_prompt_checkpoint_puts_the_prompt_on_the_stream_again(store):
    ckptr = WorkflowCheckpointer(ReviewFlow(), store=store)
    h = ckptr.run(topic="dogs")
    async for ev in h.stream_events():
        if isinstance(ev, InputRequiredEvent):
            assert ckptr.runs[h.run_id].status == "waiting"
            h.ctx.send_event(HumanResponseEvent(response="no"))
    assert (await h).startswith("rejected")
    prompt_ckpt = ckptr.filter_checkpoints(output_event_type=InputRequiredEvent)[0]

    ckptr.workflow = ReviewFlow()
    resumed = ckptr.run_from(prompt_ckpt)
    seen = []

    async def answer():
        async for ev in resumed.stream_events():
            if isinstance(ev, InputRequiredEvent):
                seen.append(ev.prefix)
                ckptr.respond(resumed.run_id, "yes")

    await asyncio.wait_for(answer(), 5)
    assert seen == [prompt_ckpt.output_event.prefix]
    assert (await resumed).startswith("published")


FIXED = {"ok": False}


class Fragile(Workflow):
    @step
    async def fetch(self, ev: StartEvent, ctx: Context) -> Item:
        await ctx.store.set("fetched", True)
        return Item(n=ev.n)

    @step
    async def compute(self, ev: Item) -> StopEvent:
        if not FIXED["ok"]:
            raise ZeroDivisionError("division by zero in compute")
        return StopEvent(result=ev.n * 2)


async def test_failed_run_keeps_checkpoints_and_resumes_after_the_fix(store):
    FIXED["ok"] = False
    ckptr = WorkflowCheckpointer(Fragile(), store=store)
    h = ckptr.run(n=21)
    with pytest.raises(ZeroDivisionError):
        await h
    run = ckptr.runs[h.run_id]
    assert run.status == "failed" and run.ended_at is not None
    assert run.error["type"] == "ZeroDivisionError"
    assert "division by zero in compute" in run.error["message"]
    assert "Traceback" in run.error["traceback"]
    last = ckptr.last_checkpoint(h.run_id)
    assert last.last_completed_step == "fetch"
    FIXED["ok"] = True
    ckptr.workflow = Fragile()
    resumed = ckptr.run_from(last)
    assert await resumed == 42
    assert ckptr.runs[resumed.run_id].status == "completed"


async def test_cancelled_run_is_marked_cancelled(store):
    class Slow(Workflow):
        @step
        async def go(self, ev: StartEvent) -> StopEvent:
            await asyncio.sleep(10)
            return StopEvent()

    ckptr = WorkflowCheckpointer(Slow(), store=store)
    h = ckptr.run()
    await asyncio.sleep(0.02)
    await h.cancel_run()
    assert ckptr.runs[h.run_id].status == "cancelled"
    assert h.run_id not in ckptr.checkpoints  # no step completed
    assert ckptr.start_checkpoint(h.run_id).output_event is not None
