"""Escaped HTML for the explorer: collapsible trees of stored data and the checkpoint detail view.

Everything here turns stored data (written by steps, LLMs and users) into HTML, so every string
goes through :func:`esc`; nothing is ever inserted raw.
"""

from __future__ import annotations

import html
import json
from typing import Any

from ..checkpoints.codec import EVENT, encode_event
from ..checkpoints.model import Checkpoint, Run, type_name

#: Styles of the explorer, scoped under ``.fp-explorer``; JupyterLab variables with light fallbacks.
EXPLORER_CSS = """<style>
.fp-explorer {font-size: 13px; color: var(--jp-ui-font-color1, #212121);}
.fp-explorer .fp-panel {border: 1px solid var(--jp-border-color2, #e0e0e0); border-radius: 3px;
  padding: 4px 6px; background: var(--jp-layout-color1, #fff);}
.fp-explorer .fp-rows select {font-family: var(--jp-code-font-family, monospace); font-size: 12px;}
.fp-explorer .fp-rowhead {font-family: var(--jp-code-font-family, monospace); font-size: 12px;
  white-space: pre; color: var(--jp-ui-font-color2, #616161); padding-left: 4px;}
.fp-explorer .fp-muted {color: var(--jp-ui-font-color2, #757575);}
.fp-explorer .fp-error {color: #b71c1c; white-space: pre-wrap;}
.fp-explorer .fp-ok {color: #1b5e20;}
.fp-explorer table.fp-head {border-collapse: collapse; margin-bottom: 4px;}
.fp-explorer table.fp-head th {text-align: left; padding: 1px 10px 1px 0; vertical-align: top;
  color: var(--jp-ui-font-color2, #616161); font-weight: 600;}
.fp-explorer table.fp-head td {text-align: left; padding: 1px 0; word-break: break-all;}
.fp-explorer details {margin-left: 12px;}
.fp-explorer details > summary {cursor: pointer; margin-left: -12px;}
.fp-explorer .fp-leaf {margin-left: 0; font-family: var(--jp-code-font-family, monospace);
  font-size: 12px; white-space: pre-wrap; word-break: break-word;}
.fp-explorer .fp-key {color: #6a1b9a;}
.fp-explorer .fp-type {color: #00695c; font-style: italic;}
.fp-explorer .fp-prompt {white-space: pre-wrap; background: #fff8e1; padding: 4px;
  border-left: 3px solid #ffb300;}
.fp-explorer .fp-diff table {border-collapse: collapse; font-size: 12px;}
.fp-explorer .fp-diff td, .fp-explorer .fp-diff th {border-bottom: 1px solid #eee;
  padding: 2px 6px; text-align: left; vertical-align: top; word-break: break-word;}
.fp-explorer .fp-diff td:nth-child(2) {white-space: nowrap;}
.fp-explorer .fp-diff td:first-child code {white-space: nowrap; word-break: normal;}
.fp-explorer .fp-diff tr.fp-added td {background: #e8f5e9;}
.fp-explorer .fp-diff tr.fp-removed td {background: #ffebee;}
.fp-explorer .fp-diff tr.fp-changed td {background: #fffde7;}
</style>"""

MAX_ITEMS = 100  # children shown per dict / list before "… n more"
MAX_NODES = 3000  # nodes per tree before the rest is cut
MAX_TEXT = 2000  # characters of one leaf value


def esc(value: Any) -> str:
    """``value`` as text, HTML-escaped (quotes too, so it is safe inside attributes)."""
    return html.escape(value if isinstance(value, str) else str(value), quote=True)


def short(value: Any, limit: int = 120) -> str:
    """A one-line text form of ``value`` cut at ``limit`` characters (not yet escaped)."""
    text = value if isinstance(value, str) else json.dumps(value, default=repr, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _leaf(value: Any) -> str:
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False) if "\n" not in value else value
    else:
        text = json.dumps(value, default=repr, ensure_ascii=False)
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f"… ({len(text)} characters)"
    return esc(text)


class _Budget:
    def __init__(self, nodes: int) -> None:
        self.left = nodes


def _node(label: str, value: Any, depth: int, open_depth: int, budget: _Budget) -> str:
    budget.left -= 1
    key = f"<span class='fp-key'>{esc(label)}</span>"
    if budget.left < 0:
        return ""
    if isinstance(value, dict) and EVENT in value and len(value) <= 2:
        kind = f"<span class='fp-type'>{esc(type_name(str(value[EVENT])))}</span>"
        inner = value.get("data")
        children = inner if isinstance(inner, dict) else {"data": inner}
    elif isinstance(value, dict) and value:
        kind = f"<span class='fp-muted'>{{{len(value)}}}</span>"
        children = value
    elif isinstance(value, list) and value:
        kind = f"<span class='fp-muted'>[{len(value)}]</span>"
        children = {f"[{i}]": v for i, v in enumerate(value)}
    else:
        return f"<div class='fp-leaf'>{key}: {_leaf(value)}</div>"
    parts = []
    for i, (k, v) in enumerate(children.items()):
        if i >= MAX_ITEMS:
            parts.append(f"<div class='fp-muted'>… {len(children) - MAX_ITEMS} more</div>")
            break
        if budget.left <= 0:
            parts.append("<div class='fp-muted'>… (cut: too large to show)</div>")
            break
        parts.append(_node(str(k), v, depth + 1, open_depth, budget))
    is_open = " open" if depth < open_depth else ""
    return f"<details{is_open}><summary>{key} {kind}</summary>{''.join(parts)}</details>"


def tree_html(label: str, value: Any, open_depth: int = 1) -> str:
    """A collapsible tree of plain data (dicts, lists, stored events), every string escaped."""
    return _node(label, value, 0, open_depth, _Budget(MAX_NODES))


def event_data(ev: Any) -> Any:
    """An event as stored plain data (``{"__event__": type, "data": {...}}``), or None."""
    return None if ev is None else encode_event(ev)


def head_table(rows: list[tuple[str, Any]]) -> str:
    """A two-column table of label / value, both escaped."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f"<table class='fp-head'>{body}</table>"


def run_error_html(run: Run | None) -> str:
    """The error of a failed run (type and message), escaped; "" if it has none."""
    if run is None or not run.error:
        return ""
    err = f"{run.error.get('type', 'Error')}: {run.error.get('message', '')}"
    return (f"<div class='fp-error'><b>run {esc(run.run_id[:8])} {esc(run.status)}:</b> "
            f"{esc(err)}</div>")


def detail_html(ckpt: Checkpoint, run: Run | None) -> str:
    """The header of a checkpoint and its events and context snapshot as collapsible trees."""
    rows: list[tuple[str, Any]] = [
        ("checkpoint", ckpt.id_), ("run", ckpt.run_id), ("seq", ckpt.seq),
        ("step", ckpt.last_completed_step or "(start)"),
        ("input", type_name(ckpt.input_type) or "—"), ("output", type_name(ckpt.output_type) or "—"),
        ("created", ckpt.created_at.isoformat(timespec="milliseconds")),
        ("duration", "—" if ckpt.step_duration_s is None else f"{ckpt.step_duration_s:.4f} s"),
        ("parent", ckpt.parent_id or "—"),
    ]
    if ckpt.metadata:
        rows.append(("metadata", short(ckpt.metadata, 500)))
    if run is not None:
        rows.append(("run status", f"{run.status} ({run.workflow})"))
        if run.origin_checkpoint_id:
            rows.append(("resumed from", run.origin_checkpoint_id))
        if run.edited:
            rows.append(("edited", short(run.edited, 500)))
    rows.extend(("problem", p) for p in ckpt.problems)
    state = ckpt.ctx_state
    blocks = [tree_html("input event", event_data(ckpt.input_event)),
              tree_html("output event", event_data(ckpt.output_event))]
    parts = [(k, state[k]) for k in ("store", "queues", "in_progress", "collect_buffers",
                                     "pending_input", "accepted_events", "event_log") if k in state]
    parts += [(k, v) for k, v in state.items() if k not in dict(parts)]
    inner = "".join(tree_html(k, v, open_depth=1 if k == "store" else 0) for k, v in parts)
    blocks.append(f"<details open><summary><b>context snapshot</b></summary>{inner}</details>")
    return (f"<div class='fp-detail'>{head_table(rows)}{run_error_html(run)}"
            f"{''.join(blocks)}</div>")
