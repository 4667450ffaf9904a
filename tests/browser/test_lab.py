"""The explorer in a real JupyterLab in headless Chromium: a failure, a diff, a state edit and a
breakpoint; contrast (axe-core) in the light and the dark theme; a 700 px wide notebook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Locator, Page, expect

from flowpoint import open_store

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
SETUP = """\
%load_ext flowpoint
from flowpoint import Context, Event, StartEvent, StopEvent, Workflow, WorkflowCheckpointer, step


class Plan(Event):
    city: str
    nights: int


class TripFlow(Workflow):
    @step
    async def plan(self, ev: StartEvent, ctx: Context) -> Plan:
        await ctx.store.set("budget", ev.budget)
        await ctx.store.set("notes", f"trip to {ev.city}")
        return Plan(city=ev.city, nights=3)

    @step
    async def book(self, ev: Plan, ctx: Context) -> StopEvent:
        budget = await ctx.store.get("budget")
        if budget < 100:
            raise ValueError(f"budget {budget} is too small for {ev.nights} nights in {ev.city}")
        return StopEvent(result=f"booked {ev.nights} nights in {ev.city} for {budget}")


ckptr = WorkflowCheckpointer(workflow=TripFlow(), store="sqlite:///browser.db")
await ckptr.run(city="Paris", budget=500)
try:
    await ckptr.run(city="Rome", budget=50)
except ValueError:
    pass
await ckptr.run(city="Oslo", budget=300)
await ckptr.run(city="Lima", budget=900, pause_before={"book"})
"""
EXPLORE = "explorer = %explore ckptr\nexplorer"
AXE = """async (selector) => {
  const result = await axe.run(document.querySelector(selector), {
    runOnly: {type: "rule", values: ["color-contrast"]}, resultTypes: ["violations"]});
  return result.violations.flatMap(v => v.nodes.map(n => ({
    target: n.target.join(" "), html: n.html.slice(0, 200), why: n.failureSummary})));
}"""
REACHABLE = """() => {
  const ex = document.querySelector('.fp-explorer');
  const box = ex.getBoundingClientRect();
  const bad = [];
  for (const el of ex.querySelectorAll('button, select, input, textarea')) {
    if (el.closest('.fp-table-scroll, .fp-tl-scroll') || !el.offsetParent) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    if (r.left < box.left - 1 || r.right > box.right + 1 || r.right > window.innerWidth)
      bad.push((el.textContent || el.getAttribute('aria-label') || el.tagName).trim() +
               ` [${Math.round(r.left)}..${Math.round(r.right)}]`);
  }
  return {width: Math.round(box.width), overflow: ex.scrollWidth - ex.clientWidth, bad};
}"""


def write_notebook(path: Path) -> None:
    nb = new_notebook(cells=[new_code_cell(SETUP), new_code_cell(EXPLORE)], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"}})
    nbformat.write(nb, path)


def button(scope: Locator, label: str) -> Locator:
    """A widget button by its description (its accessible name also holds the icon glyph)."""
    return scope.get_by_role("button", name=re.compile(rf"(^|\W){re.escape(label)}$"))


def run_all(page: Page) -> None:
    """Run All once the kernel is really idle (the status bar, not the toolbar indicator)."""
    page.wait_for_function(
        "() => /\\| Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')"
        " && !/No Kernel/.test(document.body.innerText)", timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator("#jp-mainmenu-run li[data-command='runmenu:run-all']").click()


def set_theme(page: Page, name: str, light: bool) -> None:
    """Switch JupyterLab's theme from the Settings menu and wait until it applies."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).first.hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(name)}$")).first.click()
    page.wait_for_function(
        f"() => document.body.dataset.jpThemeLight === '{str(light).lower()}'", timeout=30_000)
    page.wait_for_timeout(500)  # the theme's stylesheet is applied after the attribute


def no_contrast_violations(page: Page, axe_source: str, theme: str) -> None:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    page.mouse.move(0, 0)  # no hover state in the measurement
    violations = page.evaluate(AXE, ".fp-explorer")
    assert violations == [], f"{theme} theme:\n" + json.dumps(violations, indent=1)[:6000]


def row(explorer: Locator, checkpoint_id: str) -> Locator:
    return explorer.locator(f'tr.fp-row[data-id="{checkpoint_id}"]')


def shot(locator: Locator, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    locator.screenshot(path=str(IMAGES / name), animations="disabled")


@pytest.mark.browser
def test_explorer_in_jupyterlab_light_dark_narrow_failure_diff_state_edit_breakpoint(
        browser, lab, axe_source):
    write_notebook(lab.root / "explore.ipynb")
    page = browser.new_page(viewport={"width": 1500, "height": 1700})
    page.set_default_timeout(30_000)
    page.goto(lab.notebook_url("explore.ipynb"))
    run_all(page)

    explorer = page.locator(".fp-explorer")
    expect(explorer).to_be_visible(timeout=60_000)
    expect(explorer.locator("tr.fp-row")).to_have_count(10)  # 2 x 3 + the failed and paused 2
    expect(page.get_by_text("Loading widget")).to_have_count(0)
    status = explorer.locator(".fp-status")
    store = open_store(f"sqlite:///{lab.root / 'browser.db'}")
    try:
        runs = {r.run_id: r for r in store.list_runs()}
        by_city = {}
        for rec in store.list_checkpoints():
            if rec.seq == 0:
                by_city[rec.output_event["data"]["city"]] = rec.run_id
        ckpts = {city: [c for c in store.list_checkpoints() if c.run_id == run_id]
                 for city, run_id in by_city.items()}
        assert runs[by_city["Rome"]].status == "failed"
        assert runs[by_city["Lima"]].status == "paused"

        # Lanes: newest first, labelled with the inputs; the failing step marked on its lane.
        lanes = explorer.locator(".fp-lane-label[data-run-id]")
        expect(lanes).to_have_count(4)
        assert lanes.first.get_attribute("data-run-id") == by_city["Lima"]
        expect(explorer.locator(".fp-tl-labels")).to_contain_text("city=Rome")
        expect(explorer.locator(".fp-fail-label")).to_have_text("failed in book")

        # The wall-clock axis and back.
        axis = explorer.locator("button.fp-tl-axis-toggle")
        axis.click()
        expect(axis).to_have_text("x: time")
        expect(explorer.locator(".fp-tl-tick").first).to_have_text(re.compile(r"\d\d:\d\d:\d\d"))
        axis.click()
        expect(axis).to_have_text("x: seq")

        # A failure: select the failed run's last checkpoint by clicking its lane.
        explorer.locator(f'.fp-lane-label[data-run-id="{by_city["Rome"]}"]').click()
        rome_last = ckpts["Rome"][-1]
        expect(row(explorer, rome_last.id)).to_have_class(re.compile("fp-row--selected"))
        failure = explorer.locator(".fp-failure")
        expect(failure).to_contain_text("failed in step 'book'")
        expect(failure).to_contain_text("ValueError: budget 50 is too small")
        expect(explorer.locator("pre.fp-traceback")).to_be_hidden()  # collapsed
        shot(explorer, "explorer-light.png")
        shot(explorer, "explorer.png")
        explorer.locator("details.fp-tb > summary").click()
        expect(explorer.locator("pre.fp-traceback")).to_contain_text("Traceback")
        expect(row(explorer, rome_last.id).locator('td[data-col="status"]')).to_have_text(
            "ok · then failed")
        no_contrast_violations(page, axe_source, "light")
        shot(explorer, "explorer-failure.png")

        # A diff: the user's state first, events by class name.
        paris_last = ckpts["Paris"][-1]
        row(explorer, ckpts["Paris"][1].id).click()
        explorer.get_by_role("tab", name="Diff").click()
        diff = explorer.locator(".fp-diff")
        expect(diff).to_contain_text("Your state (ctx.store)")
        expect(diff).to_contain_text("budget")
        expect(diff).to_contain_text("StartEvent(city=")
        expect(diff).not_to_contain_text("__event__")
        row(explorer, paris_last.id).click()
        expect(diff).to_contain_text('Plan(city="Paris", nights=3)')
        expect(diff).to_contain_text('StopEvent(result="booked 3 nights in Paris for 500")')
        shot(explorer, "explorer-diff.png")

        # Live search, evaluated in the store: typing narrows the table without Enter.
        explorer.locator("input.fp-search").fill("Oslo")
        expect(explorer.locator("tr.fp-row")).to_have_count(3)
        expect(explorer.locator(".fp-count")).to_contain_text("of 3 matching")
        explorer.locator("input.fp-search").fill("")
        expect(explorer.locator("tr.fp-row")).to_have_count(10)

        # A state edit: the failed run's checkpoint after `plan`, with a bigger budget.
        rome_plan = ckpts["Rome"][1]
        row(explorer, rome_plan.id).click()
        explorer.get_by_role("tab", name="Edit").click()
        editor = explorer.locator(".fp-state-editor textarea")
        expect(editor).to_have_value(re.compile('"budget": 50'))
        editor.fill(json.dumps({"budget": 150, "notes": "trip to Rome"}, indent=2))
        button(explorer, "Resume with edit").click()
        expect(status).to_contain_text("completed run", timeout=30_000)
        expect(status).to_contain_text("booked 3 nights in Rome for 150")
        expect(editor).to_have_value(re.compile('"budget": 150'))  # the form stays
        edited = store.list_runs()[-1]
        assert edited.status == "completed" and edited.origin_checkpoint_id == rome_plan.id
        assert edited.edited["state"]["changes"]["budget"] == {"before": 50, "after": 150}
        shot(explorer, "explorer-state-edit.png")

        # A breakpoint: the paused run says so; Resume continues it under its own id.
        lima_last = ckpts["Lima"][-1]
        explorer.get_by_role("tab", name="Detail").click()
        row(explorer, lima_last.id).click()
        expect(explorer.locator(".fp-detail")).to_contain_text("is paused before step 'book'")
        expect(explorer.locator(f'.fp-lane-label[data-run-id="{by_city["Lima"]}"]')
               ).to_contain_text("paused")
        shot(explorer, "explorer-breakpoint.png")
        button(explorer, "Resume").click()
        expect(status).to_contain_text(f"completed run {by_city['Lima'][:8]}", timeout=30_000)
        assert store.get_run(by_city["Lima"]).status == "completed"
        assert len(store.list_runs()) == 5  # continued, not a new run

        # A final checkpoint cannot be resumed, and says why.
        row(explorer, paris_last.id).click()
        expect(button(explorer, "Resume")).to_be_disabled()
        expect(explorer.locator(".fp-reason")).to_contain_text("final checkpoint")

        # The dark theme: every text keeps its contrast.
        row(explorer, rome_last.id).click()
        set_theme(page, "JupyterLab Dark", light=False)
        no_contrast_violations(page, axe_source, "dark")
        shot(explorer, "explorer-dark.png")
        set_theme(page, "JupyterLab Light", light=True)

        # 700 px of notebook width: stacked, nothing clipped, Resume reachable.
        width = page.evaluate("() => document.querySelector('.fp-explorer')"
                              ".getBoundingClientRect().width")
        page.set_viewport_size({"width": int(1500 - (width - 700)), "height": 1700})
        page.wait_for_timeout(500)
        expect(explorer.locator(".fp-tl-zoom-label")).not_to_have_text("1200%")  # fits again
        layout = page.evaluate(REACHABLE)
        assert 690 <= layout["width"] <= 710, layout
        assert layout["bad"] == [] and layout["overflow"] <= 1, layout
        cols = explorer.locator(".fp-col")
        top_second = cols.nth(1).bounding_box()["y"]
        first = cols.nth(0).bounding_box()
        assert top_second >= first["y"] + first["height"] - 1  # stacked
        row(explorer, rome_plan.id).click()
        expect(button(explorer, "Resume")).to_be_enabled()
        button(explorer, "Resume").scroll_into_view_if_needed()
        expect(button(explorer, "Resume")).to_be_in_viewport()
        no_contrast_violations(page, axe_source, "light, narrow")
        shot(explorer, "explorer-narrow.png")
        assert page.get_by_text("Loading widget").count() == 0
    finally:
        store.close()
