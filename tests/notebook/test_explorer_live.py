"""CheckpointExplorer with live runs: human input, failures shown in place, hostile strings."""

from __future__ import annotations

import html

import pytest
from explorer_helpers import IMG, SCRIPT, HostileFlow, click_mark, rendered_html, wait_for

from flowpoint import WorkflowCheckpointer
from flowpoint.demo import ReviewFlow
from flowpoint.notebook.explorer import CheckpointExplorer


async def test_a_waiting_run_shows_its_prompt_and_the_answer_completes_it(store, explorers):
    ckptr = WorkflowCheckpointer(ReviewFlow(), store=store)
    e = explorers(ckptr)
    assert e.selected is None and repr(e) == "CheckpointExplorer(runs=0, checkpoints=0, selected=None)"
    handler = ckptr.run(topic="cats")
    await wait_for(lambda: e.human.run_id == handler.run_id)  # the explorer refreshed by itself
    assert ckptr.get_run(handler.run_id).status == "waiting"
    assert e.selected.run_id == handler.run_id and e.selected.last_completed_step == "draft"
    draft = e.selected.output_event.prefix
    assert html.escape(draft) in e.human.prompt.value and "Publish this joke?" in draft
    assert e.human.layout.display != "none" and e.respond_button.description == "Send response"
    assert e.human.answer_row in e.human.children
    e.respond_text.value = "yes"
    e.respond_button.click()
    result = await handler
    await e.last_task
    assert result.startswith("published: ")
    assert ckptr.get_run(handler.run_id).status == "completed"
    assert f"completed run {handler.run_id[:8]}: published:" in e.status.value
    assert e.selected.last_completed_step == "decide" and e.human.layout.display == "none"


async def test_a_waiting_run_not_live_here_offers_resume_from_its_last_checkpoint(
        store, explorers):
    live = WorkflowCheckpointer(ReviewFlow(), store=store)
    handler = live.run(topic="dogs")
    await wait_for(lambda: live.get_run(handler.run_id).status == "waiting")
    other = WorkflowCheckpointer(ReviewFlow(), store=store)  # e.g. a restarted kernel's
    e = explorers(other)
    assert e.selected.run_id == handler.run_id
    assert "not running in this process" in e.human.prompt.value
    assert e.human.resume_button in e.human.children
    assert e.human.answer_row not in e.human.children
    e.human.resume_button.click()
    new_id = next(r for r in other.runs if r != handler.run_id)
    await wait_for(lambda: other.get_run(new_id).status == "waiting")
    assert other.get_run(new_id).origin_checkpoint_id == e.human.last_checkpoint.id_
    await wait_for(lambda: e.human.run_id == new_id)  # the new run is live: it can be answered
    assert e.human.answer_row in e.human.children and e.respond_button in e.human.answer_row.children
    e.respond_text.value = "no"
    e.respond_button.click()
    await e.last_task
    assert other.result_of(new_id).startswith("rejected: ")
    await handler.cancel_run()


async def test_a_failing_run_shows_its_error_in_place(store, explorers):
    ckptr = WorkflowCheckpointer(HostileFlow(), store=store)
    with pytest.raises(ValueError):
        await ckptr.run(topic="please fail")
    e = explorers(ckptr)
    run = next(iter(ckptr.runs.values()))
    assert run.status == "failed"
    assert "ValueError" in e.detail.value and "boom" in e.detail.value
    e.select(ckptr.checkpoints[run.run_id][0].id_)
    e.resume_button.click()
    await e.last_task
    new = list(ckptr.runs.values())[-1]
    assert new.status == "failed" and new.origin_checkpoint_id is not None
    status = e.status.value
    assert f"run {new.run_id[:8]} failed: ValueError: boom" in status and "fp-error" in status
    assert html.escape(SCRIPT) in status
    assert e.selected.run_id == new.run_id and "ValueError" in e.detail.value
    assert e.monitor.progress.bar_style == "danger"


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
    for ckpts in ckptr.checkpoints.values():
        for ckpt in ckpts:
            click_mark(e, ckpt.id_)
            _assert_clean(e)
            e.diff_button.click()
            _assert_clean(e)
            seen += e.detail.value + e.diff_view.value
    assert html.escape(SCRIPT) in seen and html.escape(IMG) in seen  # shown, escaped
    first = next(iter(ckptr.checkpoints.values()))
    e.select(first[0].id_)
    e.pin_button.click()
    e.select(first[-1].id_)
    e.diff_button.click()
    _assert_clean(e)
    e.select(first[1].id_)  # resume with an edit that is itself hostile
    e.edit_form.widgets["text"].value = f"{IMG}{SCRIPT}"
    e.edit_button.click()
    await e.last_task
    assert "completed run" in e.status.value and html.escape(SCRIPT) in e.status.value
    _assert_clean(e)
    e.filters["text"].value = "script"
    _assert_clean(e)
    assert e.table.options
