"""A 2.x run's end (completed, its result) is committed with the checkpoint of its StopEvent in
one transaction, so a run of N checkpoints costs N + 1 commits on SQLite; a run that ends
otherwise, or whose StopEvent is not the plain one, still records its own end."""

from __future__ import annotations

from typing import Any

from li_flows import JokeFlow
from workflows import Workflow, step
from workflows.events import StartEvent, StopEvent

from flowpoint import WorkflowCheckpointer


def _watch_last(ckptr: WorkflowCheckpointer, last: str = "StopEvent") -> list[tuple[str, Any]]:
    """(status, result) of the run as stored when its ``last`` checkpoint is announced."""
    seen: list[tuple[str, Any]] = []

    def listener(kind: str, run_id: str, payload: Any) -> None:
        if kind == "checkpoint" and (payload.output_type or "").endswith(last):
            run = ckptr.store.get_run(run_id)
            seen.append((run.status, run.result))

    ckptr.subscribe(listener)
    return seen


async def test_the_run_is_completed_with_its_last_checkpoint(tmp_path):
    ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store=f"sqlite:///{tmp_path}/end.db")
    seen = _watch_last(ckptr)
    before = ckptr.store._writer._commits
    handler = ckptr.run(topic="x")
    assert await handler == "critique of 'a joke about x' (x)"
    assert seen == [("completed", "critique of 'a joke about x' (x)")]
    checkpoints = 3  # the start checkpoint and one per step
    assert ckptr.store._writer._commits - before == checkpoints + 1
    run = ckptr.get_run(handler.run_id)
    assert run.status == "completed" and run.ended_at and run.result == seen[0][1]


class Finished(StopEvent):
    note: str


class SubclassFlow(Workflow):
    @step
    async def only(self, ev: StartEvent) -> Finished:
        return Finished(note="done")


async def test_a_stop_event_subclass_ends_the_run_on_its_own(tmp_path):
    ckptr = WorkflowCheckpointer(workflow=SubclassFlow(), store=f"sqlite:///{tmp_path}/end.db")
    seen = _watch_last(ckptr, "Finished")
    handler = ckptr.run()
    result = await handler
    assert type(result) is Finished  # the handler returns the event itself
    assert [status for status, _ in seen] == ["running"]
    run = ckptr.get_run(handler.run_id)
    assert run.status == "completed" and run.ended_at


async def test_a_disabled_last_step_still_ends_the_run(tmp_path):
    ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store=f"sqlite:///{tmp_path}/end.db")
    ckptr.disable_checkpoint("critique_joke")
    handler = ckptr.run(topic="y")
    await handler
    run = ckptr.get_run(handler.run_id)
    assert run.status == "completed" and run.result == "critique of 'a joke about y' (y)"
