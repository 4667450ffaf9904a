"""Common 2.x user patterns through the checkpointer: a typed StartEvent, nested pydantic event
fields and typed state, a prompt subclass answered on a resumed run's stream, retried steps,
inherited steps, and resuming these in a new process from the SQLite store."""

from __future__ import annotations

import asyncio

import pytest
from li_probe_flows import (
    CALLS,
    Approval,
    AskApproval,
    DerivedFlow,
    Found,
    Notes,
    Progress,
    ResearchFlow,
    ResearchStart,
    RetryFlow,
    Source,
    reset,
)
from test_llamaindex_process import run_child
from workflows.events import StopEvent

from flowpoint import InvalidEdit, WorkflowCheckpointer


@pytest.fixture(autouse=True)
def _fresh():
    reset()
    yield
    reset()


def at(ckptr, run_id, step):
    return ckptr.filter_checkpoints(run_id=run_id, last_completed_step=step)[0]


async def follow(handler, approved: bool, response: str) -> tuple[list[str], object]:
    """Stream a run, answering its AskApproval; the stream's events by type, and the result."""
    seen: list[str] = []
    async for ev in handler.stream_events():
        seen.append(type(ev).__name__)
        if isinstance(ev, AskApproval):
            handler.ctx.send_event(Approval(approved=approved, response=response))
    return seen, await handler


async def research_run(url: str) -> tuple[WorkflowCheckpointer, str]:
    ckptr = WorkflowCheckpointer(workflow=ResearchFlow(timeout=30), store=url)
    handler = ckptr.run(query="owls", depth=2)
    seen, result = await asyncio.wait_for(follow(handler, True, "yes"), 20)
    assert "AskApproval" in seen and "Progress" in seen
    assert result["approved"] and result["urls"] == ["https://x/owls/0", "https://x/owls/1"]
    CALLS.clear()
    return ckptr, handler.run_id


async def test_typed_start_nested_events_and_typed_state_are_stored_as_they_are(tmp_path):
    ckptr, run_id = await research_run(f"sqlite:///{tmp_path}/r.db")
    start = ckptr.start_checkpoint(run_id)
    assert type(start.output_event) is ResearchStart and start.output_event.depth == 2
    search = at(ckptr, run_id, "search")
    assert type(search.input_event) is ResearchStart
    found = search.output_event
    assert type(found) is Found and type(found.best) is Source
    assert found.sources == [Source(url="https://x/owls/0", score=0.0),
                             Source(url="https://x/owls/1", score=0.1)]
    assert search.user_state["rounds"] == 1
    assert search.user_state["sources"][1] == {"url": "https://x/owls/1", "score": 0.1}
    ask = at(ckptr, run_id, "ask")
    assert type(ask.output_event) is AskApproval and ask.output_event.question == "use 2 sources?"
    assert ckptr.filter_checkpoints(output_event_type=AskApproval)[0].id_ == ask.id_
    assert ckptr.filter_checkpoints(input_event_type=Approval)[0].last_completed_step == "decide"


async def test_a_resumed_run_streams_its_events_and_the_prompt_subclass_again(tmp_path):
    ckptr, run_id = await research_run(f"sqlite:///{tmp_path}/r.db")
    search = at(ckptr, run_id, "search")
    ckptr.workflow = ResearchFlow(timeout=30)
    resumed = ckptr.run_from(search, output_event={"best": {"url": "https://edited", "score": 1}})
    seen, result = await asyncio.wait_for(follow(resumed, False, "no"), 20)
    assert seen.count("AskApproval") == 1 and seen.count("Progress") == 2
    assert seen[-1] == "StopEvent"
    assert result == {"approved": False, "response": "no", "rounds": 1,
                      "urls": ["https://x/owls/0", "https://x/owls/1"],
                      "seen": "2024-05-01T12:00:00+00:00"}
    assert CALLS == ["ask", "decide"]
    ask = at(ckptr, resumed.run_id, "ask")
    assert ask.input_event.best == Source(url="https://edited", score=1.0)
    assert ckptr.get_run(resumed.run_id).status == "completed"


async def test_nested_edits_are_validated_by_the_event_and_state_models(tmp_path):
    ckptr, run_id = await research_run(f"sqlite:///{tmp_path}/r.db")
    search = at(ckptr, run_id, "search")
    with pytest.raises(InvalidEdit, match="Found is invalid"):
        ckptr.run_from(search, output_event={"best": {"score": 1}})  # url is required
    with pytest.raises(InvalidEdit, match="Notes"):
        ckptr.run_from(search, state={"sources": [{"score": "high"}]})
    with pytest.raises(InvalidEdit):
        ckptr.run_from(search, output_event=Progress(msg="wrong type"))
    assert CALLS == [] and len(ckptr.runs) == 1
    resumed = ckptr.run_from(search, state={"rounds": 7, "sources": [{"url": "https://s"}]})
    seen, result = await asyncio.wait_for(follow(resumed, True, "ok"), 20)
    assert (result["rounds"], result["urls"]) == (7, ["https://s"])
    assert at(ckptr, resumed.run_id, "ask").user_state["sources"] == [
        {"url": "https://s", "score": 0.0}]


async def test_the_start_checkpoint_of_a_typed_start_event_reruns_with_new_fields(tmp_path):
    ckptr, run_id = await research_run(f"sqlite:///{tmp_path}/r.db")
    start = ckptr.start_checkpoint(run_id)
    with pytest.raises(InvalidEdit):
        ckptr.run_from(start, depth="deep")
    resumed = ckptr.run_from(start, query="bats", depth=1)
    seen, result = await asyncio.wait_for(follow(resumed, True, "y"), 20)
    assert result["urls"] == ["https://x/bats/0"] and CALLS == ["search", "ask", "decide"]
    assert ckptr.get_run(resumed.run_id).edited["output_event"]["changes"]["query"] == {
        "before": "owls", "after": "bats"}


async def test_a_new_process_resumes_typed_state_and_answers_the_prompt_subclass(tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    ckptr, run_id = await research_run(url)
    search = at(ckptr, run_id, "search")
    out = run_child(f"""
        from li_probe_flows import CALLS, Approval, AskApproval, Found, ResearchFlow, Source
        from flowpoint import WorkflowCheckpointer

        async def main():
            ckptr = WorkflowCheckpointer(workflow=ResearchFlow(timeout=30), store={url!r})
            ckpt = ckptr.get({search.id_!r})
            assert type(ckpt.output_event) is Found and type(ckpt.output_event.best) is Source
            handler = ckptr.run_from(ckpt, state={{"rounds": 5}})
            prompts = []
            async for ev in handler.stream_events():
                if isinstance(ev, AskApproval):
                    prompts.append(ev.question)
                    handler.ctx.send_event(Approval(approved=True, response="child"))
            result = await handler
            return {{"result": result, "calls": CALLS, "prompts": prompts,
                    "status": ckptr.get_run(handler.run_id).status}}

        print(json.dumps(asyncio.run(main())))
    """)
    assert out["prompts"] == ["use 2 sources?"] and out["calls"] == ["ask", "decide"]
    assert out["result"]["rounds"] == 5 and out["result"]["response"] == "child"
    assert out["result"]["seen"] == "2024-05-01T12:00:00+00:00"
    assert out["status"] == "completed"


async def test_a_pending_prompt_subclass_left_open_is_answered_in_a_new_process(tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    ckptr = WorkflowCheckpointer(workflow=ResearchFlow(timeout=30), store=url)
    handler = ckptr.run(start_event=ResearchStart(query="moths"))
    async for ev in handler.stream_events():
        if isinstance(ev, AskApproval):
            break
    assert ckptr.get_run(handler.run_id).status == "waiting"
    await handler.cancel_run()
    assert ckptr.get_run(handler.run_id).status == "cancelled"
    last = ckptr.last_checkpoint(handler.run_id)
    assert last.last_completed_step == "ask"
    out = run_child(f"""
        from li_probe_flows import CALLS, Approval, AskApproval, ResearchFlow
        from flowpoint import WorkflowCheckpointer

        async def main():
            ckptr = WorkflowCheckpointer(workflow=ResearchFlow(timeout=30), store={url!r})
            handler = ckptr.run_from({last.id_[:12]!r})
            async for ev in handler.stream_events():
                if isinstance(ev, AskApproval):
                    await asyncio.sleep(0.1)
                    waiting = ckptr.get_run(handler.run_id).status
                    ckptr.respond(handler.run_id, Approval(approved=True, response="late"))
            return {{"result": await handler, "calls": CALLS, "waiting": waiting}}

        print(json.dumps(asyncio.run(main())))
    """)
    assert out["calls"] == ["decide"] and out["waiting"] == "waiting"
    assert out["result"]["urls"] == ["https://x/moths/0"] and out["result"]["response"] == "late"


async def test_a_retried_step_takes_one_checkpoint_and_the_run_completes():
    ckptr = WorkflowCheckpointer(workflow=RetryFlow(timeout=30), store="memory")
    handler = ckptr.run()
    assert await handler == 2
    assert CALLS == ["begin", "flaky", "flaky"]
    assert [c.last_completed_step for c in ckptr.checkpoints[handler.run_id]] == [
        "begin", "flaky"]
    assert type(ckptr.checkpoints[handler.run_id][-1].output_event) is StopEvent


async def test_inherited_steps_checkpoint_and_resume():
    ckptr = WorkflowCheckpointer(workflow=DerivedFlow(), store="memory")
    assert ckptr.enabled_checkpoints == {"first", "second"}
    handler = ckptr.run(n=3)
    assert await handler == "base:3"
    first = at(ckptr, handler.run_id, "first")
    CALLS.clear()
    assert await ckptr.run_from(first, output_event={"n": 4}, state={"who": "edit"}) == "edit:4"
    assert CALLS == ["second"]


def test_notes_state_type_is_the_workflows_own():
    from flowpoint.adapters.llamaindex.types import TypeRegistry

    assert TypeRegistry(ResearchFlow()).state_type is Notes


NOTEBOOK_CELL = '''
from workflows import Context, Workflow, step
from workflows.events import Event, StartEvent, StopEvent

class JokeEvent(Event):
    joke: str

class JokeFlow(Workflow):
    @step
    async def generate_joke(self, ctx: Context, ev: StartEvent) -> JokeEvent:
        return JokeEvent(joke=f"a joke about {ev.topic}")

    @step
    async def critique_joke(self, ev: JokeEvent) -> StopEvent:
        return StopEvent(result=f"VERSION: {ev.joke}")
'''


def run_cell(version: str) -> dict:
    """The namespace of a notebook cell defining the flow (run again: new classes, same names)."""
    namespace = {"__name__": "__main__"}
    exec(NOTEBOOK_CELL.replace("VERSION", version), namespace)  # noqa: S102 - test code
    return namespace


async def test_a_cell_run_again_resumes_and_edits_with_either_definition():
    v1 = run_cell("v1")
    ckptr = WorkflowCheckpointer(workflow=v1["JokeFlow"](), store="memory")
    handler = ckptr.run(topic="owls")
    assert await handler == "v1: a joke about owls"
    ckpt = ckptr.checkpoints[handler.run_id][0]
    v2 = run_cell("v2")
    ckptr.workflow = v2["JokeFlow"]()
    assert type(ckptr.get(ckpt.id_).output_event) is v2["JokeEvent"]
    assert await ckptr.run_from(ckpt, output_event=v2["JokeEvent"](joke="new")) == "v2: new"
    old = ckptr.run_from(ckpt, output_event=v1["JokeEvent"](joke="old"))  # made before the rerun
    assert await old == "v2: old"
    assert type(ckptr.checkpoints[old.run_id][0].input_event) is v2["JokeEvent"]
    with pytest.raises(InvalidEdit, match="is a Progress"):
        ckptr.run_from(ckpt, output_event=Progress(msg="another class"))
