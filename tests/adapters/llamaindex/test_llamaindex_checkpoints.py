"""Runs of real llama-index-workflows 2.x workflows take flowpoint checkpoints, unchanged."""

from __future__ import annotations

import pytest
from li_flows import RAN, JokeEvent, JokeFlow, Tally, TypedFlow
from workflows.events import StartEvent, StopEvent

from flowpoint import FlowpointError, StepNotInWorkflow, WorkflowCheckpointer
from flowpoint.adapters.llamaindex import LlamaIndexDriver


@pytest.fixture
def ckptr(tmp_path):
    return WorkflowCheckpointer(workflow=JokeFlow(), store=f"sqlite:///{tmp_path}/c.db")


async def test_one_checkpoint_per_completed_step_with_the_real_events_and_state(ckptr):
    handler = ckptr.run(topic="chemistry")
    assert await handler == "critique of 'a joke about chemistry' (chemistry)"
    steps = [c for c in ckptr.checkpoints[handler.run_id] if not c.is_start]
    assert [c.last_completed_step for c in steps] == ["generate_joke", "critique_joke"]
    gen, crit = steps
    assert type(gen.input_event) is StartEvent and gen.input_event.topic == "chemistry"
    assert type(gen.output_event) is JokeEvent
    assert gen.output_event.joke == "a joke about chemistry"
    assert type(crit.output_event) is StopEvent
    assert crit.output_event.result == "critique of 'a joke about chemistry' (chemistry)"
    assert gen.user_state == {"topic": "chemistry"}
    assert gen.output_type == "li_flows.JokeEvent"
    assert gen.step_duration_s is not None and gen.step_duration_s >= 0
    assert gen.seq < crit.seq and crit.parent_id == gen.id_


@pytest.mark.parametrize("store", ["sqlite", "memory", "pickle"])
async def test_the_start_checkpoint_holds_an_empty_state(tmp_path, store):
    url = "memory" if store == "memory" else f"sqlite:///{tmp_path}/c.db"
    ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store=url,
                                 serializer="pickle" if store == "pickle" else "json")
    handler = ckptr.run(topic="t")
    await handler
    start = ckptr.get(next(c for c in ckptr.filter_checkpoints(run_id=handler.run_id,
                                                               include_start=True)
                           if c.is_start).id_)
    assert start.seq == 0 and start.output_event.topic == "t"
    assert start.ctx_state == {"store": {}, "queues": {}, "in_progress": {},
                               "collect_buffers": {}, "waiters": [], "pending_input": None,
                               "is_running": False}


async def test_runs_statuses_and_the_stored_workflow_name(ckptr):
    handler = ckptr.run(topic="x")
    await handler
    run = ckptr.get_run(handler.run_id)
    assert (run.workflow, run.status) == ("JokeFlow", "completed")
    assert ckptr.result_of(handler.run_id) == "critique of 'a joke about x' (x)"


async def test_a_failing_step_marks_the_run_failed_and_keeps_earlier_checkpoints(tmp_path):
    from workflows import Context, Workflow, step

    class Boom(Workflow):
        @step
        async def fine(self, ctx: Context, ev: StartEvent) -> JokeEvent:
            return JokeEvent(joke="ok")

        @step
        async def broken(self, ev: JokeEvent) -> StopEvent:
            raise ValueError("the model said no")

    ckptr = WorkflowCheckpointer(workflow=Boom(), store="memory")
    handler = ckptr.run()
    with pytest.raises(ValueError, match="the model said no"):
        await handler
    run = ckptr.get_run(handler.run_id)
    assert run.status == "failed" and "the model said no" in run.error["message"]
    assert [c.last_completed_step for c in ckptr.filter_checkpoints(run_id=handler.run_id)
            if not c.is_start] == ["fine"]


async def test_checkpoint_is_committed_before_the_output_event_is_dispatched(tmp_path):
    from workflows import Context, Workflow, step

    seen: list[list[str]] = []
    holder: dict[str, WorkflowCheckpointer] = {}

    class Peek(Workflow):
        @step
        async def first(self, ev: StartEvent) -> JokeEvent:
            return JokeEvent(joke="j")

        @step
        async def second(self, ctx: Context, ev: JokeEvent) -> StopEvent:
            run_id = next(iter(holder["c"].runs))
            seen.append([c.last_completed_step for c in
                         holder["c"].filter_checkpoints(run_id=run_id)])
            return StopEvent(result="done")

    holder["c"] = WorkflowCheckpointer(workflow=Peek(), store=f"sqlite:///{tmp_path}/p.db")
    await holder["c"].run()
    assert seen == [["first"]]  # step checkpoints, as LlamaIndex lists them


async def test_typed_pydantic_state_is_stored_field_by_field():
    ckptr = WorkflowCheckpointer(workflow=TypedFlow(), store="memory")
    handler = ckptr.run(label="L")
    assert await handler == "L:11:step 1"
    by_step = {c.last_completed_step: c for c in ckptr.filter_checkpoints(run_id=handler.run_id)}
    assert by_step["one"].user_state == Tally(count=1, label="L").model_dump()
    assert by_step["two"].user_state == {"count": 11, "label": "L"}


async def test_filters_table_and_prune_work_as_for_flowpoint_runs(ckptr):
    for topic in ("a", "b"):
        await ckptr.run(topic=topic)
    assert len(ckptr.filter_checkpoints(output_event_type=JokeEvent)) == 2
    assert len(ckptr.filter_checkpoints(last_completed_step="critique_joke")) == 2
    assert len(ckptr.filter_checkpoints(input_event_type="JokeEvent")) == 2
    frame = ckptr.to_dataframe(last_completed_step="generate_joke")
    assert list(frame["workflow"]) == ["JokeFlow", "JokeFlow"]
    assert ckptr.prune(keep_last=1) == 2
    left = [c.last_completed_step for cs in ckptr.checkpoints.values() for c in cs]
    assert left == ["critique_joke", "critique_joke"]


def test_checkpoint_steps_are_the_workflows_step_names():
    ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store="memory",
                                 checkpoint_steps=["critique_joke"])
    assert ckptr.enabled_checkpoints == {"critique_joke"}
    with pytest.raises(StepNotInWorkflow, match="JokeFlow has no step 'nope'.*critique_joke"):
        ckptr.enable_checkpoint("nope")


async def test_disabled_steps_take_no_checkpoint():
    ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store="memory",
                                 checkpoint_steps=["critique_joke"])
    handler = ckptr.run(topic="t")
    await handler
    assert [c.last_completed_step for c in ckptr.filter_checkpoints(run_id=handler.run_id)
            if not c.is_start] == ["critique_joke"]


async def test_disabled_steps_leave_a_2x_step_out():
    ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store="memory",
                                 disabled_steps=["generate_joke"])
    handler = ckptr.run(topic="t")
    await handler
    assert [c.last_completed_step for c in ckptr.checkpoints[handler.run_id]] == [
        "critique_joke"]
    with pytest.raises(StepNotInWorkflow, match="JokeFlow has no step 'nope'"):
        WorkflowCheckpointer(workflow=JokeFlow(), store="memory", disabled_steps=["nope"])


def test_the_driver_is_chosen_by_the_workflow_class():
    ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store="memory")
    assert isinstance(ckptr._driver, LlamaIndexDriver)
    assert ckptr.workflow.__class__ is JokeFlow


async def test_run_with_a_context_is_refused_clearly():
    ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store="memory")
    with pytest.raises(FlowpointError, match="run_from"):
        ckptr.run(ctx=object(), topic="x")
    assert RAN == []


async def test_a_workflow_instance_that_already_ran_can_be_wrapped():
    flow = JokeFlow()
    assert await flow.run(topic="plain") == "critique of 'a joke about plain' (plain)"
    ckptr = WorkflowCheckpointer(workflow=flow, store="memory")
    handler = ckptr.run(topic="wrapped")
    await handler
    assert len(ckptr.checkpoints[handler.run_id]) >= 2
