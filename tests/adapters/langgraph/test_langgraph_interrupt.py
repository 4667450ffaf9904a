"""A thread stopped at interrupt() shows its prompt and is answered, from code or the explorer."""

from __future__ import annotations

import asyncio

from lg_graphs import review_builder, thread

from flowpoint import WorkflowCheckpointer
from flowpoint.notebook.explorer.human_view import prompt_of

CONFIG = {"configurable": {"thread_id": "r1"}}


def _ask(graph):
    graph.invoke({"draft": "essay"}, CONFIG)


async def _until(predicate, timeout=10.0):
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


def test_an_interrupted_thread_waits_and_shows_its_prompt(saver):
    graph = review_builder().compile(checkpointer=saver)
    _ask(graph)
    ckptr = WorkflowCheckpointer(workflow=graph)
    assert ckptr.get_run("r1").status == "waiting"
    last = ckptr.last_checkpoint("r1")
    assert prompt_of(last) == "Publish 'draft of essay'?"
    assert last.ctx_state["interrupts"][0]["$type"] == "langgraph.types.Interrupt"
    assert thread(ckptr, "r1")[0].ctx_state.get("pending_input") is None


async def test_respond_answers_a_thread_interrupted_outside_flowpoint(saver):
    graph = review_builder().compile(checkpointer=saver)
    _ask(graph)
    ckptr = WorkflowCheckpointer(workflow=graph)
    ckptr.respond("r1", "yes, publish")
    handler = ckptr.handler("r1")
    result = await handler
    assert result["verdict"] == "yes, publish"
    assert result["log"] == ["drafted", "reviewed"]
    assert ckptr.get_run("r1").status == "completed"
    assert graph.get_state(CONFIG).values["verdict"] == "yes, publish"


async def test_a_run_started_here_waits_for_its_answer(saver):
    graph = review_builder().compile(checkpointer=saver)
    ckptr = WorkflowCheckpointer(workflow=graph)
    handler = ckptr.run(draft="poem")
    await _until(lambda: handler.status == "waiting")
    assert ckptr.get_run(handler.run_id).status == "waiting"
    assert prompt_of(ckptr.last_checkpoint(handler.run_id)) == "Publish 'draft of poem'?"
    ckptr.respond(handler.run_id, "no")
    assert (await handler)["verdict"] == "no"


async def test_the_explorer_shows_the_prompt_and_sends_the_answer(saver, explorers):
    graph = review_builder().compile(checkpointer=saver)
    _ask(graph)
    ckptr = WorkflowCheckpointer(workflow=graph)
    ex = explorers(ckptr)
    ex.select(ckptr.last_checkpoint("r1").id_)
    assert ex.human.layout.display != "none"
    assert "Publish &#x27;draft of essay&#x27;?" in ex.human.prompt.value
    assert ex.human.send_button in ex.human.answer_row.children
    ex.human.text.value = "ship it"
    ex.human.send_button.click()
    await _until(lambda: ex.last_task is not None and ex.last_task.done())
    assert ckptr.get_run("r1").status == "completed"
    assert graph.get_state(CONFIG).values["verdict"] == "ship it"
    assert "completed run r1" in ex.status.value


async def test_a_waiting_run_streams_its_prompt(saver):
    from flowpoint import InputRequiredEvent

    ckptr = WorkflowCheckpointer(workflow=review_builder().compile(checkpointer=saver))
    handler = ckptr.run(draft="memo")
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            assert ev.prefix == "Publish 'draft of memo'?"
            break
    ckptr.respond(handler.run_id, "ok")
    assert (await handler)["verdict"] == "ok"
