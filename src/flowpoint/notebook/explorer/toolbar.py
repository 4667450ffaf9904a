"""The actions view: Resume, Pin, Refresh and the breakpoint, with the status and progress of
the last run beside them, and the reason when an action is not possible.

It renders the state: Resume follows the selection (disabled with the reason), the pin note
follows ``pinned``, the breakpoint menu is the ``breakpoints`` trait; Pin only changes the state.
"""

from __future__ import annotations

import ipywidgets as w

from .data import READ_ONLY, ExplorerData, Selection
from .state import ExplorerState
from .trees import esc, hint

_RESUME_TIP = "run_from(selected) as a task on the kernel's loop"


class Toolbar(w.VBox):
    """Buttons in one wrapping row with the status line; a note line below for the reason."""

    def __init__(self, state: ExplorerState, data: ExplorerData, status: w.HTML,
                 progress: w.IntProgress, steps: list[str]) -> None:
        self.resume_button = w.Button(description="Resume", icon="play", button_style="primary",
                                      tooltip=_RESUME_TIP, layout=w.Layout(width="auto"))
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
        self.state, self.read_only = state, data.read_only
        self.pin_button.on_click(lambda _b: self.toggle_pin())
        self.breakpoint.observe(lambda c: setattr(state, "breakpoints",
                                                  [c["new"]] if c["new"] else []), names="value")
        state.observe(lambda c: setattr(self.breakpoint, "value", (c["new"] or [""])[0]),
                      names="breakpoints")
        state.observe(lambda c: self.show_pin(c["new"]), names="pinned")
        data.observe(lambda c: self.show(c["new"]), names="selection")
        self.show(data.selection)

    def toggle_pin(self) -> None:
        """Pin the selected checkpoint (unpin when it is the pinned one)."""
        sel = self.state.selected
        self.state.pinned = "" if not sel or self.state.pinned == sel else sel

    def show_pin(self, pinned: str) -> None:
        self.pin_info.value = "" if not pinned else hint(
            f"pinned {pinned[:8]}: Diff compares the selected checkpoint with it (Pin again on "
            f"it to unpin)")

    def show(self, selection: Selection | None) -> None:
        """Resume enabled for the selection, or disabled with the reason beside it."""
        if selection is None:
            self.set_reason(READ_ONLY if self.read_only else "select a checkpoint")
        else:
            self.set_reason(selection.blocker)

    def set_reason(self, reason: str | None) -> None:
        """Disable Resume with ``reason`` shown beside it (None enables it)."""
        self.resume_button.disabled = reason is not None
        self.resume_button.tooltip = reason or _RESUME_TIP
        self.reason.value = ("" if reason is None else
                             f"<div class='fp-note fp-note--warn fp-reason'>{esc(reason)}</div>")
