"""Breakpoints (pause_before / resume) and state edits (run_from(state=...)) through the API."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from flowpoint import Context, Event, StartEvent, StopEvent, Workflow, WorkflowCheckpointer, step
from flowpoint.demo import JokeFlow
from flowpoint.errors import FlowpointError, InvalidEdit, StepNotInWorkflow


class Budget(Event):
    """A typed value in ctx.store: edits of it are validated by this model."""

    limit: int = 3
    owner: str = "ana"


class Counted(Event):
    n: int


class CountFlow(Workflow):
    """Counts in ctx.store; a typed (pydantic) value sits next to plain ones."""

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Counted:
        await ctx.store.set("total", 0)
        await ctx.store.set("budget", Budget())
        return Counted(n=ev.n)

    @step
    async def add(self, ev: Counted, ctx: Context) -> StopEvent:
        total = await ctx.store.get("total")
        budget = await ctx.store.get("budget")
        return StopEvent(result=f"{total + ev.n} of {budget.limit} for {budget.owner}")


@pytest.fixture
def store(tmp_path):
    return f"sqlite:///{tmp_path}/b.db"


async def test_pause_before_stops_at_the_checkpoint_before_that_step(store):
    ckptr = WorkflowCheckpointer(JokeFlow(), store=store)
    handler = ckptr.run(topic="chemistry", pause_before={"critique_joke"})
    assert await handler is None
    run = ckptr.get_run(handler.run_id)
    assert run.status == "paused"
    ckpts = ckptr.checkpoints[handler.run_id]
    assert [c.last_completed_step for c in ckpts][-1] == "generate_joke"
    last = ckpts[-1]
    assert last.ctx_state["paused_before"] == "critique_joke"
    assert last.ctx_state["is_running"] is False
    assert not any(c.last_completed_step == "critique_joke" for c in ckpts)


async def test_resume_continues_the_paused_run_under_its_own_id(store):
    ckptr = WorkflowCheckpointer(JokeFlow(), store=store)
    handler = ckptr.run(topic="chemistry", pause_before="critique_joke")
    await handler
    paused_seqs = [c.seq for c in ckptr.checkpoints[handler.run_id]]
    resumed = ckptr.resume(handler.run_id[:8])
    assert resumed.run_id == handler.run_id
    result = await resumed
    assert result.startswith("Critique:")
    run = ckptr.get_run(handler.run_id)
    assert run.status == "completed" and run.ended_at is not None
    ckpts = ckptr.checkpoints[handler.run_id]
    assert [c.seq for c in ckpts] == paused_seqs + [paused_seqs[-1] + 1]
    assert ckpts[-1].last_completed_step == "critique_joke"
    assert ckpts[-1].parent_id == ckpts[-2].id_
    assert ckpts[-1].ctx_state["is_running"] is False


async def test_pause_before_the_first_step_pauses_at_the_start_checkpoint(store):
    ckptr = WorkflowCheckpointer(JokeFlow(), store=store)
    handler = ckptr.run(topic="dogs", pause_before=["generate_joke"])
    await handler
    assert handler.run_id not in ckptr.checkpoints  # no step ran
    ckpts = ckptr.filter_checkpoints(run_id=handler.run_id, include_start=True)
    assert [c.seq for c in ckpts] == [0]
    assert ckptr.get_run(handler.run_id).status == "paused"
    assert (await ckptr.resume(handler.run_id)).startswith("Critique:")


async def test_resume_with_an_edit_records_it_and_breakpoints_can_be_set_again(store):
    ckptr = WorkflowCheckpointer(JokeFlow(), store=store)
    handler = ckptr.run(topic="dogs", pause_before="critique_joke")
    await handler
    result = await ckptr.resume(handler.run_id, output_event={"joke": "one two three"})
    assert result.startswith("Critique: 3 words")
    assert ckptr.get_run(handler.run_id).edited["output_event"]["changes"]["joke"]["after"] == \
        "one two three"


async def test_resume_refuses_runs_that_are_not_paused_and_unknown_breakpoints(store):
    ckptr = WorkflowCheckpointer(JokeFlow(), store=store)
    handler = ckptr.run(topic="dogs")
    await handler
    with pytest.raises(InvalidEdit, match="not paused"):
        ckptr.resume(handler.run_id)
    with pytest.raises(StepNotInWorkflow, match="critique_jokes"):
        ckptr.run(topic="dogs", pause_before={"critique_jokes"})


async def test_a_paused_run_is_resumed_by_a_later_process(store, tmp_path):
    ckptr = WorkflowCheckpointer(JokeFlow(), store=store)
    handler = ckptr.run(topic="cats", pause_before={"critique_joke"})
    await handler
    script = textwrap.dedent(f"""
        import asyncio
        from flowpoint import WorkflowCheckpointer
        from flowpoint.demo import JokeFlow
        async def main():
            ckptr = WorkflowCheckpointer(JokeFlow(), store={store!r})
            assert ckptr.get_run({handler.run_id!r}).status == "paused"
            print(await ckptr.resume({handler.run_id!r}))
        asyncio.run(main())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Critique:")
    assert ckptr.get_run(handler.run_id).status == "completed"


async def test_run_from_with_state_changes_the_store_before_resuming(store):
    ckptr = WorkflowCheckpointer(CountFlow(), store=store)
    first = ckptr.run(n=2)
    assert await first == "2 of 3 for ana"
    ckpt = ckptr.filter_checkpoints(run_id=first.run_id, last_completed_step="begin")[0]
    resumed = ckptr.run_from(ckpt, state={"total": 40, "budget": {"limit": 9}})
    assert await resumed == "42 of 9 for ana"
    edited = ckptr.get_run(resumed.run_id).edited
    assert edited["state"]["changes"]["total"] == {"before": 0, "after": 40}
    assert edited["state"]["changes"]["budget"]["after"] == {"limit": 9, "owner": "ana"}
    stored = ckptr.get(ckpt.id_)
    assert stored.ctx_state["store"]["total"] == 0
    assert stored.ctx_state["store"]["budget"]["data"]["limit"] == 3


async def test_run_from_state_and_output_event_edits_are_both_recorded(store):
    ckptr = WorkflowCheckpointer(CountFlow(), store=store)
    first = ckptr.run(n=2)
    await first
    ckpt = ckptr.filter_checkpoints(run_id=first.run_id, last_completed_step="begin")[0]
    resumed = ckptr.run_from(ckpt, output_event={"n": 5}, state={"total": 1})
    assert await resumed == "6 of 3 for ana"
    edited = ckptr.get_run(resumed.run_id).edited
    assert set(edited) == {"output_event", "state"}


async def test_typed_state_is_validated_by_its_model(store):
    ckptr = WorkflowCheckpointer(CountFlow(), store=store)
    first = ckptr.run(n=2)
    await first
    ckpt = ckptr.filter_checkpoints(run_id=first.run_id, last_completed_step="begin")[0]
    with pytest.raises(InvalidEdit, match="not a valid Budget"):
        ckptr.run_from(ckpt, state={"budget": {"limit": "lots"}})
    with pytest.raises(InvalidEdit, match="dict of its fields"):
        ckptr.run_from(ckpt, state={"budget": 7})
    with pytest.raises(InvalidEdit, match="cannot be stored"):
        ckptr.run_from(ckpt, state={"total": object()})
    with pytest.raises(FlowpointError, match="dict of ctx.store keys"):
        ckptr.run_from(ckpt, state=["total"])
    assert len(ckptr.runs) == 1


async def test_an_unchanged_state_edit_records_nothing(store):
    ckptr = WorkflowCheckpointer(CountFlow(), store=store)
    first = ckptr.run(n=2)
    await first
    ckpt = ckptr.filter_checkpoints(run_id=first.run_id, last_completed_step="begin")[0]
    resumed = ckptr.run_from(ckpt, state={"total": 0})
    await resumed
    assert ckptr.get_run(resumed.run_id).edited is None


class Fails(Workflow):
    @step
    async def fine(self, ev: StartEvent) -> Counted:
        return Counted(n=1)

    @step
    async def explode(self, ev: Counted) -> StopEvent:
        raise ValueError("no budget left")


async def test_a_failed_run_names_its_failing_step(store):
    ckptr = WorkflowCheckpointer(Fails(), store=store)
    handler = ckptr.run()
    with pytest.raises(ValueError):
        await handler
    error = ckptr.get_run(handler.run_id).error
    assert error["step"] == "explode"
    assert error["message"] == "no budget left"
    assert "ValueError" in error["traceback"]
