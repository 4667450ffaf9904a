"""The actions view: Resume, Pin, Refresh and the breakpoint, with the status and progress of
the last run beside them, and the reason when an action is not possible."""

from __future__ import annotations

import ipywidgets as w

from .trees import esc


class Toolbar(w.VBox):
    """Buttons in one wrapping row with the status line; a note line below for the reason."""

    def __init__(self, status: w.HTML, progress: w.IntProgress, steps: list[str]) -> None:
        self.resume_button = w.Button(description="Resume", icon="play", button_style="primary",
                                      tooltip="run_from(selected) as a task on the kernel's loop",
                                      layout=w.Layout(width="auto"))
        self.pin_button = w.Button(description="Pin", icon="thumb-tack",
                                   tooltip="pin the selected checkpoint: Diff compares against it",
                                   layout=w.Layout(width="auto"))
        self.refresh_button = w.Button(description="Refresh", icon="refresh",
                                       layout=w.Layout(width="auto"))
        self.breakpoint = w.Dropdown(
            options=[("no breakpoint", "")] + [(f"pause before {s}", s) for s in steps],
            value="", description="", layout=w.Layout(width="auto", max_width="240px"),
            tooltip="runs started here stop before this step (pause_before=)")
        self.breakpoint.disabled = not steps
        self.reason = w.HTML()
        self.pin_info = w.HTML()
        row = w.HBox([self.resume_button, self.pin_button, self.refresh_button, self.breakpoint,
                      progress, status], layout=w.Layout(flex_flow="row wrap",
                                                         align_items="center"))
        row.add_class("fp-toolbar")
        super().__init__([row, self.reason, self.pin_info])

    def set_reason(self, reason: str | None) -> None:
        """Disable Resume with ``reason`` shown beside it (None enables it)."""
        self.resume_button.disabled = reason is not None
        self.resume_button.tooltip = reason or "run_from(selected) as a task on the kernel's loop"
        self.reason.value = ("" if reason is None else
                             f"<div class='fp-note fp-note--warn fp-reason'>{esc(reason)}</div>")
