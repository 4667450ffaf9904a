"""run() starts a thread; run_from forks with edited writes, the way update_state does."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from lg_graphs import joke_builder, thread

from flowpoint import InvalidEdit, WorkflowCheckpointer
from flowpoint.errors import UnsupportedWorkflow


def _thread(graph, thread, **inputs):
    graph.invoke(inputs, {"configurable": {"thread_id": thread}})


async def test_run_starts_a_new_thread(saver):
    graph = joke_builder().compile(checkpointer=saver)
    ckptr = WorkflowCheckpointer(workflow=graph)
    handler = ckptr.run(topic="dogs")
    result = await handler
    assert result["joke"] == "a joke about dogs and cats"
    assert ckptr.get_run(handler.run_id).status == "completed"
    assert len(thread(ckptr, handler.run_id)) == 5
    state = graph.get_state({"configurable": {"thread_id": handler.run_id}})
    assert state.values["rating"] == result["rating"]


async def test_run_from_forks_with_the_edited_writes(saver):
    graph = joke_builder().compile(checkpointer=saver)
    _thread(graph, "t1", topic="x")
    ckptr = WorkflowCheckpointer(workflow=graph)
    joke = ckptr.filter_checkpoints(run_id="t1", last_completed_step="write_joke")[0]
    handler = ckptr.run_from(joke, output_event={"joke": "edited"})
    result = await handler
    assert result == {"topic": "x and cats", "joke": "edited", "rating": len("edited")}
    fork = ckptr.get_run(handler.run_id)
    assert fork.run_id != "t1" and fork.run_id.startswith("t1~")
    assert fork.origin_checkpoint_id == joke.id_
    assert fork.edited["output_event"]["changes"] == {
        "joke": {"before": "a joke about x and cats", "after": "edited"}}
    first, last = thread(ckptr, fork.run_id)
    assert first.parent_id == joke.id_ and first.seq == joke.seq + 1
    assert first.last_completed_step == "write_joke" and first.metadata["source"] == "update"
    assert last.last_completed_step == "rate"
    assert ckptr.get_run("t1").status == "completed"
    assert [c.id_ for c in thread(ckptr, "t1")][-1] != last.id_
    lanes = {r.run_id: r.origin_checkpoint_id for r in ckptr.runs.values()}
    assert lanes == {"t1": None, fork.run_id: joke.id_}


async def test_run_from_with_a_context_is_refused_before_anything_runs(saver):
    graph = joke_builder().compile(checkpointer=saver)
    _thread(graph, "t1", topic="x")
    ckptr = WorkflowCheckpointer(workflow=graph)
    joke = ckptr.filter_checkpoints(run_id="t1", last_completed_step="write_joke")[0]
    with pytest.raises(InvalidEdit, match=r"run_from\(ctx=\.\.\.\) is not available"):
        ckptr.run_from(joke, ctx=object())
    assert list(ckptr.runs) == ["t1"]


async def test_run_from_without_edit_replays_the_following_nodes(saver):
    graph = joke_builder().compile(checkpointer=saver)
    _thread(graph, "t1", topic="x")
    ckptr = WorkflowCheckpointer(workflow=graph)
    topic = ckptr.filter_checkpoints(last_completed_step="generate_topic")[0]
    handler = ckptr.run_from(topic.id_[:-3])
    assert (await handler)["joke"] == "a joke about x and cats"
    fork = ckptr.get_run(handler.run_id)
    assert fork.origin_checkpoint_id == topic.id_ and fork.edited is None
    assert [c.last_completed_step for c in thread(ckptr, fork.run_id)] == [
        "generate_topic", "write_joke", "rate"]


async def test_run_from_the_start_checkpoint_runs_edited_inputs_in_a_new_thread(saver):
    graph = joke_builder().compile(checkpointer=saver)
    _thread(graph, "t1", topic="x")
    ckptr = WorkflowCheckpointer(workflow=graph)
    start = thread(ckptr, "t1")[0]
    handler = ckptr.run_from(start, topic="owls")
    assert (await handler)["joke"] == "a joke about owls and cats"
    run = ckptr.get_run(handler.run_id)
    assert run.origin_checkpoint_id == start.id_
    assert run.edited["output_event"]["changes"]["topic"] == {"before": "x", "after": "owls"}
    again = WorkflowCheckpointer(workflow=joke_builder().compile(checkpointer=saver))
    assert again.get_run(handler.run_id).origin_checkpoint_id == start.id_


def test_edits_of_unknown_state_keys_are_refused_before_anything_runs(saver):
    graph = joke_builder().compile(checkpointer=saver)
    _thread(graph, "t1", topic="x")
    ckptr = WorkflowCheckpointer(workflow=graph)
    joke = thread(ckptr, "t1")[3]
    before = len(list(saver.list(None)))
    with pytest.raises(InvalidEdit, match="no key"):
        ckptr.run_from(joke, output_event={"punchline": "x"})
    with pytest.raises(InvalidEdit, match="input checkpoint"):
        ckptr.run_from(joke, topic="y")
    assert len(list(saver.list(None))) == before


def test_a_saver_that_unpickles_is_explored_but_not_run(sqlite_saver):
    sqlite_saver.serde = JsonPlusSerializer(pickle_fallback=True)
    graph = joke_builder().compile(checkpointer=sqlite_saver)
    _thread(graph, "t1", topic="x")
    ckptr = WorkflowCheckpointer(workflow=graph)
    assert len(thread(ckptr, "t1")) == 5
    with pytest.raises(UnsupportedWorkflow, match="pickle"):
        ckptr.run(topic="y")
    with pytest.raises(UnsupportedWorkflow, match="pickle"):
        ckptr.run_from(thread(ckptr, "t1")[2])


def test_a_graph_without_a_checkpointer_is_refused():
    with pytest.raises(UnsupportedWorkflow, match="checkpointer"):
        WorkflowCheckpointer(workflow=joke_builder().compile())


async def test_run_from_with_state_edits_sets_channel_values(saver):
    graph = joke_builder().compile(checkpointer=saver)
    _thread(graph, "t1", topic="x")
    ckptr = WorkflowCheckpointer(workflow=graph)
    topic = ckptr.filter_checkpoints(run_id="t1", last_completed_step="generate_topic")[0]
    handler = ckptr.run_from(topic, state={"topic": "owls"})
    result = await handler
    assert result["joke"] == "a joke about owls"
    fork = ckptr.get_run(handler.run_id)
    assert fork.origin_checkpoint_id == topic.id_
    assert fork.edited["output_event"]["changes"]["topic"]["after"] == "owls"
