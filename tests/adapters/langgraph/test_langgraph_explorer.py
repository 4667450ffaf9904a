"""The explorer over a LangGraph thread: lanes, fork links, diff, and Resume with edit."""

from __future__ import annotations

import asyncio

from lg_graphs import joke_builder

from flowpoint import WorkflowCheckpointer


async def _until(predicate, timeout=10.0):
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_explorer_lanes_link_a_fork_to_its_origin(saver, explorers):
    graph = joke_builder().compile(checkpointer=saver)
    graph.invoke({"topic": "x"}, {"configurable": {"thread_id": "t1"}})
    ckptr = WorkflowCheckpointer(workflow=graph)
    joke = ckptr.filter_checkpoints(last_completed_step="write_joke")[0]
    fork = ckptr.run_from(joke, output_event={"joke": "edited"})
    await fork
    ex = explorers(ckptr)
    lanes = {r["run_id"]: r for r in ex.timeline.runs}
    assert set(lanes) == {"t1", fork.run_id}
    assert lanes[fork.run_id]["origin_checkpoint_id"] == joke.id_
    assert lanes[fork.run_id]["edited"] and lanes[fork.run_id]["resumed"]
    assert len(ex.timeline.marks) == 7
    assert ex.table.total == 7 and len(ex.rows) == 7


async def test_explorer_diffs_and_resumes_a_langgraph_checkpoint_with_an_edit(saver, explorers):
    graph = joke_builder().compile(checkpointer=saver)
    graph.invoke({"topic": "x"}, {"configurable": {"thread_id": "t1"}})
    ckptr = WorkflowCheckpointer(workflow=graph)
    ex = explorers(ckptr)
    joke = ckptr.filter_checkpoints(last_completed_step="write_joke")[0]
    ex.select(joke.id_)
    assert "a joke about x and cats" in ex.detail.value
    ex.state.mode = "diff"
    yours = ex.diff_view.html.value.split("<h4>Events</h4>")[0]
    assert "Your state (ctx.store)" in yours and "joke" in yours
    assert list(ex.edit_view.event_form.widgets) == ["joke"]
    ex.edit_view.event_form.widgets["joke"].value = "<b>edited</b>"
    ex.edit_view.resume_button.click()
    await _until(lambda: ex.last_task is not None and ex.last_task.done())
    forks = [r for r in ckptr.runs.values() if r.origin_checkpoint_id == joke.id_]
    assert len(forks) == 1 and forks[0].status == "completed"
    assert forks[0].result["joke"] == "<b>edited</b>"
    assert {r["run_id"] for r in ex.timeline.runs} == {"t1", forks[0].run_id}
    assert "<b>edited</b>" not in ex.detail.value


async def test_a_graph_whose_saver_was_closed_does_not_hide_another_runs_prompt(tmp_path):
    """Every checkpointer of the kernel is asked whether it runs a waiting run; one whose
    LangGraph saver is closed must not stop the explorer answering that run's prompt."""
    import asyncio
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver
    from lg_graphs import joke_builder

    from flowpoint import WorkflowCheckpointer
    from flowpoint.demo import ReviewFlow
    from flowpoint.notebook.explorer import CheckpointExplorer

    conn = sqlite3.connect(tmp_path / "graph.db", check_same_thread=False)
    graph = joke_builder().compile(checkpointer=SqliteSaver(conn))
    graph.invoke({"topic": "cats"}, {"configurable": {"thread_id": "t1"}})
    graph_ckptr = WorkflowCheckpointer(workflow=graph)
    assert "t1" in graph_ckptr.runs
    conn.close()
    live = WorkflowCheckpointer(ReviewFlow(), store=f"sqlite:///{tmp_path / 'runs.db'}")
    handler = live.run(topic="dogs")
    for _ in range(200):
        if live.get_run(handler.run_id).status == "waiting":
            break
        await asyncio.sleep(0.02)
    other = WorkflowCheckpointer(ReviewFlow(), store=live.store)  # the explorer's own has no handler
    e = CheckpointExplorer(other)
    try:
        assert e.selected.run_id == handler.run_id
        assert e.human.answer_row in e.human.children, e.status.value
        e.human.text.value = "no"
        e.human.send_button.click()
        assert (await handler).startswith("rejected: ")
    finally:
        e.close()
        live.store.close()
    del graph_ckptr
