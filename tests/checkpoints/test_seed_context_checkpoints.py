"""The older LlamaIndex API of the "Checkpointing in Workflows" story: checkpoints kept on a Context.

``wf.run(ctx=ctx)`` records on ``ctx``; every run on it is listed, start checkpoints included.
These runs go to the default durable store, pointed at a temporary file per test.
"""

from __future__ import annotations

import pytest

from flowpoint import Context, StartEvent, StopEvent, WorkflowCheckpointer
from flowpoint.demo import JokeEvent, JokeFlow
from flowpoint.storage import open_store


@pytest.fixture(autouse=True)
def default_store(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/default.db"
    monkeypatch.setenv("FLOWPOINT_STORE", url)
    return url


async def three_runs(wf: JokeFlow, ctx: Context) -> None:
    for topic in ("math", "biology", "history"):
        await wf.run(ctx=ctx, topic=topic)


async def test_one_run_on_a_context_records_three_checkpoints_start_first():
    wf = JokeFlow()
    ctx = Context(workflow=wf)
    handler = wf.run(ctx=ctx, topic="math")
    assert (await handler).startswith("Critique:")
    ckpts = handler.ctx.checkpoints
    assert len(ckpts) == 3
    start, gen, crit = ckpts
    assert start.last_completed_step is None and start.input_event is None
    assert type(start.output_event) is StartEvent and start.output_event.topic == "math"
    assert gen.last_completed_step == "generate_joke" and type(gen.output_event) is JokeEvent
    assert crit.last_completed_step == "critique_joke" and type(crit.output_event) is StopEvent


async def test_three_runs_on_one_context_list_nine_in_order():
    wf = JokeFlow()
    ctx = Context(workflow=wf)
    await three_runs(wf, ctx)
    ckpts = ctx.checkpoints
    assert len(ckpts) == 9
    assert [c.last_completed_step for c in ckpts] == [None, "generate_joke", "critique_joke"] * 3
    assert [c.output_event.topic for c in ckpts if c.is_start] == ["math", "biology", "history"]


async def test_ctx_filter_checkpoints_takes_the_same_filters():
    wf = JokeFlow()
    ctx = Context(workflow=wf)
    await three_runs(wf, ctx)
    stops = ctx.filter_checkpoints(output_event_type=StopEvent)
    assert len(stops) == 3 and all(c.output_event.result.startswith("Critique:") for c in stops)
    gens = ctx.filter_checkpoints(last_completed_step="generate_joke")
    assert [c.input_event.topic for c in gens] == ["math", "biology", "history"]
    assert len(ctx.filter_checkpoints(output_event_type=StartEvent)) == 3
    with pytest.raises(ValueError, match="at least one filter"):
        ctx.filter_checkpoints()


async def test_run_from_on_the_context_resumes_and_appends_one_checkpoint():
    wf = JokeFlow()
    ctx = Context(workflow=wf)
    await three_runs(wf, ctx)
    ckpt = ctx.filter_checkpoints(last_completed_step="generate_joke")[1]
    handler = wf.run_from(checkpoint=ckpt, ctx=ctx)
    result = await handler
    assert result == f"Critique: {len(ckpt.output_event.joke.split())} words; the pun lands. " \
                     "Rating 7/10."
    assert handler.ctx is ctx
    assert len(ctx.checkpoints) == 10
    last = ctx.checkpoints[-1]
    assert last.last_completed_step == "critique_joke" and last.parent_id == ckpt.id_


async def test_context_checkpoints_are_in_the_default_store_for_every_reader(default_store):
    wf = JokeFlow()
    ctx = Context(workflow=wf)
    await three_runs(wf, ctx)
    store = open_store(default_store)
    try:
        assert len(store.list_runs()) == 3
        assert len(store.list_checkpoints()) == 9
    finally:
        store.close()
    ckptr = WorkflowCheckpointer(workflow=JokeFlow())
    assert [len(v) for v in ckptr.checkpoints.values()] == [2, 2, 2]


async def test_two_contexts_keep_their_own_lists():
    wf = JokeFlow()
    a, b = Context(workflow=wf), Context(workflow=wf)
    await wf.run(ctx=a, topic="math")
    await wf.run(ctx=b, topic="art")
    await wf.run(ctx=a, topic="biology")
    assert len(a.checkpoints) == 6 and len(b.checkpoints) == 3
    assert {c.run_id for c in a.checkpoints}.isdisjoint({c.run_id for c in b.checkpoints})


async def test_a_checkpointer_run_given_a_context_is_listed_on_it():
    wf = JokeFlow()
    ctx = Context(workflow=wf)
    ckptr = WorkflowCheckpointer(workflow=wf)
    await ckptr.run(ctx=ctx, topic="math")
    assert [c.last_completed_step for c in ctx.checkpoints] == [None, "generate_joke",
                                                                "critique_joke"]


async def test_a_run_without_a_context_records_nothing():
    wf = JokeFlow()
    handler = wf.run(topic="math")
    await handler
    assert handler.ctx.checkpoints == []
