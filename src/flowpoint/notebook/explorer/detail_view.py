"""The detail view: the selected checkpoint's header, what its run did, its events and state.

A failed run names its failing step and shows the stored traceback (collapsed); an interrupted
or paused run says what to do next. Every string is escaped.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ...checkpoints.model import Checkpoint, Run, type_name
from .data import ExplorerData, Selection
from .trees import esc, event_data, head_table, hint, note, short, tree_html

_STATE_ORDER = ("store", "queues", "in_progress", "collect_buffers", "pending_input",
                "accepted_events", "event_log")


def run_story(run: Run | None, ckpt: Checkpoint, is_last: bool, read_only: bool) -> str:
    """What the checkpoint's run did after it, and what the user can do about it (escaped)."""
    if run is None:
        return note("the run of this checkpoint is no longer stored", "warn")
    out = []
    err = run.error if isinstance(run.error, dict) else None
    if run.status == "failed" and err is not None:
        step = err.get("step")
        head = (f"Run {run.run_id[:8]} failed in step {step!r}" if step else
                f"Run {run.run_id[:8]} failed")
        msg = f"{head}: {err.get('type', 'Error')}: {err.get('message', '')}"
        out.append(f"<div class='fp-note fp-note--error fp-failure'><b>{esc(msg)}</b>")
        if is_last:
            out.append(f"<div>{esc('This is its last checkpoint: fix the step, then Resume.')}"
                       f"</div>")
        tb = err.get("traceback")
        if tb:
            out.append(f"<details class='fp-tb'><summary>traceback</summary>"
                       f"<pre class='fp-traceback'>{esc(tb)}</pre></details>")
        out.append("</div>")
    elif run.status == "interrupted":
        out.append(note(f"Run {run.run_id[:8]} was interrupted: the process running it ended "
                        f"before it finished. Select its last checkpoint and press Resume to "
                        f"continue it in a new run.", "warn"))
    elif run.status == "paused":
        before = ckpt.ctx_state.get("paused_before") if is_last else None
        where = f" before step {before!r}" if before else ""
        how = ("attach a checkpointer to continue it" if read_only else
               "Resume continues it; Edit changes its output event or state first")
        out.append(note(f"Run {run.run_id[:8]} is paused{where} (a breakpoint). {how}.", "warn"))
    elif run.status == "waiting":
        out.append(note(f"Run {run.run_id[:8]} is waiting for input.", "warn"))
    return "".join(out)


def detail_html(ckpt: Checkpoint, run: Run | None, is_last: bool = False,
                read_only: bool = False) -> str:
    """The header of a checkpoint, its run's story, and its events and snapshot as trees."""
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
    parts = [(k, state[k]) for k in _STATE_ORDER if k in state]
    parts += [(k, v) for k, v in state.items() if k not in dict(parts)]
    inner = "".join(tree_html(k, v, open_depth=1 if k == "store" else 0) for k, v in parts)
    blocks.append(f"<details open><summary><b>context snapshot</b></summary>{inner}</details>")
    return (f"<div class='fp-detail'>{run_story(run, ckpt, is_last, read_only)}"
            f"{head_table(rows)}{''.join(blocks)}</div>")


class DetailView(w.HTML):
    """Renders the selection of ``data``; cleared (with a hint) when nothing is selected."""

    def __init__(self, data: ExplorerData) -> None:
        super().__init__(hint("select a checkpoint in the table or the timeline"))
        self.add_class("fp-detail-view")
        self.read_only = data.read_only
        data.observe(lambda c: self.show(c["new"]), names="selection")

    def show(self, selection: Selection | None) -> None:
        """Render the selected checkpoint (None clears the view)."""
        if selection is None:
            self.value = hint("select a checkpoint in the table or the timeline")
            return
        self.value = detail_html(selection.checkpoint, selection.run, selection.is_last,
                                 self.read_only)
