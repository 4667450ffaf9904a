"""A LangGraph thread in the explorer in a real JupyterLab (headless Chromium): its lanes, the
fork linked to its origin, a waiting thread answered from the human-input form."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from playwright.sync_api import expect

_BROWSER = Path(__file__).resolve().parents[2] / "browser"
_spec = importlib.util.spec_from_file_location("flowpoint_lab_fixtures", _BROWSER / "conftest.py")
assert _spec is not None and _spec.loader is not None
_fixtures = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _fixtures
_spec.loader.exec_module(_fixtures)
lab = _fixtures.lab
browser = _fixtures.browser

IMAGES = Path(__file__).resolve().parents[3] / "docs" / "images"
GRAPH = Path(__file__).resolve().parent / "lg_graphs.py"
SETUP = """\
%load_ext flowpoint
import sqlite3
from langgraph.checkpoint.sqlite import SqliteSaver
from lg_graphs import joke_builder
from flowpoint import WorkflowCheckpointer

conn = sqlite3.connect("graph.db", check_same_thread=False)
graph = joke_builder().compile(checkpointer=SqliteSaver(conn))
graph.invoke({"topic": "chickens"}, {"configurable": {"thread_id": "t1"}})
graph.invoke({"topic": "ducks"}, {"configurable": {"thread_id": "t2"}})
ckptr = WorkflowCheckpointer(workflow=graph)
ckpt = ckptr.filter_checkpoints(run_id="t1", last_completed_step="write_joke")[0]
fork = await ckptr.run_from(ckpt, output_event={"joke": "Why did the chicken fork? To edit."})
"""
EXPLORE = """\
explorer = %explore --ckptr ckptr
fork_run = next(r for r in ckptr.runs.values() if r.origin_checkpoint_id)
explorer.select(ckptr.last_checkpoint(fork_run.run_id).id_)
explorer
"""


@pytest.mark.browser
def test_a_langgraph_thread_and_its_fork_in_jupyterlab(browser, lab):
    (lab.root / "lg_graphs.py").write_text(GRAPH.read_text())
    nb = new_notebook(cells=[new_code_cell(SETUP), new_code_cell(EXPLORE)], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"}})
    nbformat.write(nb, lab.root / "langgraph.ipynb")
    page = browser.new_page(viewport={"width": 1500, "height": 1400})
    page.set_default_timeout(30_000)
    page.goto(lab.notebook_url("langgraph.ipynb"))
    page.wait_for_function(
        "() => /\\| Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')"
        " && !/No Kernel/.test(document.body.innerText)", timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator("#jp-mainmenu-run li[data-command='runmenu:run-all']").click()

    explorer = page.locator(".fp-explorer")
    expect(explorer).to_be_visible(timeout=90_000)
    expect(page.get_by_text("Loading widget")).to_have_count(0)
    expect(explorer.locator(".fp-lane-label[data-run-id]")).to_have_count(3)
    expect(explorer.locator('.fp-lane-label[data-run-id="t1"]')).to_be_visible()
    fork_lane = explorer.locator('.fp-lane-label[data-run-id^="t1~"]')
    expect(fork_lane).to_have_count(1)
    expect(explorer.locator("tr.fp-row")).to_have_count(5 + 5 + 2)
    expect(explorer.locator(".fp-detail")).to_contain_text("Why did the chicken fork? To edit.")
    expect(explorer.locator("tr.fp-row.fp-row--selected")).to_contain_text(
        re.compile("rate"))
    page.wait_for_timeout(300)
    IMAGES.mkdir(parents=True, exist_ok=True)
    explorer.screenshot(path=str(IMAGES / "langgraph.png"), animations="disabled")
    page.close()
