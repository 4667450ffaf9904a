"""Shared pieces of the explorer tests: workflows, front-end clicks, walking rendered HTML."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import ipywidgets as w

from flowpoint import Context, Event, StartEvent, StopEvent, Workflow, step
from flowpoint.notebook.explorer import CheckpointExplorer

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


class Plan(Event):
    """An event with a string, an int, a float, a bool and a nested list: every form widget."""

    title: str
    items: list[str]
    budget: int
    ratio: float = 0.5
    urgent: bool = False


class PlanFlow(Workflow):
    """Plans, then totals: the store holds a counter that changes at every step."""

    @step
    async def plan(self, ev: StartEvent, ctx: Context) -> Plan:
        await ctx.store.set("count", 1)
        return Plan(title=ev.topic, items=["a", "b"], budget=10)

    @step
    async def total(self, ev: Plan, ctx: Context) -> StopEvent:
        await ctx.store.set("count", 2)
        return StopEvent(result=f"{ev.title}: {len(ev.items) * ev.budget}")


class Note(Event):
    text: str


class HostileFlow(Workflow):
    """Puts hostile markup into events, the store, metadata, the result and an error message."""

    @step
    async def write(self, ev: StartEvent, ctx: Context) -> Note:
        await ctx.store.set(SCRIPT, IMG)
        ctx.checkpoint(metadata={"why": SCRIPT, IMG: 1})
        return Note(text=ev.topic + IMG)

    @step
    async def finish(self, ev: Note, ctx: Context) -> StopEvent:
        if "fail" in ev.text:
            raise ValueError(f"boom {SCRIPT} {IMG}")
        return StopEvent(result=f"{ev.text} {SCRIPT}")


def from_browser(widget: w.Widget, **state: object) -> None:
    """What the browser sends when the user changes a synced trait of a front-end widget."""
    widget._handle_msg({"content": {"data": {
        "method": "update", "state": state, "buffer_paths": []}}, "buffers": []})


def click_mark(explorer: CheckpointExplorer, checkpoint_id: str) -> None:
    """What the browser sends when a timeline mark is clicked."""
    from_browser(explorer.timeline, selected=checkpoint_id)


def click_row(explorer: CheckpointExplorer, checkpoint_id: str) -> None:
    """What the browser sends when a table row is clicked."""
    from_browser(explorer.table, selected=checkpoint_id)


def type_search(explorer: CheckpointExplorer, text: str) -> None:
    """What the browser sends once the search box is left alone for the debounce delay."""
    from_browser(explorer.table, text=text)


def walk(widget: w.Widget) -> Iterator[w.Widget]:
    """The widget and every widget below it."""
    stack = [widget]
    while stack:
        item = stack.pop()
        yield item
        stack.extend(getattr(item, "children", ()) or ())


def rendered_html(explorer: CheckpointExplorer) -> list[str]:
    """Every string the explorer hands to the browser as HTML (values of HTML widgets) plus
    descriptions, tooltips and option labels, which must not carry markup either."""
    out = []
    for item in walk(explorer):
        if isinstance(item, (w.HTML, w.HTMLMath)):
            out.append(item.value)
        for name in ("description", "tooltip", "placeholder"):
            value = getattr(item, name, None)
            if isinstance(value, str):
                out.append(value)
        if isinstance(item, w.Select | w.Dropdown):
            out.extend(str(label) for label in item._options_labels)
    return out


def diff_row(html_text: str, path: str) -> str:
    """The diff row whose path cell starts with ``path``."""
    for row in re.findall(r"<div class='fp-diff-row.*?</div></div>", html_text):
        if f"<div class='fp-diff-path'>{path} <span" in row:
            return row
    raise AssertionError(f"no diff row for {path!r} in {html_text[:3000]}")


def row_of(html_text: str, path: str) -> str:
    """The <tr> of the diff table whose path cell is ``path``."""
    for row in re.findall(r"<tr class='fp-\w+'>.*?</tr>", html_text):
        if f"<code>{path}</code>" in row:
            return row
    raise AssertionError(f"no diff row for {path!r} in {html_text[:2000]}")


async def wait_for(predicate, timeout: float = 5.0) -> None:
    """Let the loop run until ``predicate()`` is true (the explorer refreshes on its own)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)
