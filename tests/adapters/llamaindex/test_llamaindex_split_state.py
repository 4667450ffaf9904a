"""A 2.x checkpoint's state is split for the store as it is taken (ctx.store's lists in chunks,
an unchanged state reused): what is stored reads back exactly as the whole state would, in a
real SQLite file and in the memory store, and a long run's growing list costs only its new
items per checkpoint."""

from __future__ import annotations

from typing import Any

import pytest
from li_flows import FanFlow, JokeFlow, TypedFlow, reset
from workflows import Context, Workflow, step
from workflows.events import Event, StartEvent, StopEvent

from flowpoint import WorkflowCheckpointer
from flowpoint.adapters.llamaindex.runtime import RunWatch
from flowpoint.storage.contentstore import references, split_state
from flowpoint.storage.records import EncodedState

ROUNDS = 40


class Grow(Event):
    round: int


class GrowFlow(Workflow):
    """Appends to a list in ctx.store at every step, and keeps a long text there."""

    @step
    async def begin(self, ctx: Context, ev: StartEvent) -> Grow:
        await ctx.store.set("text", "x" * 2000)
        await ctx.store.set("items", [])
        return Grow(round=0)

    @step
    async def grow(self, ctx: Context, ev: Grow) -> Grow | StopEvent:
        items = await ctx.store.get("items")
        items.extend({"round": ev.round, "i": i, "$blob": "not a reference"} for i in range(20))
        await ctx.store.set("items", items)
        await ctx.store.set("nested", {"$chunks": [ev.round], "deep": {"__event__": "x"}})
        if ev.round + 1 == ROUNDS:
            return StopEvent(result=len(items))
        return Grow(round=ev.round + 1)


@pytest.fixture
def taken(monkeypatch):
    """Each step checkpoint's whole state as the adapter would store it unsplit, and the
    split states the store was given."""
    seen: dict[str, list[Any]] = {"whole": [], "split": []}
    snapshot = RunWatch.snapshot

    def spy(self, encode, output):
        state = snapshot(self, encode, output)
        split, self._split = self._split, None
        try:
            seen["whole"].append(snapshot(self, encode, output))
        finally:
            self._split = split
        seen["split"].append(state)
        return state

    monkeypatch.setattr(RunWatch, "snapshot", spy)
    reset()
    return seen


@pytest.mark.parametrize("flow, kwargs, split", [
    (GrowFlow, {}, True), (JokeFlow, {"topic": "t"}, False), (TypedFlow, {"label": "l"}, False),
    (FanFlow, {"count": 5}, False),
])
@pytest.mark.parametrize("where", ["sqlite", "memory"])
async def test_split_states_read_back_as_the_whole_state(taken, tmp_path, flow, kwargs, split,
                                                         where):
    store = f"sqlite:///{tmp_path}/ckpts.db" if where == "sqlite" else "memory"
    ckptr = WorkflowCheckpointer(workflow=flow(timeout=30), store=store)
    handler = ckptr.run(**kwargs)
    await handler
    kinds = [isinstance(s, EncodedState) for s in taken["split"]]
    if split:
        assert all(kinds)
    else:  # no list, no long text: stored whole, or handed over as the store would keep it
        for state, whole in zip(taken["split"], taken["whole"], strict=True):
            if isinstance(state, EncodedState):
                assert not state.blobs and not state.refs and state.manifest == whole
                assert not list(references(whole))  # nothing a reader takes for a blob
                assert split_state(whole["store"]) == (whole["store"], {})
        assert any(kinds)
    stored = [c.raw_state for c in ckptr.checkpoints[handler.run_id]]
    assert stored == taken["whole"]


async def test_a_growing_list_costs_only_its_new_items(taken, tmp_path):
    ckptr = WorkflowCheckpointer(workflow=GrowFlow(timeout=30),
                                 store=f"sqlite:///{tmp_path}/ckpts.db")
    handler = ckptr.run()
    assert await handler == 20 * ROUNDS
    late = taken["split"][-5:]
    new_bytes = [sum(len(b) for b in s.blobs.values()) for s in late]
    whole = len(str(taken["whole"][-1]["store"]["items"]))
    assert max(new_bytes) < whole / 10  # a few new chunks, not the 800-item list again
    assert all("x" * 2000 not in str(s.manifest) for s in late)  # the long text is a blob


async def test_resume_from_a_split_checkpoint_in_sqlite_continues_the_list(tmp_path):
    reset()
    store = f"sqlite:///{tmp_path}/ckpts.db"
    ckptr = WorkflowCheckpointer(workflow=GrowFlow(timeout=30), store=store)
    handler = ckptr.run()
    await handler
    middle = ckptr.checkpoints[handler.run_id][10]
    again = WorkflowCheckpointer(workflow=GrowFlow(timeout=30), store=store)
    assert await again.run_from(checkpoint=middle) == 20 * ROUNDS
