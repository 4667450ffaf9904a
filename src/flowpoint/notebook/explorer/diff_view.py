"""The diff view: what changed from the previous (or pinned) checkpoint to the selected one.

The user's state (``ctx.store``) comes first, then the events, summarised by class name, then
metadata; the runtime's bookkeeping (queues, event log, ...) is counted and shown only with
"show all". Values wrap; long ones are laid out side by side. Every string is escaped.
"""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as w
import traitlets

from ...checkpoints.checkpointer import WorkflowCheckpointer
from ...checkpoints.codec import EVENT, encode_event
from ...checkpoints.diff import Change, CheckpointDiff, diff
from ...checkpoints.model import Checkpoint, type_name
from ...errors import CheckpointNotFound, StoreError
from .data import ExplorerData
from .state import ExplorerState
from .trees import esc, hint

_LONG = 60
_MAX_ROWS = 300


def _summary(value: Any) -> str:
    """A readable text of a stored value: events as ``ClassName(field=value, ...)``."""
    if isinstance(value, dict) and EVENT in value:
        data = value.get("data") if isinstance(value.get("data"), dict) else {}
        inner = ", ".join(f"{k}={_summary(v)}" for k, v in data.items())
        return f"{type_name(str(value[EVENT]))}({inner})"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_summary(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_summary(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, default=repr, ensure_ascii=False)


def _cut(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def _event_rows(changes: list[Change], which: str, d: CheckpointDiff
                ) -> list[tuple[str, str, Any, Any]]:
    """Changes of one event as rows: a type change becomes one row of the two whole events."""
    label = which.replace("_", " ")
    typed = [c for c in changes if c.path == f"{which}.{EVENT}" or c.path == which]
    if typed:
        before, after = (_event_of(ckpt, which) for ckpt in (d.a, d.b))
        kind = "added" if before is None else "removed" if after is None else "changed"
        return [(label, kind, before, after)]
    prefix = f"{which}.data"
    rows = []
    for c in changes:
        field = c.path[len(prefix):].lstrip(".") if c.path.startswith(prefix) else c.path
        rows.append((f"{label} · {field}", c.kind, c.before, c.after))
    return rows


def _event_of(ckpt: Checkpoint, which: str) -> Any:
    ev = getattr(ckpt, which)
    return None if ev is None else encode_event(ev)


def grouped(d: CheckpointDiff) -> dict[str, list[tuple[str, str, Any, Any]]]:
    """The changes as rows (path, kind, before, after) in sections, the user's state first."""
    sections: dict[str, list[tuple[str, str, Any, Any]]] = {
        "state": [], "events": [], "metadata": [], "bookkeeping": []}
    by_event: dict[str, list[Change]] = {"input_event": [], "output_event": []}
    for c in d.changes:
        if c.path.startswith("ctx_state.store"):
            key = c.path[len("ctx_state.store"):].lstrip(".") or "(whole store)"
            sections["state"].append((key, c.kind, c.before, c.after))
        elif c.path.split(".", 1)[0].split("[", 1)[0] in by_event:
            by_event[c.path.split(".", 1)[0].split("[", 1)[0]].append(c)
        elif c.path.startswith("metadata"):
            sections["metadata"].append((c.path, c.kind, c.before, c.after))
        else:
            sections["bookkeeping"].append((c.path.removeprefix("ctx_state."), c.kind, c.before,
                                            c.after))
    for which, changes in by_event.items():
        if changes:
            sections["events"].extend(_event_rows(changes, which, d))
    return sections


def _row(path: str, kind: str, before: Any, after: Any) -> str:
    b = "" if kind == "added" else _cut(_summary(before))
    a = "" if kind == "removed" else _cut(_summary(after))
    wide = " fp-diff-row--wide" if max(len(a), len(b)) > _LONG else ""
    return (f"<div class='fp-diff-row fp-{kind}{wide}'><div class='fp-diff-path'>{esc(path)} "
            f"<span class='fp-diff-kind'>{esc(kind)}</span></div>"
            f"<div class='fp-diff-val fp-diff-before'>{esc(b)}</div>"
            f"<div class='fp-diff-val fp-diff-after'>{esc(a)}</div></div>")


_TITLES = {"state": "Your state (ctx.store)", "events": "Events", "metadata": "Metadata",
           "bookkeeping": "Runtime bookkeeping"}


def diff_view_html(d: CheckpointDiff, title: str, show_all: bool) -> str:
    """The grouped, escaped HTML of a diff."""
    sections = grouped(d)
    parts = [f"<div class='fp-diff'><div>{title}</div>"]
    shown = 0
    for name, rows in sections.items():
        if name == "bookkeeping" and not show_all:
            if rows:
                text = (f"{len(rows)} runtime bookkeeping change(s) hidden (queues, event "
                        f"log, ...): tick show all to see them")
                parts.append(f"<p>{hint(text)}</p>")
            continue
        if not rows:
            if name == "state":
                parts.append(f"<h4>{esc(_TITLES[name])}</h4><p>{hint('no change')}</p>")
            continue
        parts.append(f"<h4>{esc(_TITLES[name])}</h4>")
        for row in rows:
            if shown >= _MAX_ROWS:
                parts.append(f"<p>{hint('… more changes not shown')}</p>")
                break
            parts.append(_row(*row))
            shown += 1
    if not d.changes:
        parts.append(f"<p>{hint('No differences.')}</p>")
    parts.append("</div>")
    return "".join(parts)


class DiffView(w.VBox):
    """The diff of the selected checkpoint against the pinned one, else its parent; drawn
    while the state's mode is "diff" (and again whenever selection, pin or show_all change)."""

    def __init__(self, state: ExplorerState, data: ExplorerData,
                 ckptr: WorkflowCheckpointer) -> None:
        self.html = w.HTML(hint("select a checkpoint, then open Diff"))
        self.show_all = w.Checkbox(value=state.show_all, description="show all (runtime "
                                   "bookkeeping)", indent=False, layout=w.Layout(width="auto"))
        super().__init__([self.show_all, self.html])
        self.last: CheckpointDiff | None = None
        self.state, self.data, self.ckptr = state, data, ckptr
        traitlets.link((state, "show_all"), (self.show_all, "value"))
        state.observe(lambda _c: self.render(), names=["mode", "show_all"])
        data.observe(lambda _c: self.render(), names=["selection", "pinned"])

    def render(self) -> None:
        """Draw the diff the state asks for (only while Diff is shown)."""
        if self.state.mode != "diff":
            return
        try:
            self._render()
        except Exception as exc:  # a widget callback must show its error, not lose it
            self.data.on_error("diff failed", exc)

    def _render(self) -> None:
        current = self.data.selection
        if current is None:
            self.show(None, None, "", "select a checkpoint first")
            return
        b, pinned = current.checkpoint, self.data.pinned
        if pinned is not None and pinned.id_ != b.id_:
            self.show(pinned, b, "pinned")
            return
        if b.parent_id is None:
            self.show(None, None, "", (
                f"checkpoint {b.id_[:8]} is the start of run {b.run_id[:8]}: there is no "
                f"previous checkpoint. Pin another checkpoint to compare against it."))
            return
        try:
            a = self.ckptr.get(b.parent_id)
        except (CheckpointNotFound, StoreError):  # pruned, or a stored id no lookup can take
            self.show(None, None, "", f"the previous checkpoint {b.parent_id[:8]} is no "
                                      f"longer stored (pruned?)")
            return
        self.show(a, b, "previous" if a.run_id == b.run_id else "resumed from")

    def show(self, a: Checkpoint | None, b: Checkpoint | None, how: str, why: str = "") -> None:
        """Show the diff of ``b`` against ``a`` (``how``: pinned / previous / resumed from)."""
        if a is None or b is None:
            self.last = None
            self.html.value = hint(why or "select a checkpoint, then open Diff")
            return
        self.last = diff(a, b)
        title = (f"<b>{esc(how)}</b> {esc(a.id_[:8])} (run {esc(a.run_id[:8])}, seq {esc(str(a.seq))}) → "
                 f"<b>selected</b> {esc(b.id_[:8])} (run {esc(b.run_id[:8])}, seq {esc(str(b.seq))})")
        self.html.value = diff_view_html(self.last, title, self.show_all.value)
