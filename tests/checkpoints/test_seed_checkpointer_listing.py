"""The "Checkpointing Workflow Runs" story, cell by cell, with the counts it prints.

A deterministic fake LLM (``flowpoint.demo``) stands in for OpenAI; the store is a real SQLite file.
"""

from __future__ import annotations

import pytest

from flowpoint import (
    Event,
    MissingFilter,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCheckpointer,
    WorkflowMismatch,
    step,
)
from flowpoint.demo import JokeEvent, JokeFlow


@pytest.fixture
def ckptr(tmp_path):
    return WorkflowCheckpointer(workflow=JokeFlow(), store=f"sqlite:///{tmp_path}/seed.db")


def counts(ckptr: WorkflowCheckpointer) -> list[int]:
    return [len(ckpts) for ckpts in ckptr.checkpoints.values()]


def steps(ckptr: WorkflowCheckpointer) -> list[list[str | None]]:
    return [[c.last_completed_step for c in ckpts] for ckpts in ckptr.checkpoints.values()]


async def test_one_run_of_a_two_step_flow_lists_two_checkpoints(ckptr):
    handler = ckptr.run(topic="chemistry")
    await handler
    assert list(ckptr.checkpoints) == [handler.run_id]
    gen, crit = ckptr.checkpoints[handler.run_id]
    assert gen.last_completed_step == "generate_joke" and type(gen.input_event) is StartEvent
    assert type(gen.output_event) is JokeEvent
    assert crit.last_completed_step == "critique_joke" and crit.input_event == gen.output_event
    assert type(crit.output_event) is StopEvent


async def test_three_runs_list_two_checkpoints_each_and_the_filter_one_per_run(ckptr):
    for topic in ("chemistry", "biology", "history"):
        await ckptr.run(topic=topic)
    assert counts(ckptr) == [2, 2, 2]
    after_generate = ckptr.filter_checkpoints(last_completed_step="generate_joke")
    assert len(after_generate) == 3
    assert [c.input_event.topic for c in after_generate] == ["chemistry", "biology", "history"]
    assert all(type(c.output_event) is JokeEvent for c in after_generate)


async def test_run_from_after_the_first_step_on_a_new_instance_lists_one_checkpoint(ckptr):
    for topic in ("chemistry", "biology", "history"):
        await ckptr.run(topic=topic)
    ckpt = ckptr.filter_checkpoints(last_completed_step="generate_joke")[0]
    ckptr.workflow = JokeFlow()
    handler = ckptr.run_from(checkpoint=ckpt)
    await handler
    assert counts(ckptr) == [2, 2, 2, 1]
    assert steps(ckptr)[-1] == ["critique_joke"]


async def test_disabling_and_enabling_a_step_prints_the_seeds_step_lists(ckptr):
    for topic in ("chemistry", "biology", "history"):
        await ckptr.run(topic=topic)
    ckptr.workflow = JokeFlow()
    await ckptr.run_from(checkpoint=ckptr.filter_checkpoints(last_completed_step="generate_joke")[0])
    assert ckptr.enabled_checkpoints == {"critique_joke", "generate_joke"}
    ckptr.disable_checkpoint(step="critique_joke")
    await ckptr.run(topic="cars")
    ckptr.enable_checkpoint(step="critique_joke")
    await ckptr.run(topic="cars")
    both = ["generate_joke", "critique_joke"]
    assert steps(ckptr) == [both, both, both, ["critique_joke"], ["generate_joke"], both]


async def test_filters_combine_with_and(ckptr):
    for topic in ("chemistry", "biology"):
        await ckptr.run(topic=topic)
    assert len(ckptr.filter_checkpoints(input_event_type=JokeEvent, output_event_type=StopEvent)) == 2
    assert ckptr.filter_checkpoints(last_completed_step="generate_joke",
                                    output_event_type=StopEvent) == []


async def test_filter_checkpoints_with_no_filter_raises_value_error(ckptr):
    await ckptr.run(topic="chemistry")
    with pytest.raises(ValueError, match="at least one filter"):
        ckptr.filter_checkpoints()
    with pytest.raises(MissingFilter):
        ckptr.filter_checkpoints(last_completed_step=None)


async def test_last_completed_step_none_means_no_filter_on_the_step(ckptr):
    h = ckptr.run(topic="chemistry")
    await h
    got = ckptr.filter_checkpoints(run_id=h.run_id, last_completed_step=None)
    assert [c.last_completed_step for c in got] == ["generate_joke", "critique_joke"]


async def test_the_start_checkpoint_is_stored_and_reached_on_purpose(ckptr):
    h = ckptr.run(topic="chemistry")
    await h
    start = ckptr.start_checkpoint(h.run_id)
    assert start.seq == 0 and start.last_completed_step is None and start.input_event is None
    assert start.output_event.topic == "chemistry"
    with_start = ckptr.filter_checkpoints(run_id=h.run_id, include_start=True)
    assert [c.seq for c in with_start] == [0, 1, 2]
    frame = ckptr.to_dataframe(run_id=h.run_id)
    assert list(frame["seq"]) == [0, 1, 2]
    edited = ckptr.run_from(start, topic="physics")
    await edited
    assert ckptr.start_checkpoint(edited.run_id).output_event.topic == "physics"
    assert counts(ckptr) == [2, 2]


async def test_a_resumed_run_has_no_start_checkpoint_and_says_where_it_came_from(ckptr):
    await ckptr.run(topic="chemistry")
    ckpt = ckptr.filter_checkpoints(last_completed_step="generate_joke")[0]
    resumed = ckptr.run_from(ckpt)
    await resumed
    with pytest.raises(KeyError, match=f"resumed from checkpoint {ckpt.id_[:8]}"):
        ckptr.start_checkpoint(resumed.run_id)


class OtherEvent(Event):
    text: str


class OtherFlow(Workflow):
    @step
    async def first(self, ev: StartEvent) -> OtherEvent:
        return OtherEvent(text=ev.topic)

    @step
    async def second(self, ev: OtherEvent) -> StopEvent:
        return StopEvent(result=ev.text)


async def test_a_checkpointer_lists_only_its_own_workflows_runs(tmp_path):
    url = f"sqlite:///{tmp_path}/two.db"
    jokes = WorkflowCheckpointer(workflow=JokeFlow(), store=url)
    others = WorkflowCheckpointer(workflow=OtherFlow(), store=url)
    joke_run = jokes.run(topic="a")
    await joke_run
    other_run = others.run(topic="b")
    await other_run
    assert list(jokes.checkpoints) == [joke_run.run_id]
    assert list(jokes.runs) == [joke_run.run_id]
    assert list(others.runs) == [other_run.run_id]
    assert jokes.filter_checkpoints(run_id=other_run.run_id) == []
    assert set(jokes.to_dataframe()["workflow"]) == {"JokeFlow"}
    assert len(jokes.store.list_runs()) == 2  # the store keeps both
    assert len(jokes.to_dataframe(workflow=["JokeFlow", "OtherFlow"])) == 6


async def test_run_from_another_workflows_checkpoint_fails_at_the_call_naming_both(tmp_path):
    url = f"sqlite:///{tmp_path}/two.db"
    jokes = WorkflowCheckpointer(workflow=JokeFlow(), store=url)
    others = WorkflowCheckpointer(workflow=OtherFlow(), store=url)
    await others.run(topic="b")
    ckpt = others.filter_checkpoints(last_completed_step="first")[0]
    with pytest.raises(WorkflowMismatch, match="'OtherFlow'.*'JokeFlow'"):
        jokes.run_from(ckpt)
    assert len(jokes.store.list_runs()) == 1
