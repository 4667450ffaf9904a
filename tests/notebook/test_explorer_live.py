"""CheckpointExplorer with live runs: human input, failures shown in place, hostile strings."""

from __future__ import annotations

import html

import pytest
from explorer_helpers import (
    IMG,
    SCRIPT,
    HostileFlow,
    click_mark,
    rendered_html,
    type_search,
    wait_for,
)

from flowpoint import WorkflowCheckpointer
from flowpoint.demo import ReviewFlow
from flowpoint.notebook.explorer import CheckpointExplorer


async def test_a_waiting_run_shows_its_prompt_and_enter_sends_the_answer(store, explorers):
    ckptr = WorkflowCheckpointer(ReviewFlow(), store=store)
    e = explorers(ckptr)
    assert e.selected is None and repr(e) == "CheckpointExplorer(rows=0, matching=0, selected=None)"
    handler = ckptr.run(topic="cats")
    await wait_for(lambda: e.human.run_id == handler.run_id)  # the explorer refreshed by itself
    assert ckptr.get_run(handler.run_id).status == "waiting"
    assert e.selected.run_id == handler.run_id and e.selected.last_completed_step == "draft"
    draft = e.selected.output_event.prefix
    assert html.escape(draft) in e.human.prompt.value and "Publish this joke?" in draft
    start = ckptr.start_checkpoint(handler.run_id)
    e.select(start.id_)  # any checkpoint of the waiting run shows its prompt
    assert e.human.run_id == handler.run_id and e.human.layout.display != "none"
    assert e.human.answer_row in e.human.children
    e.human.text.value = "yes"
    e.human.text._handle_custom_msg({"event": "submit"}, [])  # Enter in the answer box
    result = await handler
    await e.last_task
    assert result.startswith("published: ")
    assert f"completed run {handler.run_id[:8]}: published:" in e.status.value
    assert e.human.layout.display == "none"


async def test_a_run_waiting_in_another_checkpointer_of_the_kernel_can_be_answered(
        store, explorers):
    live = WorkflowCheckpointer(ReviewFlow(), store=store)
    handler = live.run(topic="dogs")
    await wait_for(lambda: live.get_run(handler.run_id).status == "waiting")
    other = WorkflowCheckpointer(ReviewFlow(), store=store)
    e = explorers(other)
    assert e.selected.run_id == handler.run_id
    assert e.human.answer_row in e.human.children
    assert "No process of this kernel" not in e.human.prompt.value
    e.human.text.value = "no"
    e.human.send_button.click()
    assert (await handler).startswith("rejected: ")


async def test_a_waiting_run_no_process_runs_offers_resume_from_its_last_checkpoint(
        store, explorers):
    live = WorkflowCheckpointer(ReviewFlow(), store=store)
    handler = live.run(topic="dogs")
    await wait_for(lambda: live.get_run(handler.run_id).status == "waiting")
    await handler.cancel_run()
    live.store.update_run(handler.run_id, status="waiting")  # as a run of a killed kernel
    e = explorers(live)
    e.select(live.checkpoints[handler.run_id][-1].id_)
    assert "No process of this kernel runs it" in e.human.prompt.value
    assert e.human.resume_button in e.human.children
    e.human.resume_button.click()
    new_id = next(r for r in live.runs if r != handler.run_id)
    await wait_for(lambda: live.get_run(new_id).status == "waiting")
    await wait_for(lambda: e.human.run_id == new_id)
    e.human.text.value = "yes"
    e.human.send_button.click()
    await e.last_task
    assert live.result_of(new_id).startswith("published: ")


async def test_a_failing_run_names_its_step_and_shows_the_traceback(store, explorers):
    ckptr = WorkflowCheckpointer(HostileFlow(), store=store)
    with pytest.raises(ValueError):
        await ckptr.run(topic="please fail")
    e = explorers(ckptr)
    run = next(iter(ckptr.runs.values()))
    assert run.status == "failed"
    detail = e.detail.value
    assert "failed in step &#x27;finish&#x27;" in detail and "ValueError" in detail
    assert "<details class='fp-tb'><summary>traceback</summary>" in detail  # collapsed
    assert "Traceback (most recent call last)" in detail
    e.select(ckptr.start_checkpoint(run.run_id).id_)
    e.resume_button.click()
    await e.last_task
    new = list(ckptr.runs.values())[-1]
    assert new.status == "failed" and new.origin_checkpoint_id is not None
    status = e.status.value
    assert f"run {new.run_id[:8]} failed: ValueError: boom" in status and "fp-error" in status
    assert html.escape(SCRIPT) in status
    assert e.monitor.progress.bar_style == "danger"


async def test_an_interrupted_run_says_what_to_do(store, explorers):
    ckptr = WorkflowCheckpointer(ReviewFlow(), store=store)
    handler = ckptr.run(topic="owls")
    await wait_for(lambda: ckptr.get_run(handler.run_id).status == "waiting")
    await handler.cancel_run()
    ckptr.store.update_run(handler.run_id, status="interrupted")
    e = explorers(ckptr)
    e.select(ckptr.checkpoints[handler.run_id][-1].id_)
    assert "was interrupted" in e.detail.value and "press Resume" in e.detail.value


def _assert_clean(e: CheckpointExplorer) -> None:
    for text in rendered_html(e):
        low = text.lower()
        assert "<script" not in low and "<img" not in low, text[:300]


async def test_hostile_strings_are_escaped_in_everything_the_explorer_renders(store, explorers):
    ckptr = WorkflowCheckpointer(HostileFlow(), store=store)
    await ckptr.run(topic=SCRIPT)
    with pytest.raises(ValueError):
        await ckptr.run(topic=f"fail {IMG}")
    e = explorers(ckptr)
    seen = ""
    every = [ckptr.filter_checkpoints(run_id=r, include_start=True) for r in ckptr.runs]
    for ckpts in every:
        for ckpt in ckpts:
            click_mark(e, ckpt.id_)
            _assert_clean(e)
            e.state.mode = "diff"
            _assert_clean(e)
            seen += e.detail.value + e.diff_view.html.value
            e.state.mode = "detail"
    assert html.escape(SCRIPT) in seen and html.escape(IMG) in seen  # shown, escaped
    first = every[0]
    e.select(first[1].id_)  # resume with an edit that is itself hostile
    e.edit_view.event_form.widgets["text"].value = f"{IMG}{SCRIPT}"
    e.edit_view.state_form.text.value = '{"' + SCRIPT + '": "' + IMG.replace('"', '\\"') + '!"}'
    e.edit_view.resume_button.click()
    await e.last_task
    assert "completed run" in e.status.value and html.escape(SCRIPT) in e.status.value
    _assert_clean(e)
    type_search(e, "script")
    _assert_clean(e)
    assert e.rows and any(SCRIPT in str(r["metadata"]) for r in e.rows)  # table cells are text
