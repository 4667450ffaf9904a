"""The explorer keeps showing start checkpoints, scoped to a checkpointer's workflow."""

from __future__ import annotations

from flowpoint import Event, StartEvent, StopEvent, Workflow, WorkflowCheckpointer, step
from flowpoint.demo import JokeFlow
from flowpoint.notebook.magics import StoreView


class NoteEvent(Event):
    note: str


class NoteFlow(Workflow):
    @step
    async def write(self, ev: StartEvent) -> NoteEvent:
        return NoteEvent(note=ev.topic)

    @step
    async def finish(self, ev: NoteEvent) -> StopEvent:
        return StopEvent(result=ev.note)


async def test_explorer_on_a_checkpointer_shows_its_runs_start_checkpoints_included(
        store, explorers):
    jokes = WorkflowCheckpointer(JokeFlow(), store=store)
    notes = WorkflowCheckpointer(NoteFlow(), store=store)
    joke_run = jokes.run(topic="a")
    await joke_run
    await notes.run(topic="b")
    e = explorers(jokes)
    rows = e.rows
    assert sorted(r["seq"] for r in rows) == [0, 1, 2]
    assert {r["run_id"] for r in rows} == {joke_run.run_id}
    assert [r["run_id"] for r in e.timeline.runs] == [joke_run.run_id]
    e.select(jokes.start_checkpoint(joke_run.run_id).id_)
    assert e.selected.seq == 0 and e.selected.last_completed_step is None


async def test_explorer_on_the_store_shows_every_workflow(store, explorers):
    jokes = WorkflowCheckpointer(JokeFlow(), store=store)
    notes = WorkflowCheckpointer(NoteFlow(), store=store)
    await jokes.run(topic="a")
    await notes.run(topic="b")
    e = explorers(StoreView(store))
    assert len(e.rows) == 6 and len(e.timeline.runs) == 2
