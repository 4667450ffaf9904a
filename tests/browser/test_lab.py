"""The explorer in a real JupyterLab: render, select a checkpoint, diff it, resume from it."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import Locator, Page, expect

from flowpoint import open_store

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SETUP = """\
%load_ext flowpoint
from flowpoint import WorkflowCheckpointer
from flowpoint.demo import JokeFlow

ckptr = WorkflowCheckpointer(workflow=JokeFlow(), store="sqlite:///browser.db")
for topic in ("chemistry", "biology"):
    await ckptr.run(topic=topic)
"""
EXPLORE = "explorer = %explore\nexplorer"
LANES = ("() => new Set([...document.querySelectorAll('.fp-explorer .fp-lane-label[data-run-id]')]"
         ".map(e => e.getAttribute('data-run-id'))).size")


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


@pytest.mark.browser
def test_explorer_selects_diffs_and_resumes_in_jupyterlab(browser, lab):
    write_notebook(lab.root / "explore.ipynb")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(lab.notebook_url("explore.ipynb"))
    run_all(page)

    explorer = page.locator(".fp-explorer")
    expect(explorer).to_be_visible(timeout=60_000)
    expect(explorer.locator(".fp-mark")).to_have_count(6)  # 2 runs x (start + 2 steps)
    expect(page.get_by_text("Loading widget")).to_have_count(0)
    assert page.evaluate(LANES) == 2

    store = open_store(f"sqlite:///{lab.root / 'browser.db'}")
    try:
        first = next(r for r in store.list_checkpoints() if r.step == "generate_joke")
        mark = explorer.locator(f'.fp-mark[data-id="{first.id}"]')
        mark.click()
        expect(explorer.locator(".fp-mark--selected")).to_have_attribute("data-id", first.id)
        expect(explorer.locator("table.fp-head").first).to_contain_text(first.id[:8])

        button(explorer, "Diff").click()
        diff_table = explorer.locator(".fp-diff table")
        expect(diff_table).to_be_visible()
        expect(diff_table).to_contain_text("output_event")
        expect(diff_table).to_contain_text("chemistry")

        button(explorer, "Resume").click()
        status = explorer.locator(".fp-status")
        expect(status).to_contain_text("completed run", timeout=30_000)
        page.wait_for_function(f"() => ({LANES})() === 3", timeout=30_000)
        expect(explorer.locator(".fp-mark")).to_have_count(7)  # the resumed run: critique_joke

        runs = store.list_runs()
        assert len(runs) == 3
        resumed = runs[-1]
        assert resumed.origin_checkpoint_id == first.id and resumed.status == "completed"
        assert re.search(f"completed run {resumed.run_id[:8]}", status.inner_text())
        assert page.get_by_text("Loading widget").count() == 0
    finally:
        store.close()
        ARTIFACTS.mkdir(exist_ok=True)
        if explorer.count():
            explorer.locator(".fp-mark").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "lab_explorer.png"))
