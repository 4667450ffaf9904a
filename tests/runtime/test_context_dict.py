"""``ctx.to_dict()`` / ``Context.from_dict()``: a run waiting for a human is dropped and continued
later, in this process or another one; serializers and their errors."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hitl_flows import ReviewFlow

from flowpoint import (
    Context,
    ContextSerdeError,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    JsonPickleSerializer,
    JsonSerializer,
    PickleSerializer,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCheckpointer,
    step,
)

HERE = Path(__file__).parent


async def _dict_while_waiting(wf: ReviewFlow, **kw) -> dict:  # type: ignore[no-untyped-def]
    handler = wf.run(topic="otters")
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            data = handler.ctx.to_dict(**kw)
            await handler.cancel_run()
            return data
    raise AssertionError("the run never asked for input")


async def test_a_waiting_run_continues_from_its_dict_in_this_process():
    wf = ReviewFlow()
    data = await _dict_while_waiting(wf)
    json.dumps(data)  # plain JSON
    handler = wf.run(ctx=Context.from_dict(wf, data))
    handler.ctx.send_event(HumanResponseEvent(response="yes"))
    assert await handler == {"draft": "draft about otters", "answer": "yes", "writes": 1}


async def test_a_waiting_run_continues_from_its_dict_in_another_process(tmp_path):
    data = await _dict_while_waiting(ReviewFlow(), serializer=JsonSerializer())
    path = tmp_path / "ctx.json"
    path.write_text(json.dumps(data))
    env = {**os.environ, "PYTHONPATH": str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = ("import asyncio, sys, hitl_flows; "
            "asyncio.run(hitl_flows.continue_from(sys.argv[1], sys.argv[2]))")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, str(path), "approved", env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode == 0, err.decode()
    got = json.loads(out.decode().strip().splitlines()[-1])
    assert got["prompts"] == ["approve 'draft about otters'?"]  # the prompt is shown again
    assert got["result"] == {"draft": "draft about otters", "answer": "approved", "writes": 1}


async def test_a_finished_context_runs_again_with_its_store():
    wf = ReviewFlow()
    handler = wf.run(topic="a")
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            handler.ctx.send_event(HumanResponseEvent(response="ok"))
    await handler
    ctx = Context.from_dict(wf, handler.ctx.to_dict())
    again = wf.run(ctx=ctx, topic="b")
    async for ev in again.stream_events():
        if isinstance(ev, InputRequiredEvent):
            again.ctx.send_event(HumanResponseEvent(response="ok"))
    assert (await again)["writes"] == 2


def fn() -> None:
    pass


async def test_json_refuses_a_value_it_cannot_hold_and_pickle_takes_it():
    class Holder(Workflow):
        @step
        async def go(self, ctx: Context, ev: StartEvent) -> StopEvent:
            await ctx.store.set("count", await ctx.store.get("count", default=0) + 1)
            await ctx.store.set("fn", fn)
            return StopEvent(result="done")

    wf = Holder()
    handler = wf.run()
    await handler
    with pytest.raises(ValueError, match="key 'fn'"):
        handler.ctx.to_dict()
    data = handler.ctx.to_dict(serializer=PickleSerializer())
    ctx = Context.from_dict(wf, data, serializer=JsonPickleSerializer())
    assert await ctx.store.get("fn") is fn
    with pytest.raises(ContextSerdeError, match="PickleSerializer"):
        Context.from_dict(wf, data)  # the JSON serializer never unpickles
    again = wf.run(ctx=ctx)
    await again
    assert await again.ctx.store.get("count") == 2


def test_a_payload_of_the_wrong_shape_is_a_context_serde_error():
    old = {"globals": {}, "streaming_queue": "[]", "queues": {}, "stepwise": False,
           "events_buffer": {}, "in_progress": {}, "accepted_events": [], "broker_log": [],
           "is_running": False}
    with pytest.raises(ContextSerdeError, match="wrong or old format"):
        Context.from_dict(ReviewFlow(), old)
    assert issubclass(ContextSerdeError, ValueError)


def test_an_empty_context_round_trips():
    wf = ReviewFlow()
    ctx = Context.from_dict(wf, Context(wf).to_dict())
    assert isinstance(ctx, Context) and ctx._resume is None


class Unloaded(Event):
    pass


def test_an_event_type_that_is_not_loaded_is_refused_not_imported():
    wf = ReviewFlow()
    data = Context(wf).to_dict()
    ev = json.loads(JsonSerializer().serialize(Unloaded()))
    ev["__event__"] = "fp_not_a_module.Nope"
    data["broker_log"] = [json.dumps(ev)]
    with pytest.raises(ContextSerdeError, match="fp_not_a_module.Nope"):
        Context.from_dict(wf, data)
    assert "fp_not_a_module" not in sys.modules


def test_the_checkpointer_accepts_a_checkpoint_serializer():
    ckptr = WorkflowCheckpointer(workflow=ReviewFlow(), store="memory",
                                 checkpoint_serializer=JsonSerializer())
    assert ckptr.codec.name == "json"
    pickled = WorkflowCheckpointer(workflow=ReviewFlow(), store="memory",
                                   checkpoint_serializer=PickleSerializer())
    assert pickled.codec.name == "pickle"
