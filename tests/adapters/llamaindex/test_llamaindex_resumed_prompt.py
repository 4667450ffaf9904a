"""A 2.x run resumed from a checkpoint whose step asked for input waits again: its status is
"waiting" (as on flowpoint's runtime) until answered, so the explorer shows the prompt and its
answer box for it, in the same or a later process."""

import asyncio

import pytest
import workflows
import workflows.events as li_events
from li_flows import RAN, AskFlow, answer_prompts

import flowpoint
from flowpoint import WorkflowCheckpointer
from flowpoint.notebook.explorer import CheckpointExplorer


def ask_flow(wf, ev):
    class Ask(wf.Workflow):
        @wf.step
        async def ask(self, e: ev.StartEvent) -> ev.InputRequiredEvent:
            return ev.InputRequiredEvent(prefix="name?")

        @wf.step
        async def greet(self, e: ev.HumanResponseEvent) -> ev.StopEvent:
            return ev.StopEvent(result=f"hi {e.response}")

    return Ask


async def statuses_at_the_prompt(ckptr, handler, answer: str) -> list[str]:
    """The run's stored status when its prompt reaches the stream, then after it ends."""
    seen = []
    async for ev in handler.stream_events():
        if type(ev).__name__ == "InputRequiredEvent":
            await asyncio.sleep(0.05)
            seen.append(ckptr.get_run(handler.run_id).status)
            ckptr.respond(handler.run_id, answer)
    assert await handler == f"hi {answer}"
    return [*seen, ckptr.get_run(handler.run_id).status]


@pytest.mark.parametrize("runtime", ["flowpoint", "llamaindex"])
async def test_a_run_resumed_at_a_prompt_is_waiting_on_both_runtimes(tmp_path, runtime):
    wf, ev = (flowpoint, flowpoint) if runtime == "flowpoint" else (workflows, li_events)
    ckptr = WorkflowCheckpointer(workflow=ask_flow(wf, ev)(), store=f"sqlite:///{tmp_path}/a.db")
    first = ckptr.run()
    assert await statuses_at_the_prompt(ckptr, first, "ann") == ["waiting", "completed"]
    ask = ckptr.filter_checkpoints(run_id=first.run_id, last_completed_step="ask")[0]
    resumed = ckptr.run_from(ask)
    assert await asyncio.wait_for(statuses_at_the_prompt(ckptr, resumed, "bob"), 10) == [
        "waiting", "completed"]


async def wait_for(predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_the_explorer_resumes_at_a_prompt_and_answers_it(tmp_path):
    ckptr = WorkflowCheckpointer(workflow=AskFlow(), store=f"sqlite:///{tmp_path}/h.db")
    first = ckptr.run()
    assert await answer_prompts(first, "ann") == (1, "hello ann")
    ask = ckptr.filter_checkpoints(run_id=first.run_id, last_completed_step="ask")[0]
    RAN.clear()
    e = CheckpointExplorer(WorkflowCheckpointer(workflow=AskFlow(),
                                                store=f"sqlite:///{tmp_path}/h.db"))
    try:
        e.select(ask.id_)
        e.resume_button.click()
        await wait_for(lambda: e.human.run_id is not None)
        run = e.data.ckptr.get_run(e.human.run_id)
        assert run.status == "waiting" and run.origin_checkpoint_id == ask.id_
        assert "your name?" in e.human.prompt.value
        e.human.text.value = "eve"
        e.human.send_button.click()
        await asyncio.wait_for(e.last_task, 10)
        assert e.data.ckptr.result_of(run.run_id) == "hello eve"
        assert e.data.ckptr.get_run(run.run_id).status == "completed"
        assert RAN == ["greet"]
    finally:
        e.close()
