"""HTML views of checkpoints for notebooks; every stored string is escaped."""

from __future__ import annotations

import html
import json
from typing import Any

from .codec import encode_event
from .model import Checkpoint, type_name


def pretty(value: Any, limit: int = 4000) -> str:
    """Indented JSON of ``value`` (shortened past ``limit`` characters), not yet escaped."""
    text = json.dumps(value, indent=2, default=repr, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "\n…"


def event_data(ev: Any) -> Any:
    """An event as plain data for display."""
    return None if ev is None else encode_event(ev)


def checkpoint_html(ckpt: Checkpoint) -> str:
    """A compact escaped summary table with the events and user state in <details> blocks."""
    rows = [("checkpoint", ckpt.id_), ("run", ckpt.run_id), ("seq", ckpt.seq),
            ("step", ckpt.last_completed_step or "(start)"),
            ("input", type_name(ckpt.input_type) or ""), ("output", type_name(ckpt.output_type) or ""),
            ("created", ckpt.created_at.isoformat()),
            ("duration", "" if ckpt.step_duration_s is None else f"{ckpt.step_duration_s:.4f} s"),
            ("parent", ckpt.parent_id or "")]
    if ckpt.metadata:
        rows.append(("metadata", json.dumps(ckpt.metadata, default=repr, ensure_ascii=False)))
    for p in ckpt.problems:
        rows.append(("problem", p))
    body = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
                   f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>" for k, v in rows)
    blocks = [("input event", event_data(ckpt.input_event)),
              ("output event", event_data(ckpt.output_event)),
              ("ctx.store", ckpt.ctx_state.get("store", {}))]
    if "$corrupt" in ckpt.ctx_state:
        blocks.append(("ctx_state (damaged)", ckpt.ctx_state))
    details = "".join(f"<details><summary>{html.escape(t)}</summary><pre>{html.escape(pretty(v))}"
                      f"</pre></details>" for t, v in blocks)
    return f"<div class='fp-checkpoint'><table>{body}</table>{details}</div>"
