"""Reading a LangGraph saver as flowpoint runs: threads, checkpoints, steps, writes and state."""

from __future__ import annotations

import pytest
from lg_graphs import failing_builder, joke_builder, thread

from flowpoint import CheckpointNotFound, StoreError, WorkflowCheckpointer, diff
from flowpoint.adapters.langgraph import GraphInput, LangGraphStore, NodeWrites
from flowpoint.storage import CheckpointQuery


def _invoke(graph, thread, **inputs):
    return graph.invoke(inputs, {"configurable": {"thread_id": thread}})


def test_threads_are_runs_and_checkpoints_follow_parent_links(saver):
    graph = joke_builder().compile(checkpointer=saver)
    _invoke(graph, "t1", topic="x")
    _invoke(graph, "t2", topic="y")
    ckptr = WorkflowCheckpointer(workflow=graph)
    assert list(ckptr.runs) == ["t1", "t2"]
    ckpts = thread(ckptr, "t1")
    assert [c.seq for c in ckpts] == [0, 1, 2, 3, 4]
    assert [c.last_completed_step for c in ckpts] == [
        None, "__start__", "generate_topic", "write_joke", "rate"]
    assert ckpts[0].parent_id is None
    assert all(b.parent_id == a.id_ for a, b in zip(ckpts, ckpts[1:], strict=False))
    history = [t.config["configurable"]["checkpoint_id"]
               for t in saver.list({"configurable": {"thread_id": "t1"}})]
    assert [c.id_ for c in ckpts] == history[::-1]


def test_writes_are_the_output_and_channel_values_the_state(saver):
    graph = joke_builder().compile(checkpointer=saver)
    _invoke(graph, "t1", topic="x")
    ckpts = thread(WorkflowCheckpointer(workflow=graph), "t1")
    start, joke = ckpts[0], ckpts[3]
    assert isinstance(start.output_event, GraphInput) and start.output_event.get("topic") == "x"
    assert start.is_start
    assert isinstance(joke.output_event, NodeWrites)
    assert joke.output_event.get("joke") == "a joke about x and cats"
    assert joke.ctx_state["store"] == {"topic": "x and cats", "joke": "a joke about x and cats"}
    assert joke.ctx_state["next"] == ["rate"]
    assert joke.metadata["source"] == "loop"


def test_completed_and_failed_threads_have_their_status_and_error(saver):
    _invoke(joke_builder().compile(checkpointer=saver), "ok", topic="x")
    bad = failing_builder().compile(checkpointer=saver)
    with pytest.raises(ValueError):
        _invoke(bad, "bad", topic="x")
    runs = WorkflowCheckpointer(workflow=bad).runs
    assert runs["ok"].status == "completed"
    assert runs["ok"].result["rating"] == len("a joke about x and cats")
    assert runs["bad"].status == "failed"
    assert "no joke about x and cats" in runs["bad"].error["message"]


def test_table_filters_and_lookup_work_as_on_flowpoint_runs(saver):
    graph = joke_builder().compile(checkpointer=saver)
    _invoke(graph, "t1", topic="x")
    _invoke(graph, "t2", topic="y")
    ckptr = WorkflowCheckpointer(workflow=graph)
    df = ckptr.to_dataframe()
    assert len(df) == 10
    assert set(df["run_id"]) == {"t1", "t2"}
    assert list(df[df.run_id == "t1"]["step"].fillna("(start)")) == [
        "(start)", "__start__", "generate_topic", "write_joke", "rate"]
    assert (df["status"] == "completed").all()
    assert len(ckptr.filter_checkpoints(last_completed_step="write_joke")) == 2
    assert len(ckptr.filter_checkpoints(run_id="t2", output_event_type="NodeWrites")) == 4
    assert len(ckptr.filter_checkpoints(output_event_type=GraphInput, include_start=True)) == 2
    found = ckptr.filter_checkpoints(text="y and cats")
    assert found and {c.run_id for c in found} == {"t2"}
    page = ckptr.store.list_checkpoints(limit=3, offset=4)
    assert [(r.run_id, r.seq) for r in page] == [("t1", 4), ("t2", 0), ("t2", 1)]
    one = thread(ckptr, "t2")[2]
    assert ckptr.get(one.id_[:-4]).id_ == one.id_
    with pytest.raises(CheckpointNotFound):
        ckptr.get("no-such-id")


def test_diff_shows_what_a_node_wrote(saver):
    graph = joke_builder().compile(checkpointer=saver)
    _invoke(graph, "t1", topic="x")
    ckpts = thread(WorkflowCheckpointer(workflow=graph), "t1")
    changes = {c.path: c for c in diff(ckpts[2], ckpts[3])}
    assert changes["ctx_state.store.joke"].kind == "added"
    assert changes["ctx_state.store.joke"].after == "a joke about x and cats"


def test_store_is_read_only_and_sees_new_checkpoints(saver):
    graph = joke_builder().compile(checkpointer=saver)
    _invoke(graph, "t1", topic="x")
    store = LangGraphStore(saver, graph)
    assert store.count_checkpoints() == 5
    _invoke(graph, "t2", topic="y")
    assert store.count_checkpoints() == 10
    with pytest.raises(StoreError, match="read-only"):
        store.delete_runs(["t1"])
    with pytest.raises(StoreError, match="read-only"):
        store.put_checkpoint(store.get_checkpoint(store.list_checkpoints()[0].id))
    assert store.storage_report()["threads"] == 2


def test_later_reads_pick_up_new_turns_answers_and_deleted_threads(saver):
    from langgraph.types import Command
    from lg_graphs import review_builder

    jokes = joke_builder().compile(checkpointer=saver)
    reviews = review_builder().compile(checkpointer=saver)
    _invoke(jokes, "t1", topic="x")
    reviews.invoke({"draft": "essay"}, {"configurable": {"thread_id": "r1"}})
    ckptr = WorkflowCheckpointer(workflow=jokes)
    assert ckptr.get_run("r1").status == "waiting"
    assert len(thread(ckptr, "t1")) == 5
    _invoke(jokes, "t1", topic="y")  # a second turn on the same thread
    turn = thread(ckptr, "t1")
    assert len(turn) == 10 and turn[5].is_start and turn[5].parent_id == turn[4].id_
    reviews.invoke(Command(resume="fine"), {"configurable": {"thread_id": "r1"}})
    assert ckptr.get_run("r1").status == "completed"
    assert ckptr.get_run("r1").result["verdict"] == "fine"
    saver.delete_thread("t1")
    ckptr.store.invalidate(full=True)
    assert list(ckptr.runs) == ["r1"]


def test_listings_sort_by_table_columns(saver):
    graph = joke_builder().compile(checkpointer=saver)
    _invoke(graph, "t1", topic="x")
    _invoke(graph, "t2", topic="y")
    store = WorkflowCheckpointer(workflow=graph).store
    by_step = store.list_checkpoints(CheckpointQuery(sort="step"))
    steps = [r.step for r in by_step]
    assert steps[:2] == [None, None] and steps[2:] == sorted(steps[2:])
    newest = store.list_checkpoints(CheckpointQuery(sort="created_at", descending=True), limit=1)
    assert newest[0].run_id == "t2" and newest[0].seq == 4
    with pytest.raises(ValueError, match="cannot sort"):
        store.list_checkpoints(CheckpointQuery(sort="nonsense"))


def test_magics_work_on_a_langgraph_checkpointer(saver):
    from IPython.core.interactiveshell import InteractiveShell

    graph = joke_builder().compile(checkpointer=saver)
    _invoke(graph, "t1", topic="x")
    ckptr = WorkflowCheckpointer(workflow=graph)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "flowpoint")
    try:
        ip.user_ns["lg"] = ckptr
        table = ip.run_line_magic("checkpoints", "lg --step write_joke")
        assert list(table["run_id"]) == ["t1"] and list(table["step"]) == ["write_joke"]
        assert list(ip.run_line_magic("runs", "lg")["status"]) == ["completed"]
        a, b = thread(ckptr, "t1")[2:4]
        changes = ip.run_line_magic("ckpt_diff", f"{a.id_} {b.id_} --ckptr lg")
        assert "ctx_state.store.joke" in changes.paths("added")
    finally:
        ip.run_line_magic("unload_ext", "flowpoint")
        ip.reset(new_session=False)


def test_a_store_given_beside_a_graph_is_refused_naming_the_saver(saver, tmp_path):
    graph = joke_builder().compile(checkpointer=saver)
    with pytest.raises(StoreError, match="store= cannot be used with .*leave store= out"):
        WorkflowCheckpointer(workflow=graph, store=f"sqlite:///{tmp_path / 'other.db'}")
    assert not (tmp_path / "other.db").exists()
    ckptr = WorkflowCheckpointer(workflow=graph)
    assert WorkflowCheckpointer(workflow=graph, store=ckptr.store).store is ckptr.store
