"""Escaped HTML for the explorer: collapsible trees of stored data and the checkpoint detail view.

Everything here turns stored data (written by steps, LLMs and users) into HTML, so every string
goes through :func:`esc`; nothing is ever inserted raw.
"""

from __future__ import annotations

import html
import json
from typing import Any

from ...checkpoints.codec import EVENT, encode_event
from ...checkpoints.model import type_name

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


def hint(text: str) -> str:
    """A muted, escaped note for an HTML view."""
    return f"<span class='fp-muted'>{esc(text)}</span>"


def note(text: str, kind: str = "") -> str:
    """An escaped note with a coloured bar: kind "" (info), "warn" or "error"."""
    cls = f"fp-note fp-note--{kind}" if kind else "fp-note"
    return f"<div class='{cls}'>{esc(text)}</div>"
