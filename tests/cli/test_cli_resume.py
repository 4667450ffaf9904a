"""``flowpoint resume``: the user names the workflow; progress, edits, human input, exit status."""

from __future__ import annotations

import asyncio
import json
import time

from cli_flows import DoubleFlow, ReviewFlow
from cli_li_flows import LiJokeFlow
from cli_support import HERE, flowpoint

from flowpoint import HumanResponseEvent, InputRequiredEvent, WorkflowCheckpointer, open_store
from flowpoint.storage import CheckpointQuery, CheckpointRecord, RunRecord

DOUBLE = "cli_flows:DoubleFlow"


def _ckpts(url, run_id):
    return open_store(url).list_checkpoints(CheckpointQuery(run_ids=(run_id,)))


def _runs(url):
    return json.loads(flowpoint("runs", "--json", store=url).out)


def test_resume_runs_the_later_steps_shows_progress_and_prints_the_result(filled):
    after_take = _ckpts(filled.url, filled.double_ok)[1]
    res = flowpoint("resume", after_take.id[:8], "--workflow", DOUBLE, store=filled.url)
    assert res.code == 0, res.err
    assert json.loads(res.out) == {"doubled": 42}
    assert "✓ double → StopEvent (seq 2" in res.err
    assert "take" not in res.err.split("new run")[1]
    new = _runs(filled.url)[-1]
    assert new["status"] == "completed" and new["origin_checkpoint_id"] == after_take.id


def test_resume_with_an_edit_changes_the_output_event_first(filled):
    after_take = _ckpts(filled.url, filled.double_ok)[1]
    res = flowpoint("resume", after_take.id, "--workflow", DOUBLE, "--edit", '{"n": 5}',
                    store=filled.url)
    assert res.code == 0, res.err
    assert json.loads(res.out) == {"doubled": 10}
    new = _runs(filled.url)[-1]
    assert new["edited"] is True
    stored = open_store(filled.url).get_run(new["run_id"])
    assert stored.edited["output_event"]["changes"] == {"n": {"before": 21, "after": 5}}


def test_resume_of_a_failing_step_exits_with_the_runs_failure(filled):
    start = _ckpts(filled.url, filled.double_failed)[0]
    res = flowpoint("resume", start.id, "--workflow", DOUBLE, store=filled.url)
    assert res.code == 1
    assert res.err.strip().splitlines()[-1].startswith("flowpoint: run ")
    assert "failed: StepFailed: cannot double -1" in res.err
    assert _runs(filled.url)[-1]["status"] == "failed"


def test_resume_by_run_id_starts_from_its_last_checkpoint(filled):
    res = flowpoint("resume", filled.double_failed[:8], "--workflow", DOUBLE, "--edit",
                    '{"n": 1}', store=filled.url)
    assert res.code == 0, res.err
    assert json.loads(res.out) == {"doubled": 2}
    last = _ckpts(filled.url, filled.double_failed)[-1]
    assert _runs(filled.url)[-1]["origin_checkpoint_id"] == last.id


def test_resume_refuses_bad_input_in_one_line(filled):
    ckpt = _ckpts(filled.url, filled.double_ok)[1]
    cases = [
        (("--workflow", "cli_flows"), "is not package.module:Class"),
        (("--workflow", "no_such_module_here:Flow"), "no such module"),
        (("--workflow", "cli_flows:Missing"), "has no attribute 'Missing'"),
        (("--workflow", "cli_flows:JokeFlow"), "belongs to a run of workflow 'DoubleFlow'"),
        (("--workflow", DOUBLE, "--edit", "{n: 5}"), "--edit is not JSON"),
        (("--workflow", DOUBLE, "--edit", '{"n": "five"}'), "is invalid"),
        (("--workflow", DOUBLE, "--edit", '{"m": 1}'), "has no field"),
    ]
    for args, needle in cases:
        res = flowpoint("resume", ckpt.id, *args, store=filled.url)
        assert res.code == 1, (args, res.err)
        assert needle in res.err and res.err.count("\n") == 1, (args, res.err)
    res = flowpoint("resume", ckpt.id, store=filled.url)
    assert res.code == 2 and "--workflow" in res.err


def _review_run(url):
    async def go():
        ckptr = WorkflowCheckpointer(workflow=ReviewFlow(), store=url)
        handler = ckptr.run(topic="cats")
        async for ev in handler.stream_events():
            if isinstance(ev, InputRequiredEvent):
                handler.ctx.send_event(HumanResponseEvent(response="no"))
        await handler
        ckptr.store.close()
        return handler.run_id

    return asyncio.run(go())


def test_resume_answers_a_human_prompt_from_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path}/review.db"
    run_id = _review_run(url)
    after_draft = [c for c in _ckpts(url, run_id) if c.step == "draft"][0]
    res = flowpoint("resume", after_draft.id, "--workflow", "cli_flows:ReviewFlow", "--answer",
                    "yes", store=url)
    assert res.code == 0, res.err
    assert res.out.startswith("published: ")
    assert "Publish this joke?" in res.err


def test_resume_waiting_for_an_answer_nobody_gives_exits_3(tmp_path):
    url = f"sqlite:///{tmp_path}/review.db"
    run_id = _review_run(url)
    after_draft = [c for c in _ckpts(url, run_id) if c.step == "draft"][0]
    res = flowpoint("resume", after_draft.id, "--workflow", "cli_flows:ReviewFlow", store=url)
    assert res.code == 3
    assert "waiting for input" in res.err and "--answer TEXT" in res.err


def _plant_foreign_checkpoint(url):
    """A run whose output event names a module that must never be imported."""
    store = open_store(url)
    now = time.time()
    store.put_run(RunRecord(run_id="feed0000-run", workflow="DoubleFlow", status="completed",
                            started_at=now, ended_at=now))
    for seq, step, out in [(0, None, {"__event__": "flowpoint.runtime.events.StartEvent",
                                      "data": {"n": 1}}),
                           (1, "take", {"__event__": "planted_module.Payload",
                                        "data": {"n": 1}})]:
        store.put_checkpoint(CheckpointRecord(
            id=f"feed000{seq}-ckpt", run_id="feed0000-run", seq=seq, step=step,
            input_type=None, output_type=out["__event__"], input_event=None, output_event=out,
            ctx_state={"store": {}, "queues": {}, "in_progress": {}, "collect_buffers": {},
                       "accepted_events": [], "event_log": [out], "pending_input": None,
                       "is_running": False},
            created_at=now))
    store.close()


def test_no_command_imports_a_name_found_in_stored_data(filled, tmp_path):
    _plant_foreign_checkpoint(filled.url)
    planted = tmp_path / "planted"
    planted.mkdir()
    marker = tmp_path / "imported.txt"
    (planted / "planted_module.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\n")
    env = {"PYTHONPATH": f"{planted}:{HERE}"}
    out = tmp_path / "x.jsonl"
    for args in [("checkpoints",), ("checkpoints", "--json"), ("show", "feed0001"),
                 ("show", "feed0000-run"), ("diff", "feed0000", "feed0001"),
                 ("export", "-o", str(out)), ("report",), ("runs",)]:
        res = flowpoint(*args, store=filled.url, env=env)
        assert res.code == 0, (args, res.err)
    res = flowpoint("import", str(out), store=f"sqlite:///{tmp_path}/copy.db", env=env)
    assert res.code == 0, res.err
    res = flowpoint("resume", "feed0001", "--workflow", DOUBLE, store=filled.url, env=env)
    assert res.code == 1 and "planted_module.Payload" in res.err
    assert res.err.count("\n") == 1
    assert not marker.exists()


def test_resume_with_state_sets_store_values_first(filled):
    after_take = _ckpts(filled.url, filled.double_ok)[1]
    res = flowpoint("resume", after_take.id, "--workflow", DOUBLE, "--state",
                    '{"taken": 100}', store=filled.url)
    assert res.code == 0, res.err
    new = _runs(filled.url)[-1]
    last = _ckpts(filled.url, new["run_id"])[-1]
    stored = open_store(filled.url).get_checkpoint(last.id)
    assert stored.ctx_state["store"]["taken"] == 100
    assert new["edited"] is True
    res = flowpoint("resume", after_take.id, "--workflow", DOUBLE, "--state", "[1]",
                    store=filled.url)
    assert res.code == 1 and "--state must be a JSON object" in res.err


def test_resume_of_a_paused_run_continues_it_under_its_own_id(tmp_path):
    url = f"sqlite:///{tmp_path}/paused.db"

    async def pause():
        ckptr = WorkflowCheckpointer(workflow=DoubleFlow(), store=url)
        handler = ckptr.run(n=4, pause_before="double")
        await asyncio.gather(handler, return_exceptions=True)
        ckptr.store.close()
        return handler.run_id

    run_id = asyncio.run(pause())
    assert [r["status"] for r in _runs(url)] == ["paused"]
    res = flowpoint("resume", run_id[:8], "--workflow", DOUBLE, store=url)
    assert res.code == 0, res.err
    assert json.loads(res.out) == {"doubled": 8}
    runs = _runs(url)
    assert [(r["run_id"], r["status"]) for r in runs] == [(run_id, "completed")]


def test_resume_a_llama_index_workflow_named_on_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path}/li.db"

    async def first():
        ckptr = WorkflowCheckpointer(workflow=LiJokeFlow(), store=url)
        await ckptr.run(topic="owls")
        ckptr.store.close()

    asyncio.run(first())
    ckpts = json.loads(flowpoint("checkpoints", "--step", "generate_joke", "--json",
                                 store=url).out)
    res = flowpoint("resume", ckpts[0]["id"], "--workflow", "cli_li_flows:LiJokeFlow",
                    "--edit", '{"joke": "an edited joke"}', store=url)
    assert res.code == 0, res.err
    assert res.out.strip() == "critique of 'an edited joke' (owls)"
    assert "✓ critique_joke → StopEvent" in res.err
