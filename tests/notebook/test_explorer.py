"""CheckpointExplorer on a real SQLite file, driven through its state and its views."""

from __future__ import annotations

import html

import ipywidgets as w
import pytest
import traitlets
from explorer_helpers import (
    Plan,
    PlanFlow,
    click_mark,
    click_row,
    diff_row,
    from_browser,
    type_search,
)

from flowpoint import CheckpointNotFound, StopEvent, WorkflowCheckpointer
from flowpoint.demo import JokeEvent, JokeFlow
from flowpoint.notebook.explorer import READ_ONLY, ExplorerState
from flowpoint.notebook.magics import StoreView
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
    """A run's checkpoints as the explorer shows them: its start checkpoint first."""
    return ckptr.filter_checkpoints(run_id=list(ckptr.runs)[index], include_start=True)


async def test_opens_newest_first_on_the_newest_checkpoint_with_a_stable_repr(jokes, explorers):
    e = explorers(jokes)
    newest = _ckpts(jokes, -1)
    assert e.selected.id_ == newest[-1].id_ == e.state.selected
    assert repr(e) == f"CheckpointExplorer(rows=6, matching=6, selected={newest[-1].id_[:8]!r})"
    assert [r["checkpoint_id"] for r in e.rows[:3]] == [c.id_ for c in reversed(newest)]
    assert [lane["run_id"] for lane in e.timeline.runs] == [newest[0].run_id,
                                                           _ckpts(jokes, 0)[0].run_id]
    assert e.timeline.selected == e.table.selected == newest[-1].id_
    assert e.table.total == e.table.total_all == 6


async def test_rows_have_every_column_and_start_checkpoints(jokes, explorers):
    e = explorers(jokes)
    row = e.rows[0]
    assert set(row) >= {"checkpoint_id", "run_id", "seq", "step", "input", "output", "status",
                        "created", "duration", "error", "metadata"}
    assert row["step"] == "critique_joke" and row["output"] == "StopEvent"
    assert row["status"] == "completed" and row["duration"].endswith(" s")
    start = e.rows[2]
    assert start["seq"] == 0 and start["step"] is None and start["status"] == "started"
    cols = [c["key"] for c in e.table.columns]
    assert cols == ["run", "seq", "step", "input", "output", "status", "created", "duration",
                    "error", "metadata"]


async def test_a_click_in_table_or_timeline_selects_everywhere(jokes, explorers):
    e = explorers(jokes)
    gen = _ckpts(jokes, 0)[1]
    click_mark(e, gen.id_)
    assert e.state.selected == gen.id_ == e.table.selected == e.selected.id_
    assert gen.id_ in e.detail.value and "generate_joke" in e.detail.value
    assert html.escape(gen.output_event.joke) in e.detail.value
    assert e.edit_view.event_form.event_type is JokeEvent
    start = _ckpts(jokes, 1)[0]
    click_row(e, start.id_)
    assert e.timeline.selected == start.id_ == e.selected.id_
    crit = _ckpts(jokes, 1)[2]
    assert e.select(crit.id_[:10]).id_ == crit.id_
    assert e.timeline.selected == crit.id_ == e.table.selected
    with pytest.raises(CheckpointNotFound):
        e.select("ffffffffffff")


async def test_set_filters_queries_the_store_and_narrows_table_and_timeline(
        jokes, explorers, monkeypatch):
    await jokes.run(topic="biology")
    e = explorers(jokes)
    seen = []
    original = jokes.store.table_rows

    def spy(query=None, *args, **kwargs):
        seen.append(query)
        return original(query, *args, **kwargs)

    monkeypatch.setattr(jokes.store, "table_rows", spy)
    rows = e.set_filters(step="critique_joke")
    assert seen[0].steps == ("critique_joke",)
    assert len(rows) == 3 and {r["step"] for r in rows} == {"critique_joke"}
    assert len(e.timeline.marks) == 3 and e.table.total == 3 and e.table.total_all == 9
    assert e.state.filters == {"step": "critique_joke"}
    assert e.table.filters["step"] == "critique_joke"
    assert len(e.set_filters(step="(start)")) == 3
    assert len(e.set_filters(output_type=JokeEvent)) == 3
    assert len(e.set_filters(input_type="JokeEvent", status="completed")) == 3
    assert e.set_filters(status="failed") == []
    assert len(e.set_filters()) == 9 and len(e.timeline.marks) == 9
    with pytest.raises(traitlets.TraitError, match="unknown filter"):
        e.state.filters = {"colour": "red"}


async def test_live_search_from_the_browser_covers_events_state_and_errors(store, explorers):
    ckptr = WorkflowCheckpointer(PlanFlow(), store=store)
    for topic in ("trip", "party", "picnic"):
        await ckptr.run(topic=topic)
    e = explorers(ckptr)
    type_search(e, "party")
    assert e.state.filters == {"text": "party"} and e.state.page == 0
    party = _ckpts(ckptr, 1)[0].run_id
    assert {r["run_id"] for r in e.rows} == {party} and e.table.total == 3
    assert [lane["run_id"] for lane in e.timeline.runs] == [party]
    type_search(e, "")
    assert e.table.total == 9


async def test_search_finds_a_failing_runs_error_message(store, explorers):
    from explorer_helpers import HostileFlow

    ckptr = WorkflowCheckpointer(HostileFlow(), store=store)
    await ckptr.run(topic="calm")
    with pytest.raises(ValueError):
        await ckptr.run(topic="please fail")
    e = explorers(ckptr)
    rows = e.set_filters(text="boom")
    failed = next(r for r in ckptr.runs.values() if r.status == "failed")
    assert rows and {r["run_id"] for r in rows} == {failed.run_id}


async def test_sorting_by_a_column_and_paging_happen_in_the_store(store, explorers):
    ckptr = WorkflowCheckpointer(PlanFlow(), store=store)
    for i in range(30):
        await ckptr.run(topic=f"t{i:02d}")
    e = explorers(ckptr, page_size=25)
    assert len(e.rows) == 25 and e.table.total == 90
    from_browser(e.table, sort="step", descending=False, page=0)
    assert [r["step"] for r in e.rows] == [None] * 25
    from_browser(e.table, page=3)
    assert e.state.page == 3 and len(e.rows) == 15
    assert {r["step"] for r in e.rows} == {"total"}
    from_browser(e.table, page=9)  # past the end: the last page
    assert e.state.page == 3
    from_browser(e.table, sort="seq", descending=True, page=0)
    assert {r["seq"] for r in e.rows} == {2}
    e.state.sort = ""
    assert e.rows[0]["run_id"] == list(ckptr.runs)[-1]


async def test_detail_clears_when_its_checkpoint_is_filtered_away(jokes, explorers):
    e = explorers(jokes)
    gen = _ckpts(jokes, 0)[1]
    e.select(gen.id_)
    e.set_filters(step="critique_joke")
    assert e.state.selected == "" and e.selected is None
    assert gen.id_ not in e.detail.value and "select a checkpoint" in e.detail.value
    e.set_filters()
    e.select(gen.id_)
    e.set_filters(text="chemistry")
    assert e.state.selected == gen.id_  # still shown: it matches


async def test_diff_puts_the_users_state_first_and_hides_bookkeeping(plans, explorers):
    e = explorers(plans)
    start, planned, total = _ckpts(plans, 0)
    e.select(total.id_)
    e.state.mode = "diff"
    assert e.tabs.selected_index == 1
    view = e.diff_view.html.value
    assert view.index("Your state (ctx.store)") < view.index("Events")
    row = diff_row(view, "count")
    assert "changed" in row and ">1</div>" in row and ">2</div>" in row
    row = diff_row(view, "output event")
    assert "Plan(title=&quot;trip&quot;" in row and "StopEvent(result=&quot;trip: 20&quot;)" in row
    assert "__event__" not in view
    assert "flowpoint.runtime.events" not in view
    assert "event_log" not in view and "bookkeeping change(s) hidden" in view
    e.diff_view.show_all.value = True
    assert e.state.show_all and "event_log" in e.diff_view.html.value
    click_mark(e, start.id_)  # the Diff tab is open: it follows the selection
    assert "start of run" in e.diff_view.html.value


async def test_long_values_are_laid_out_side_by_side(store, explorers):
    ckptr = WorkflowCheckpointer(JokeFlow(), store=store)
    await ckptr.run(topic="a very long topic " * 8)
    e = explorers(ckptr)
    e.select(_ckpts(ckptr, 0)[1].id_)
    e.state.mode = "diff"
    assert "fp-diff-row--wide" in diff_row(e.diff_view.html.value, "input event")


async def test_pin_then_diff_compares_pinned_against_selected(plans, explorers):
    e = explorers(plans)
    first, second = (_ckpts(plans, i) for i in (0, 1))
    e.select(first[0].id_)
    e.pin_button.click()
    assert e.state.pinned == first[0].id_ == e.timeline.pinned
    e.select(second[2].id_)
    e.state.mode = "diff"
    view = e.diff_view.html.value
    assert "pinned" in view and first[0].id_[:8] in view
    assert "added" in diff_row(view, "count")
    e.select(first[0].id_)
    e.pin_button.click()
    assert e.pinned is None and e.timeline.pinned == ""


async def test_edit_form_has_a_widget_per_field_type(plans, explorers):
    e = explorers(plans)
    e.select(_ckpts(plans, 0)[1].id_)
    f = e.edit_view.event_form.widgets
    assert isinstance(f["title"], w.Text) and isinstance(f["budget"], w.IntText)
    assert isinstance(f["ratio"], w.FloatText) and isinstance(f["urgent"], w.Checkbox)
    assert isinstance(f["items"], w.Textarea)
    assert '"count": 1' in e.edit_view.state_form.text.value


async def test_resume_with_edit_of_event_and_state_keeps_the_form(plans, explorers):
    e = explorers(plans)
    planned = _ckpts(plans, 0)[1]
    click_mark(e, planned.id_)
    e.state.mode = "edit"
    e.edit_view.event_form.widgets["budget"].value = 7
    e.edit_view.state_form.text.value = '{"count": 40}'
    e.edit_view.resume_button.click()
    await e.last_task
    new = list(plans.runs.values())[-1]
    assert new.status == "completed" and new.origin_checkpoint_id == planned.id_
    assert new.edited["output_event"]["changes"] == {"budget": {"before": 10, "after": 7}}
    assert new.edited["state"]["changes"] == {"count": {"before": 1, "after": 40}}
    assert plans.result_of(new.run_id) == "trip: 14"
    assert plans.get(planned.id_).ctx_state["store"]["count"] == 1  # stored one unchanged
    assert e.state.selected == planned.id_ and e.state.mode == "edit"  # the form stays
    assert e.edit_view.event_form.widgets["budget"].value == 7
    assert f"completed run {new.run_id[:8]}: trip: 14" in e.status.value


@pytest.mark.parametrize("state_text, says", [("[1,", "not valid JSON"),
                                              ("[1]", "JSON object")])
async def test_an_invalid_state_edit_is_shown_and_stores_nothing(plans, explorers, state_text,
                                                                 says):
    e = explorers(plans)
    e.select(_ckpts(plans, 0)[1].id_)
    before = len(plans.runs)
    e.edit_view.state_form.text.value = state_text
    e.edit_view.resume_button.click()
    assert e.last_task is None and len(plans.runs) == before
    assert says in e.edit_view.error.value and "InvalidEdit" in e.status.value


async def test_resume_from_a_final_checkpoint_is_disabled_with_the_reason(jokes, explorers):
    e = explorers(jokes)
    final = _ckpts(jokes, 0)[2]
    assert isinstance(final.output_event, StopEvent)
    e.select(final.id_)
    assert e.resume_button.disabled and e.edit_view.resume_button.disabled
    assert "final checkpoint" in e.toolbar.reason.value
    e.select(_ckpts(jokes, 0)[1].id_)
    assert not e.resume_button.disabled and e.toolbar.reason.value == ""


async def test_resume_runs_from_the_selected_checkpoint_and_selects_the_result(jokes, explorers):
    e = explorers(jokes)
    gen = _ckpts(jokes, 0)[1]
    e.select(gen.id_)
    e.resume_button.click()
    assert e.last_task is not None and not e.last_task.done()  # launched, not awaited
    await e.last_task
    new = list(jokes.runs.values())[-1]
    assert new.status == "completed" and new.origin_checkpoint_id == gen.id_
    assert e.selected.run_id == new.run_id
    assert e.timeline.runs[0]["run_id"] == new.run_id and e.timeline.runs[0]["resumed"]
    assert f"completed run {new.run_id[:8]}: Critique:" in e.status.value
    assert e.monitor.progress.bar_style == "success"


async def test_a_breakpoint_set_in_the_explorer_pauses_and_resume_continues(jokes, explorers):
    e = explorers(jokes)
    e.toolbar.breakpoint.value = "critique_joke"
    assert e.state.breakpoints == ["critique_joke"]
    start = _ckpts(jokes, 0)[0]
    e.select(start.id_)
    e.resume_button.click()
    await e.last_task
    paused = list(jokes.runs.values())[-1]
    assert paused.status == "paused" and "paused at a breakpoint" in e.status.value
    assert e.selected.run_id == paused.run_id and e.selected.last_completed_step == "generate_joke"
    assert "paused before step &#x27;critique_joke&#x27;" in e.detail.value
    assert e.timeline.runs[0]["status"] == "paused"
    e.state.breakpoints = []
    assert e.toolbar.breakpoint.value == ""
    e.edit_view.event_form.widgets["joke"].value = "short joke"
    e.edit_view.resume_button.click()
    await e.last_task
    done = jokes.get_run(paused.run_id)
    assert done.status == "completed" and len(jokes.runs) == 3  # continued, not a new run
    assert jokes.result_of(paused.run_id).startswith("Critique: 2 words")


async def test_a_read_only_view_says_so_and_disables_resume_and_edit(jokes, explorers):
    view = StoreView(jokes.store)
    e = explorers(view)
    assert READ_ONLY in e.note.value.replace("&#x27;", "'") or "read-only view" in e.note.value
    e.select(_ckpts(jokes, 0)[1].id_)
    assert e.resume_button.disabled and e.edit_view.resume_button.disabled
    assert "%explore ckptr" in e.toolbar.reason.value
    assert e.toolbar.breakpoint.disabled
    e.resume_button.click()
    assert e.last_task is None and len(jokes.runs) == 2


async def test_a_checkpointer_shows_only_its_workflow_and_a_view_the_whole_store(
        store, explorers):
    jokes = WorkflowCheckpointer(JokeFlow(), store=store)
    plans = WorkflowCheckpointer(PlanFlow(), store=store)
    await jokes.run(topic="x")
    await plans.run(topic="y")
    assert {r["step"] for r in explorers(jokes).rows} == {None, "generate_joke", "critique_joke"}
    assert len(explorers(plans).rows) == 3
    assert len(explorers(StoreView(store)).rows) == 6


async def test_the_state_drives_the_views(plans, explorers):
    e = explorers(plans)
    assert isinstance(e.state, ExplorerState)
    target = _ckpts(plans, 0)[1]
    e.state.selected = target.id_
    assert e.selected.id_ == target.id_ and e.table.selected == target.id_
    e.state.mode = "edit"
    assert e.tabs.selected_index == 2
    e.tabs.selected_index = 0
    assert e.state.mode == "detail"
    e.state.page_size = 2
    assert len(e.rows) == 2 and e.table.page_size == 2


async def test_lanes_carry_input_summary_badges_and_the_failing_step(store, explorers):
    from explorer_helpers import HostileFlow

    ckptr = WorkflowCheckpointer(HostileFlow(), store=store)
    with pytest.raises(ValueError):
        await ckptr.run(topic="please fail")
    e = explorers(ckptr)
    lane = e.timeline.runs[0]
    assert lane["label"].startswith("topic=") and "please fail" in lane["label"]
    assert lane["status"] == "failed" and lane["failed_step"] == "finish"
    assert not lane["edited"] and not lane["resumed"]
    last = e.rows[0]
    assert last["status"] == "ok · then failed" and "finish failed: ValueError" in last["error"]
    assert e.rows[1]["status"] == "started" and e.rows[1]["error"] == ""


async def test_an_output_event_of_an_unloaded_type_disables_the_form(
        store, explorers, monkeypatch):
    ckptr = WorkflowCheckpointer(PlanFlow(), store=store)
    await ckptr.run(topic="trip")
    monkeypatch.delitem(EVENT_REGISTRY, event_key(Plan))
    e = explorers(ckptr)
    planned = _ckpts(ckptr, 0)[1]
    e.select(planned.id_)
    assert e.edit_view.event_form.disabled and e.resume_button.disabled
    assert "not loaded" in e.edit_view.event_form.header.value
    assert "problem" in e.detail.value and "cannot resume" in e.toolbar.reason.value


async def test_refresh_shows_runs_started_elsewhere(jokes, explorers):
    e = explorers(jokes)
    handler = jokes.run(topic="geology")
    await handler
    e.toolbar.refresh_button.click()
    assert handler.run_id == e.timeline.runs[0]["run_id"]
    assert e.table.total == 9


async def test_launch_errors_are_shown_in_the_status_line_not_raised(jokes, explorers):
    e = explorers(jokes)
    e.select(_ckpts(jokes, 0)[1].id_)
    jokes.workflow = PlanFlow()  # another workflow: its checkpointer refuses JokeFlow's checkpoints
    before = len(jokes.store.list_runs())
    e.resume_button.click()
    assert e.last_task is None and len(jokes.store.list_runs()) == before
    assert "WorkflowMismatch" in e.status.value
    assert "JokeFlow" in e.status.value and "PlanFlow" in e.status.value


async def test_counts_of_menu_filters_agree_with_the_store(jokes, explorers):
    """Filters on step, event types and status are counted from the menus' one grouped read;
    each count must be the store's own count of the same query."""
    e = explorers(jokes)
    cases = [{}, {"step": "critique_joke"}, {"step": "(start)"}, {"status": "completed"},
             {"input_type": "JokeEvent"}, {"input_type": event_key(JokeEvent)},
             {"output_type": "StopEvent"}, {"output_type": "flowpoint.demo.Nope"},
             {"step": "generate_joke", "output_type": "JokeEvent", "status": "completed"},
             {"step": "critique_joke", "status": "failed"}]
    for filters in cases:
        e.set_filters(**filters)
        q = e.source.query(e.state.filters)
        assert e.total == jokes.store.count_checkpoints(q), filters
        assert e.table.total == e.total
    e.set_filters(step="critique_joke")
    assert e.total == 2 and len(e.rows) == 2


async def test_diff_of_a_checkpoint_whose_stored_parent_no_lookup_can_take(jokes, explorers):
    """A forged parent id too long for a prefix lookup reads as a parent no longer stored."""
    import sqlite3

    last = jokes.last_checkpoint(jokes.store.list_runs()[-1].run_id)
    path = jokes.store.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as con:
        con.execute("UPDATE flowpoint_checkpoints SET parent_id = ? WHERE id = ?",
                    ("H" * 60_000, last.id_))
    e = explorers(jokes)
    e.select(last.id_)
    e.state.mode = "diff"
    assert "is no longer stored" in e.diff_view.html.value
    assert "failed" not in e.status.value


async def test_typing_pause_before_a_search_follows_what_searches_cost(jokes, explorers):
    from flowpoint.notebook.explorer.table_view import debounce_for

    e = explorers(jokes)
    assert e.table.debounce_ms == 100  # a small store: searched almost as you type
    e.set_filters(text="chemistry")
    assert e.data.search_cost is not None and e.table.debounce_ms == debounce_for(
        e.data.search_cost)
    assert [debounce_for(c) for c in (0.0, 0.1, 0.25, 5.0)] == [100, 200, 500, 600]


async def test_edit_form_reuses_the_inputs_of_the_same_fields(jokes, explorers):
    """Selecting another checkpoint of the same event type refills the inputs already built;
    another type closes them (nothing new for the browser to build, nothing leaked)."""
    e = explorers(jokes)
    first, second = _ckpts(jokes, 0)[1], _ckpts(jokes, 1)[1]  # both generate_joke: JokeEvent
    e.select(first.id_)
    joke = e.edit_view.event_form.widgets["joke"]
    joke.value = "typed for the first checkpoint"
    e.select(second.id_)
    assert e.edit_view.event_form.widgets["joke"] is joke
    assert joke.value == second.output_event.joke
    assert e.edit_view.event_form.edits() == {}
    e.select(_ckpts(jokes, 1)[0].id_)  # the start checkpoint: a StartEvent's fields
    assert joke.comm is None and "joke" not in e.edit_view.event_form.widgets
    assert all(x.comm is not None for x in e.edit_view.event_form.fields_box.children)
