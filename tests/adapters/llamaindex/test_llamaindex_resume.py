"""run_from on 2.x runs: only later steps run, with edits, prompts and fan-out intact."""

from __future__ import annotations

import asyncio

import pytest
from li_flows import (
    FAIL_ONCE,
    PROCESSED,
    RAN,
    SLOW_ONCE,
    AskFlow,
    FanFlow,
    JokeEvent,
    JokeFlow,
    TypedFlow,
    WaitingFlow,
    answer_prompts,
)
from workflows.events import InputRequiredEvent

from flowpoint import InvalidEdit, WorkflowCheckpointer


def step_ckpt(ckptr, run_id, step):
    return next(c for c in ckptr.filter_checkpoints(run_id=run_id)
                if c.last_completed_step == step)


@pytest.fixture
async def joke_run(tmp_path):
    ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store=f"sqlite:///{tmp_path}/j.db")
    handler = ckptr.run(topic="chemistry")
    await handler
    RAN.clear()
    return ckptr, handler.run_id


async def test_a_new_instance_resumes_with_an_edited_output_only_later_steps_run(joke_run):
    ckptr, run_id = joke_run
    ckpt = step_ckpt(ckptr, run_id, "generate_joke")
    ckptr.workflow = JokeFlow()
    handler = ckptr.run_from(checkpoint=ckpt, output_event=JokeEvent(joke="edited"))
    assert await handler == "critique of 'edited' (chemistry)"
    assert RAN == ["critique_joke"]
    run = ckptr.get_run(handler.run_id)
    assert run.origin_checkpoint_id == ckpt.id_ and run.status == "completed"
    assert run.edited["output_event"]["changes"] == {
        "joke": {"before": "a joke about chemistry", "after": "edited"}}
    new = [c for c in ckptr.checkpoints[handler.run_id] if not c.is_start]
    assert [c.last_completed_step for c in new] == ["critique_joke"]
    assert new[0].seq == ckpt.seq + 1 and new[0].parent_id == ckpt.id_
    assert new[0].input_event.joke == "edited"


async def test_resume_unedited_and_with_a_dict_edit(joke_run):
    ckptr, run_id = joke_run
    ckpt = step_ckpt(ckptr, run_id, "generate_joke")
    assert await ckptr.run_from(ckpt) == "critique of 'a joke about chemistry' (chemistry)"
    assert await ckptr.run_from(ckpt.id_[:8], output_event={"joke": "dict"}) == \
        "critique of 'dict' (chemistry)"
    assert RAN == ["critique_joke", "critique_joke"]


async def test_a_resumed_run_can_be_resumed_again(joke_run):
    ckptr, run_id = joke_run
    first = ckptr.run_from(step_ckpt(ckptr, run_id, "generate_joke"),
                           output_event={"joke": "one"})
    await first
    again = step_ckpt(ckptr, first.run_id, "critique_joke")
    assert again.output_event.result == "critique of 'one' (chemistry)"
    with pytest.raises(InvalidEdit, match="StopEvent.*earlier checkpoint"):
        ckptr.run_from(again)


async def test_edits_are_validated_before_anything_runs(joke_run):
    ckptr, run_id = joke_run
    ckpt = step_ckpt(ckptr, run_id, "generate_joke")
    with pytest.raises(InvalidEdit, match="no field.*'jokes'"):
        ckptr.run_from(ckpt, output_event={"jokes": "typo"})
    with pytest.raises(InvalidEdit, match="JokeEvent is invalid"):
        ckptr.run_from(ckpt, output_event={"joke": ["not", "a", "string"]})
    with pytest.raises(InvalidEdit, match="InputRequiredEvent.*JokeEvent"):
        ckptr.run_from(ckpt, output_event=InputRequiredEvent(prefix="?"))
    assert RAN == []
    assert len(ckptr.runs) == 1


async def test_a_stop_event_checkpoint_is_refused_with_a_clear_message(joke_run):
    ckptr, run_id = joke_run
    with pytest.raises(InvalidEdit, match="critique_joke.*returned a StopEvent.*earlier"):
        ckptr.run_from(step_ckpt(ckptr, run_id, "critique_joke"))
    assert RAN == [] and len(ckptr.runs) == 1


async def test_edited_dict_state(joke_run):
    ckptr, run_id = joke_run
    handler = ckptr.run_from(step_ckpt(ckptr, run_id, "generate_joke"),
                             state={"topic": "physics"})
    assert await handler == "critique of 'a joke about chemistry' (physics)"
    assert ckptr.get_run(handler.run_id).edited["state"] == {
        "changes": {"topic": {"before": "chemistry", "after": "physics"}}}
    assert step_ckpt(ckptr, handler.run_id, "critique_joke").user_state == {"topic": "physics"}


async def test_the_start_checkpoint_reruns_with_new_inputs(joke_run):
    ckptr, run_id = joke_run
    start = next(c for c in ckptr.filter_checkpoints(run_id=run_id, include_start=True)
                 if c.is_start) if _has_include_start(ckptr) else \
        next(c for c in ckptr.filter_checkpoints(run_id=run_id) if c.is_start)
    assert await ckptr.run_from(start, topic="biology") == \
        "critique of 'a joke about biology' (biology)"
    assert RAN == ["generate_joke", "critique_joke"]


def _has_include_start(ckptr) -> bool:
    import inspect

    return "include_start" in inspect.signature(ckptr.query).parameters


async def test_typed_state_edit_is_validated_by_its_model():
    ckptr = WorkflowCheckpointer(workflow=TypedFlow(), store="memory")
    handler = ckptr.run(label="L")
    await handler
    ckpt = step_ckpt(ckptr, handler.run_id, "one")
    RAN.clear()
    with pytest.raises(InvalidEdit, match="not a valid Tally"):
        ckptr.run_from(ckpt, state={"count": "many"})
    with pytest.raises(InvalidEdit, match="no field.*'colour'"):
        ckptr.run_from(ckpt, state={"colour": "red"})
    resumed = ckptr.run_from(ckpt, state={"count": 100})
    assert await resumed == "L:110:step 1"
    assert RAN == ["two", "three"]


async def test_a_returned_prompt_reaches_the_stream_again_and_an_answer_completes():
    ckptr = WorkflowCheckpointer(workflow=AskFlow(), store="memory")
    handler = ckptr.run()
    assert await answer_prompts(handler, "ann") == (1, "hello ann")
    ask = step_ckpt(ckptr, handler.run_id, "ask")
    assert type(ask.output_event) is InputRequiredEvent
    RAN.clear()
    resumed = ckptr.run_from(ask)
    assert await asyncio.wait_for(answer_prompts(resumed, "bob"), 10) == (1, "hello bob")
    assert RAN == ["greet"]


async def test_a_pending_waiter_is_in_the_checkpoint_and_is_asked_again_on_resume():
    ckptr = WorkflowCheckpointer(workflow=WaitingFlow(), store="memory")
    handler = ckptr.run()
    seen = 0
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            seen += 1
            await asyncio.sleep(0.2)  # "side" completes while the prompt is open
            handler.ctx.send_event(__import__("workflows.events").events.HumanResponseEvent(
                response="first"))
    assert (seen, await handler) == (1, "7:first")
    side = step_ckpt(ckptr, handler.run_id, "side")
    assert side.ctx_state["pending_input"]["data"] == {"prefix": "ok?"}
    assert side.ctx_state["waiters"][0]["step"] == "confirm"
    assert side.ctx_state["waiters"][0]["waiting_for"] == "workflows.events.HumanResponseEvent"
    RAN.clear()
    resumed = ckptr.run_from(side)
    assert await asyncio.wait_for(answer_prompts(resumed, "second"), 10) == (1, "7:second")
    assert "side" not in RAN and "begin" not in RAN


async def test_fan_out_resumed_mid_way_processes_each_item_exactly_once():
    FAIL_ONCE.add(4)
    SLOW_ONCE.add(5)  # in flight when item 4 fails the run: run_from must re-run it
    ckptr = WorkflowCheckpointer(workflow=FanFlow(timeout=30), store="memory")
    handler = ckptr.run(count=8)
    with pytest.raises(RuntimeError, match="item 4 failed"):
        await handler
    assert ckptr.get_run(handler.run_id).status == "failed"
    done_before = dict(PROCESSED)
    assert 0 < len(done_before) < 8
    last = ckptr.last_checkpoint(handler.run_id)
    assert last.ctx_state["collect_buffers"].get("gather") or last.last_completed_step == "work"
    resumed = ckptr.run_from(last)
    assert await asyncio.wait_for(resumed, 20) == [n * n for n in range(8)]
    assert PROCESSED == {n: 1 for n in range(8)}  # across both runs
    assert "split" not in RAN[1:]


async def test_resume_after_a_step_that_returned_nothing_delivers_what_it_sent():
    ckptr = WorkflowCheckpointer(workflow=FanFlow(timeout=30), store="memory")
    handler = ckptr.run(count=4)
    assert await handler == [0, 1, 4, 9]
    split = step_ckpt(ckptr, handler.run_id, "split")
    assert split.output_event is None
    with pytest.raises(InvalidEdit, match="returned no event"):
        ckptr.run_from(split, output_event={"n": 1})
    PROCESSED.clear()
    RAN.clear()
    assert await asyncio.wait_for(ckptr.run_from(split), 20) == [0, 1, 4, 9]
    assert PROCESSED == {n: 1 for n in range(4)} and "split" not in RAN
