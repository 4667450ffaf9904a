"""CheckpointExplorer on a real SQLite file: selection, table, diff, pin, edit and resume."""

from __future__ import annotations

import html

import ipywidgets as w
import pytest
from explorer_helpers import Plan, PlanFlow, click_mark, row_of

from flowpoint import CheckpointNotFound, WorkflowCheckpointer
from flowpoint.demo import JokeEvent, JokeFlow
from flowpoint.notebook.explorer import DIFF
from flowpoint.runtime.events import EVENT_REGISTRY, event_key


@pytest.fixture
async def jokes(store):
    ckptr = WorkflowCheckpointer(JokeFlow(), store=store)
    for topic in ("chemistry", "physics"):
        await ckptr.run(topic=topic)
    return ckptr


@pytest.fixture
async def plans(store):
    ckptr = WorkflowCheckpointer(PlanFlow(), store=store)
    for topic in ("trip", "party"):
        await ckptr.run(topic=topic)
    return ckptr


def _ckpts(ckptr, index):
    return list(ckptr.checkpoints.values())[index]


async def test_opens_on_the_newest_runs_last_checkpoint_with_a_stable_repr(jokes, explorers):
    e = explorers(jokes)
    newest = _ckpts(jokes, -1)
    assert e.selected.id_ == newest[-1].id_
    assert repr(e) == f"CheckpointExplorer(runs=2, checkpoints=6, selected={newest[-1].id_[:8]!r})"
    assert len(e.timeline.runs) == 2 and len(e.timeline.marks) == 6
    assert e.timeline.selected == newest[-1].id_
    assert [v for _, v in e.table.options][0] == newest[-1].id_  # newest first


async def test_clicking_a_timeline_mark_selects_it_in_table_detail_and_edit(jokes, explorers):
    e = explorers(jokes)
    gen = _ckpts(jokes, 0)[1]
    click_mark(e, gen.id_)
    assert e.selected.id_ == gen.id_
    assert e.table.value == gen.id_
    assert gen.id_ in e.detail.value and "generate_joke" in e.detail.value
    assert html.escape(gen.output_event.joke) in e.detail.value
    assert "context snapshot" in e.detail.value and "event_log" in e.detail.value
    assert e.edit_form.event_type is JokeEvent
    assert e.edit_form.widgets["joke"].value == gen.output_event.joke
    assert not e.edit_button.disabled


async def test_picking_a_table_row_and_select_by_prefix_move_the_timeline(jokes, explorers):
    e = explorers(jokes)
    start = _ckpts(jokes, 0)[0]
    e.table.value = start.id_
    assert e.selected.id_ == start.id_ and e.timeline.selected == start.id_
    crit = _ckpts(jokes, 1)[2]
    assert e.select(crit.id_[:10]).id_ == crit.id_
    assert e.timeline.selected == crit.id_ and e.table.value == crit.id_
    with pytest.raises(CheckpointNotFound):
        e.select("ffffffffffff")


async def test_diff_shows_changed_store_and_event_paths_with_both_values(plans, explorers):
    e = explorers(plans)
    start, planned, total = _ckpts(plans, 0)
    click_mark(e, total.id_)
    e.diff_button.click()
    assert e.tabs.selected_index == DIFF
    view = e.diff_view.value
    assert "previous" in view and planned.id_[:8] in view and total.id_[:8] in view
    row = row_of(view, "ctx_state.store.count")
    assert "changed" in row and "<td>1</td>" in row and "<td>2</td>" in row
    row = row_of(view, "output_event.__event__")
    assert "Plan" in row and "StopEvent" in row
    click_mark(e, start.id_)  # the Diff tab is open: it follows the selection
    assert "start of run" in e.diff_view.value and "no previous" in e.diff_view.value


async def test_pin_then_diff_compares_pinned_against_selected(plans, explorers):
    e = explorers(plans)
    first, second = (_ckpts(plans, i) for i in (0, 1))
    click_mark(e, first[0].id_)
    e.pin_button.click()
    assert e.timeline.pinned == first[0].id_ and e.pinned.id_ == first[0].id_
    click_mark(e, second[2].id_)
    e.diff_button.click()
    view = e.diff_view.value
    assert "pinned" in view and first[0].id_[:8] in view
    assert "added" in row_of(view, "ctx_state.store.count")
    row = row_of(view, "output_event.data.topic")
    assert "removed" in row and "trip" in row
    e.select(first[0].id_)
    e.pin_button.click()  # pressing Pin on the pinned checkpoint unpins it
    assert e.pinned is None and e.timeline.pinned == ""


async def test_edit_form_has_a_widget_per_field_type(plans, explorers):
    e = explorers(plans)
    e.select(_ckpts(plans, 0)[1].id_)
    f = e.edit_form.widgets
    assert isinstance(f["title"], w.Text) and isinstance(f["budget"], w.IntText)
    assert isinstance(f["ratio"], w.FloatText) and isinstance(f["urgent"], w.Checkbox)
    assert isinstance(f["items"], w.Textarea) and f["items"].value.replace(" ", "").replace(
        "\n", "") == '["a","b"]'
    e.select(_ckpts(plans, 0)[0].id_)  # the StartEvent's extra field
    assert list(e.edit_form.widgets) == ["topic"] and e.edit_form.widgets["topic"].value == "trip"


async def test_resume_with_edit_starts_a_new_run_from_the_edited_event(plans, explorers):
    e = explorers(plans)
    planned = _ckpts(plans, 0)[1]
    click_mark(e, planned.id_)
    e.edit_form.widgets["items"].value = '["x", "y", "z"]'
    e.edit_form.widgets["budget"].value = 7
    e.edit_button.click()
    await e.last_task
    runs = plans.runs
    assert len(runs) == 3
    new = list(runs.values())[-1]
    assert new.status == "completed" and new.origin_checkpoint_id == planned.id_
    changes = new.edited["output_event"]["changes"]
    assert changes == {"budget": {"before": 10, "after": 7},
                       "items": {"before": ["a", "b"], "after": ["x", "y", "z"]}}
    assert plans.result_of(new.run_id) == "trip: 21"
    again = plans.get(planned.id_)
    assert again.output_event == Plan(title="trip", items=["a", "b"], budget=10)
    assert e.selected.run_id == new.run_id and e.selected.last_completed_step == "total"
    assert e.timeline.selected == e.selected.id_ and e.table.value == e.selected.id_
    assert f"completed run {new.run_id[:8]}: trip: 21" in e.status.value
    assert "fp-status" in e.status._dom_classes


@pytest.mark.parametrize("items, says", [("[not json", "not valid JSON"),
                                          ('{"a": 1}', "valid list")])
async def test_an_invalid_edit_is_shown_naming_the_field_and_stores_nothing(
        plans, explorers, items, says):
    e = explorers(plans)
    e.select(_ckpts(plans, 0)[1].id_)
    before = len(plans.runs)
    e.edit_form.widgets["items"].value = items
    e.edit_button.click()
    assert e.last_task is None
    assert "items" in e.edit_error.value and says in e.edit_error.value
    assert "fp-error" in e.edit_error.value and "InvalidEdit" in e.status.value
    assert len(plans.runs) == before


async def test_resume_button_runs_from_the_selected_checkpoint_and_selects_the_result(
        jokes, explorers):
    e = explorers(jokes)
    gen = _ckpts(jokes, 0)[1]
    e.select(gen.id_)
    e.resume_button.click()
    assert e.last_task is not None and not e.last_task.done()  # launched, not awaited
    await e.last_task
    new = list(jokes.runs.values())[-1]
    assert new.status == "completed" and new.origin_checkpoint_id == gen.id_
    assert e.selected.run_id == new.run_id and e.selected.seq == 2
    assert f"completed run {new.run_id[:8]}: Critique:" in e.status.value
    assert "2 checkpoints" not in e.status.value  # the final message replaces progress
    assert e.monitor.progress.bar_style == "success"
    assert repr(e).startswith("CheckpointExplorer(runs=3, checkpoints=7,")


async def test_filters_are_queried_in_the_store_and_narrow_table_and_timeline(
        jokes, explorers, monkeypatch):
    await jokes.run(topic="biology")
    e = explorers(jokes)
    seen = []
    original = jokes.store.list_checkpoints

    def spy(query=None, *args, **kwargs):
        seen.append(query)
        return original(query, *args, **kwargs)

    monkeypatch.setattr(jokes.store, "list_checkpoints", spy)
    assert len(e.table.options) == 9
    e.filters["step"].value = "critique_joke"
    assert seen[-1].steps == ("critique_joke",)
    assert len(e.table.options) == 3 and len(e.timeline.marks) == 3
    assert "of 3 matching" in e.table_info.value
    e.filters["step"].value = ""
    e.filters["text"].value = "physics"
    assert seen[-1].text == "physics"
    physics = _ckpts(jokes, 1)[0].run_id
    assert e.table.options and {v for _, v in e.table.options} <= {
        c.id_ for c in jokes.checkpoints[physics]}
    assert [r["run_id"] for r in e.timeline.runs] == [physics]
    e.filters["text"].value = ""
    e.filters["step"].value = "(start)"
    assert seen[-1].steps == (None,) and len(e.table.options) == 3
    e.filters["step"].value = ""
    e.filters["run"].value = physics
    assert len(e.table.options) == 3 and seen[-1].run_ids == (physics,)
    e.filters["run"].value = ""
    e.filters["status"].value = "completed"
    assert seen[-1].statuses == ("completed",) and len(e.table.options) == 9
    e.filters["status"].value = ""
    assert len(e.table.options) == 9 and len(e.timeline.marks) == 9


async def test_many_runs_are_limited_to_max_runs_and_the_table_pages(store, explorers):
    ckptr = WorkflowCheckpointer(PlanFlow(), store=store)
    for i in range(700):
        await ckptr.run(topic=f"t{i}")
    e = explorers(ckptr, max_runs=600)
    assert len(ckptr.store.list_checkpoints()) == 2100
    assert repr(e).startswith("CheckpointExplorer(runs=600, checkpoints=1800,")
    assert "newest 600 of 700 runs" in e.note.value
    assert len(e.table.options) == 200 and "showing 1–200 of 1800" in e.table_info.value
    e.next_button.click()
    assert "showing 201–400 of 1800" in e.table_info.value
    oldest_shown = list(ckptr.runs)[100]
    e.select(ckptr.checkpoints[oldest_shown][0].id_)  # jumps to the page of the selection
    assert "showing 1601–1800" in e.table_info.value
    assert e.table.value == e.selected.id_
    only = explorers(ckptr, run_ids=[oldest_shown[:8]])
    assert len(only.timeline.runs) == 1 and len(only.timeline.marks) == 3


async def test_refresh_button_shows_runs_started_elsewhere(jokes, explorers):
    e = explorers(jokes)
    handler = jokes.run(topic="geology")
    await handler
    e.refresh_button.click()
    assert handler.run_id in [r["run_id"] for r in e.timeline.runs]
    assert len(e.table.options) == 9


async def test_launch_errors_are_shown_in_the_status_line_not_raised(jokes, explorers):
    e = explorers(jokes)
    e.select(_ckpts(jokes, 0)[1].id_)
    jokes.workflow = PlanFlow()  # a workflow without the checkpoint's step
    before = len(jokes.runs)
    e.resume_button.click()
    assert e.last_task is None and len(jokes.runs) == before
    assert "StepNotInWorkflow" in e.status.value and "generate_joke" in e.status.value


async def test_an_output_event_of_an_unloaded_type_disables_the_form(
        store, explorers, monkeypatch):
    ckptr = WorkflowCheckpointer(PlanFlow(), store=store)
    await ckptr.run(topic="trip")
    monkeypatch.delitem(EVENT_REGISTRY, event_key(Plan))
    e = explorers(ckptr)
    planned = _ckpts(ckptr, 0)[1]
    e.select(planned.id_)
    assert e.edit_form.disabled and e.edit_button.disabled and not e.edit_form.widgets
    assert "not loaded" in e.edit_form.header.value and "Plan" in e.edit_form.header.value
    assert "problem" in e.detail.value
    e.resume_button.click()
    assert e.last_task is None and len(ckptr.runs) == 1
    assert "UnknownEventType" in e.status.value
