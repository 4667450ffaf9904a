"""A run's checkpoints are split incrementally (only what changed is encoded and stored), yet
each one reads back exactly the state of its moment, whatever the steps did to their values."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from resume_flows import run_pruning_itself

from flowpoint import Context, Event, StartEvent, StopEvent, Workflow, WorkflowCheckpointer, step
from flowpoint.checkpoints.codec import JsonCodec
from flowpoint.storage import CheckpointQuery, CheckpointRecord
from flowpoint.storage.contentstore import join_state, split_state
from flowpoint.storage.rows import dumps
from flowpoint.storage.statesplitter import StateSplitter

SEEN: list[dict[str, Any]] = []


class Turn(Event):
    n: int


class Mutating(Workflow):
    """Appends to lists, then edits them in place, shrinks them, swaps big values."""

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Turn:
        await ctx.store.set("items", [])
        await ctx.store.set("rows", [])
        await ctx.store.set("doc", "a" * 5000)
        SEEN.append(copy.deepcopy(ctx.store.to_dict()))
        return Turn(n=0)

    @step
    async def turn(self, ev: Turn, ctx: Context) -> Turn | StopEvent:
        items = await ctx.store.get("items")
        rows = await ctx.store.get("rows")
        items.append(f"item {ev.n} " + "x" * (ev.n % 7) * 90)
        rows.append({"n": ev.n, "tags": ["t"] * (ev.n % 3)})
        if ev.n == 60:
            items[3] = "edited in place"
            rows[2]["n"] = -1
        if ev.n == 70:
            del items[10:]
        if ev.n == 80:
            await ctx.store.set("doc", "b" * 5000)
        if ev.n == 85:
            await ctx.store.set("items", list(items[:5]))
        await ctx.store.set("count", ev.n)
        SEEN.append(copy.deepcopy(ctx.store.to_dict()))
        return StopEvent(result=ev.n) if ev.n >= 100 else Turn(n=ev.n + 1)


async def all_records(ckptr: WorkflowCheckpointer) -> list[CheckpointRecord]:
    """Run once; every checkpoint of the run (the start one too) with its stored state."""
    handler = ckptr.run()
    await handler
    return ckptr.store.list_checkpoints(CheckpointQuery(run_ids=(handler.run_id,)),
                                        with_state=True)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    return "memory" if request.param == "memory" else f"sqlite:///{tmp_path / 'inc.db'}"


async def test_every_checkpoint_reads_back_the_state_of_its_moment(store: str) -> None:
    SEEN.clear()
    ckptr = WorkflowCheckpointer(Mutating(timeout=None), store=store)
    await ckptr.run()
    (ckpts,) = ckptr.checkpoints.values()  # the step checkpoints
    states = [c.ctx_state["store"] for c in ckpts]
    assert len(states) == len(SEEN) == 102
    for got, want in zip(states, SEEN, strict=True):
        assert got == want
    log = ckpts[-1].ctx_state["event_log"]
    assert log[0]["__event__"].endswith("StartEvent")
    assert [e["data"]["n"] for e in log[1:]] == list(range(101))


async def test_the_incremental_split_decodes_like_the_whole_state_encoding() -> None:
    SEEN.clear()
    ckptr = WorkflowCheckpointer(Mutating(timeout=None), store="memory")
    await ckptr.run()
    codec, splitter = JsonCodec(), StateSplitter()
    stored: dict[str, bytes] = {}
    (run_id,) = ckptr.runs
    for ckpt in ckptr.filter_checkpoints(run_id=run_id, include_start=True):
        state = ckptr.codec.decode_state(ckpt.ctx_state)
        snap = {k: state.get(k) for k in ("store", "queues", "in_progress", "collect_buffers",
                                           "accepted_events", "event_log", "pending_input",
                                           "is_running")}
        split = codec.split_state(snap, codec.encode_event, splitter)
        assert split.refs <= stored.keys()
        stored.update(split.blobs)
        splitter.committed(split)
        whole, blobs = split_state(codec.encode_state(snap))
        assert join_state(split.manifest, stored.get) == join_state(whole, blobs.get)
        assert split.text == dumps(split.manifest, "state_manifest")  # as a store writes it


class BigAndCounter(Workflow):
    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Turn:
        await ctx.store.set("document", "d" * 1_000_000)
        return Turn(n=0)

    @step
    async def count(self, ev: Turn, ctx: Context) -> Turn | StopEvent:
        await ctx.store.set("counter", ev.n)
        return StopEvent(result=ev.n) if ev.n >= 20 else Turn(n=ev.n + 1)


async def test_a_big_value_beside_a_changing_counter_is_stored_once(store: str) -> None:
    ckptr = WorkflowCheckpointer(BigAndCounter(timeout=None), store=store)
    handler = ckptr.run()
    await handler
    report = ckptr.storage_report()
    assert report["checkpoints"] == 23
    assert 1_000_000 < report["bytes"] < 1_100_000
    last = ckptr.last_checkpoint(next(iter(ckptr.runs)))
    assert last.ctx_state["store"] == {"document": "d" * 1_000_000, "counter": 20}


async def test_blobs_pruned_behind_a_running_run_are_stored_again(store: str) -> None:
    await run_pruning_itself(store, at=40, stop=60)


class Said(Event):
    text: str


class Texts(Workflow):
    """Events and values holding non-ASCII text, a lone surrogate and escapes."""

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Said:
        await ctx.store.set("plain", "café")
        return Said(text="naïve \u2028 \\ud800")

    @step
    async def odd(self, ev: Said, ctx: Context) -> Said | StopEvent:
        if ev.text.startswith("lone"):
            await ctx.store.set("odd", ["\ud800", "é"])
            return StopEvent(result=ev.text)
        return Said(text="lone \udc00 é")


async def test_stored_texts_are_the_compact_json_of_what_they_hold(tmp_path: Any) -> None:
    """The manifest and event texts a run builds from kept bytes are exactly the compact JSON
    of their values (non-ASCII text as is, all escaped once a lone surrogate is in)."""
    import sqlite3

    ckptr = WorkflowCheckpointer(Texts(timeout=None), store=f"sqlite:///{tmp_path / 't.db'}")
    assert await ckptr.run() == "lone \udc00 é"
    with sqlite3.connect(tmp_path / "t.db") as conn:
        rows = conn.execute("SELECT input_event, output_event, state_manifest FROM "
                            "flowpoint_checkpoints"
                            " ORDER BY seq").fetchall()
    assert len(rows) == 4
    for row in rows:
        for text in row:
            assert text == dumps(json.loads(text), "x")
    assert "naïve" in rows[2][2] and "\\udc00" in rows[3][2] and "é" not in rows[3][2]
    last = ckptr.last_checkpoint(next(iter(ckptr.runs)))
    assert last.ctx_state["store"] == {"plain": "café", "odd": ["\ud800", "é"]}
    assert [e["data"] for e in last.ctx_state["event_log"][1:]] == [
        {"text": "naïve \u2028 \\ud800"}, {"text": "lone \udc00 é"}]
