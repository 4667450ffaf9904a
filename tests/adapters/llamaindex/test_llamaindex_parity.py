"""The checkpointer API on a 2.x workflow behaves as on flowpoint's own runtime: the same user
code written for both, run side by side, gives the same checkpoints, filters and edits."""

import asyncio

import pytest
import workflows
import workflows.events as li_events

import flowpoint
from flowpoint import InvalidEdit, StepNotInWorkflow, WorkflowCheckpointer


def make_flow(wf, ev):
    """The same three-step flow, written against one runtime's public API."""

    class Drafted(ev.Event):
        text: str
        words: int = 0

    class Reviewed(ev.Event):
        verdict: str

    class Pipeline(wf.Workflow):
        @wf.step
        async def draft(self, ctx: wf.Context, ev_: ev.StartEvent) -> Drafted:
            await ctx.store.set("topic", ev_.topic)
            return Drafted(text=f"about {ev_.topic}", words=2)

        @wf.step
        async def review(self, ctx: wf.Context, ev_: Drafted) -> Reviewed:
            await ctx.store.set("reviews", (await ctx.store.get("reviews", default=0)) + 1)
            return Reviewed(verdict=f"ok:{ev_.text}:{ev_.words}")

        @wf.step
        async def publish(self, ctx: wf.Context, ev_: Reviewed) -> ev.StopEvent:
            topic = await ctx.store.get("topic")
            return ev.StopEvent(result=f"{ev_.verdict}|{topic}")

    return Pipeline, Drafted, Reviewed


RUNTIMES = {"flowpoint": (flowpoint, flowpoint), "llamaindex": (workflows, li_events)}


@pytest.fixture(params=sorted(RUNTIMES))
def flow(request):
    wf, ev = RUNTIMES[request.param]
    return (request.param, ev, *make_flow(wf, ev))


def steps_of(ckptr, run_id):
    return [c.last_completed_step for c in ckptr.checkpoints[run_id]]


async def test_checkpoints_filters_and_toggles_match_on_both_runtimes(tmp_path, flow):
    _, ev, Pipeline, Drafted, Reviewed = flow
    ckptr = WorkflowCheckpointer(workflow=Pipeline(), store=f"sqlite:///{tmp_path}/p.db")
    assert ckptr.enabled_checkpoints == {"draft", "review", "publish"}
    handler = ckptr.run(topic="tea")
    assert await handler == "ok:about tea:2|tea"
    run_id = handler.run_id
    assert steps_of(ckptr, run_id) == ["draft", "review", "publish"]
    draft, review, publish = ckptr.checkpoints[run_id]
    assert (draft.id_, draft.run_id) == (ckptr.get(draft.id_[:8]).id_, run_id)
    assert isinstance(draft.input_event, ev.StartEvent) and draft.input_event.topic == "tea"
    assert type(draft.output_event) is Drafted and draft.output_event.words == 2
    assert type(review.input_event) is Drafted and type(review.output_event) is Reviewed
    assert isinstance(publish.output_event, ev.StopEvent)
    assert review.user_state == {"topic": "tea", "reviews": 1}
    assert isinstance(review.ctx_state, dict) and review.ctx_state["store"] == review.user_state

    by = ckptr.filter_checkpoints
    assert [c.id_ for c in by(input_event_type=ev.StartEvent)] == [draft.id_]
    assert [c.id_ for c in by(output_event_type=ev.StopEvent)] == [publish.id_]
    assert [c.id_ for c in by(input_event_type=Drafted)] == [review.id_]
    assert [c.id_ for c in by(output_event_type=[Drafted, Reviewed])] == [draft.id_, review.id_]
    assert [c.id_ for c in by(run_id=run_id, last_completed_step="review")] == [review.id_]
    assert by(run_id=run_id, output_event_type=Drafted, last_completed_step="publish") == []
    assert by(input_event_type="Drafted")[0].id_ == review.id_

    ckptr.disable_checkpoint("review")
    assert ckptr.enabled_checkpoints == {"draft", "publish"}
    second = ckptr.run(topic="jam")
    await second
    assert steps_of(ckptr, second.run_id) == ["draft", "publish"]
    ckptr.enable_checkpoint("review")
    with pytest.raises(StepNotInWorkflow, match="no step 'reveiw'"):
        ckptr.disable_checkpoint("reveiw")
    assert ckptr.enabled_checkpoints == {"draft", "review", "publish"}
    assert len(ckptr.checkpoints) == 2


async def test_run_from_edits_are_recorded_and_validated_alike(tmp_path, flow):
    runtime, ev, Pipeline, Drafted, Reviewed = flow
    ckptr = WorkflowCheckpointer(workflow=Pipeline(), store=f"sqlite:///{tmp_path}/p.db")
    handler = ckptr.run(topic="tea")
    await handler
    draft = ckptr.filter_checkpoints(run_id=handler.run_id, last_completed_step="draft")[0]
    ckptr.workflow = Pipeline()
    resumed = ckptr.run_from(checkpoint=draft, output_event=Drafted(text="new", words=9),
                             state={"topic": "coffee"})
    assert await resumed == "ok:new:9|coffee"
    assert steps_of(ckptr, resumed.run_id) == ["review", "publish"]
    review = ckptr.checkpoints[resumed.run_id][0]
    assert review.seq == draft.seq + 1 and review.parent_id == draft.id_
    run = ckptr.get_run(resumed.run_id)
    assert run.origin_checkpoint_id == draft.id_ and run.status == "completed"
    assert run.edited["output_event"]["changes"] == {
        "text": {"before": "about tea", "after": "new"}, "words": {"before": 2, "after": 9}}
    assert run.edited["state"]["changes"] == {"topic": {"before": "tea", "after": "coffee"}}

    with pytest.raises(InvalidEdit):
        ckptr.run_from(draft, output_event=Reviewed(verdict="wrong type"))
    with pytest.raises(InvalidEdit):
        ckptr.run_from(draft, output_event={"words": "many"})
    with pytest.raises(InvalidEdit):
        ckptr.run_from(draft, output_event={"txt": "typo"})
    assert len(ckptr.runs) == 2
    if runtime == "llamaindex":  # 2.x: nothing comes after a StopEvent, so it is refused
        final = ckptr.filter_checkpoints(run_id=handler.run_id, last_completed_step="publish")[0]
        with pytest.raises(InvalidEdit, match="publish.*returned a StopEvent"):
            ckptr.run_from(final)
        assert len(ckptr.runs) == 2


async def test_the_table_has_the_same_rows_and_types_on_both_runtimes(tmp_path):
    frames = {}
    for name, (wf, ev) in RUNTIMES.items():
        Pipeline, *_ = make_flow(wf, ev)
        ckptr = WorkflowCheckpointer(workflow=Pipeline(), store=f"sqlite:///{tmp_path}/{name}.db")
        await ckptr.run(topic="tea")
        frame = ckptr.to_dataframe()
        frames[name] = frame.drop(columns=[c for c in frame.columns
                                           if c in ("run_id", "checkpoint_id", "id_", "parent_id",
                                                    "created_at", "step_duration_s", "run_started_at",
                                                    "started_at", "duration_s")])
    fp, li = frames["flowpoint"], frames["llamaindex"]
    assert list(fp.columns) == list(li.columns)
    assert [str(t) for t in fp.dtypes] == [str(t) for t in li.dtypes]
    for col in fp.columns:
        left = [str(v).replace("flowpoint.runtime.events", "workflows.events") for v in fp[col]]
        assert left == [str(v) for v in li[col]], col


async def test_concurrent_runs_of_one_checkpointer_keep_their_own_checkpoints(flow):
    _, _, Pipeline, _, _ = flow
    ckptr = WorkflowCheckpointer(workflow=Pipeline(), store="memory")
    handlers = [ckptr.run(topic=t) for t in ("a", "b", "c")]
    results = await asyncio.gather(*handlers)
    assert results == [f"ok:about {t}:2|{t}" for t in ("a", "b", "c")]
    for h, t in zip(handlers, "abc", strict=True):
        cks = ckptr.checkpoints[h.run_id]
        assert [c.last_completed_step for c in cks] == ["draft", "review", "publish"]
        assert {c.user_state["topic"] for c in cks} == {t}
        assert ckptr.get_run(h.run_id).status == "completed"


async def test_run_from_loads_the_checkpoint_into_a_given_context(flow):
    runtime, _, Pipeline, _, _ = flow
    wf = RUNTIMES[runtime][0]
    ckptr = WorkflowCheckpointer(workflow=Pipeline(), store="memory")
    handler = ckptr.run(topic="tea")
    await handler
    draft, *_ = ckptr.checkpoints[handler.run_id]
    ctx = wf.Context(ckptr.workflow)
    resumed = ckptr.run_from(checkpoint=draft, ctx=ctx, output_event={"words": 5})
    assert await resumed == "ok:about tea:5|tea"
    assert resumed.ctx is ctx  # the new run ran on it: its store is the checkpoint's, continued
    assert (await ctx.store.get("topic"), await ctx.store.get("reviews")) == ("tea", 1)
    assert [c.last_completed_step for c in ckptr.checkpoints[resumed.run_id]] == [
        "review", "publish"]
    again = ckptr.run_from(ckptr.start_checkpoint(handler.run_id), ctx=ctx, topic="jam")
    assert await again == "ok:about jam:2|jam"  # a start checkpoint: a fresh state in ctx
    assert (again.ctx is ctx, await ctx.store.get("reviews")) == (True, 1)


async def test_a_context_that_is_not_a_2x_context_is_refused_before_anything_runs():
    Pipeline, *_ = make_flow(workflows, li_events)
    ckptr = WorkflowCheckpointer(workflow=Pipeline(), store="memory")
    handler = ckptr.run(topic="tea")
    await handler
    draft = ckptr.checkpoints[handler.run_id][0]
    with pytest.raises(InvalidEdit, match="workflows.Context"):
        ckptr.run_from(draft, ctx=flowpoint.Context(make_flow(flowpoint, flowpoint)[0]()))
    assert len(ckptr.runs) == 1


@pytest.mark.filterwarnings("ignore:serializer='pickle'")
def test_a_2x_pickle_serializer_given_as_checkpoint_serializer_means_pickle():
    from workflows.context.serializers import JsonSerializer, PickleSerializer

    Pipeline, *_ = make_flow(workflows, li_events)
    pickled = WorkflowCheckpointer(workflow=Pipeline(), store="memory",
                                   checkpoint_serializer=PickleSerializer())
    plain = WorkflowCheckpointer(workflow=Pipeline(), store="memory",
                                 checkpoint_serializer=JsonSerializer())
    assert (pickled.codec.name, plain.codec.name) == ("pickle", "json")
