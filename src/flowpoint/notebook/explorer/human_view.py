"""The human-input view: a waiting run's prompt and a box to answer it (Enter sends).

Shown whenever any checkpoint (or the lane) of a waiting run is selected. The live run is
looked up in every checkpointer of the kernel; a run no process is running any more can only
be resumed from its last checkpoint, and the view says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ...checkpoints.checkpointer import WorkflowCheckpointer, live_checkpointers
from ...checkpoints.codec import EVENT
from ...checkpoints.drivers import is_prompt_event
from ...checkpoints.model import Checkpoint, Run
from ...errors import CheckpointNotFound
from ...runtime.handler import WorkflowHandler
from .data import ExplorerData, Selection
from .trees import esc, short


def prompt_of(ckpt: Checkpoint) -> str | None:
    """The text a run waits on at ``ckpt``: its pending InputRequiredEvent, else its output one."""
    pending = ckpt.ctx_state.get("pending_input")
    if isinstance(pending, dict) and EVENT in pending:
        data = pending.get("data") if isinstance(pending.get("data"), dict) else {}
        return str(data.get("prefix") or short(data, 2000))
    ev = ckpt.output_event
    if is_prompt_event(ev):  # flowpoint's or another runtime's (extras as fields or a dict)
        extra = ev.__pydantic_extra__ or getattr(ev, "_data", None) or {}
        return getattr(ev, "prefix", "") or short(extra, 2000)
    return None


def live_handler(run_id: str, first: WorkflowCheckpointer | None = None
                 ) -> tuple[WorkflowCheckpointer, WorkflowHandler] | None:
    """The checkpointer of this kernel running ``run_id`` and its handler, if any."""
    for ckptr in ([first] if first is not None else []) + live_checkpointers():
        try:
            handler = ckptr.handler(run_id)
        except Exception:  # another checkpointer whose store is gone must not hide this run
            continue
        if handler is not None:
            return ckptr, handler
    return None


class HumanView(w.VBox):
    """Hidden unless the selected run waits for input; ``run_id`` is the run it answers."""

    def __init__(self, data: ExplorerData, on_answer: Callable[[str, str], None],
                 on_resume: Callable[[Checkpoint], None]) -> None:
        self.prompt = w.HTML()
        self.text = w.Text(placeholder="your answer (Enter sends)",
                           layout=w.Layout(flex="1 1 200px", min_width="0"))
        self.send_button = w.Button(description="Send response", icon="reply",
                                    button_style="primary", layout=w.Layout(width="auto"))
        self.resume_button = w.Button(description="Resume from last checkpoint", icon="play",
                                      layout=w.Layout(width="auto"))
        self.answer_row = w.HBox([self.text, self.send_button],
                                 layout=w.Layout(flex_flow="row wrap"))
        super().__init__([self.prompt], layout=w.Layout(display="none"))
        self.add_class("fp-panel")
        self.add_class("fp-human")
        self.run_id: str | None = None
        self.last_checkpoint: Checkpoint | None = None
        self._on_answer = on_answer
        self.send_button.on_click(lambda _b: self.submit())
        self.text.on_msg(self._on_text_msg)
        self.resume_button.on_click(
            lambda _b: self.last_checkpoint is not None and on_resume(self.last_checkpoint))
        self.data = data
        data.observe(lambda c: self.show(c["new"]), names="selection")

    def show(self, selection: Selection | None) -> None:
        """Show the prompt of the selected checkpoint's run if it waits (or of a run resumed
        from this checkpoint that has no checkpoint of its own yet); else hide."""
        try:
            self._show(selection)
        except Exception as exc:  # a widget callback must show its error, not lose it
            self.data.on_error("prompt failed", exc)

    def _show(self, selection: Selection | None) -> None:
        ckptr, read_only = self.data.ckptr, self.data.read_only
        if selection is None:
            self.update(ckptr, None, None, read_only)
            return
        ckpt, run, store = selection.checkpoint, selection.run, ckptr.store
        for child in reversed(store.list_runs(statuses=("waiting",))):
            if child.origin_checkpoint_id == ckpt.id_ and not store.count_checkpoints(
                    ckptr.query(run_id=child.run_id)):
                self.update(ckptr, Run.from_record(child), ckpt, read_only)
                return
        if run is None or run.status != "waiting":
            self.update(ckptr, run, None, read_only)
            return
        try:
            holder = ckptr.last_checkpoint(run.run_id)
        except CheckpointNotFound:
            holder = ckpt
        self.update(ckptr, run, holder, read_only)

    def _on_text_msg(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "submit":
            self.submit()

    def submit(self) -> None:
        """Send what is in the answer box to the waiting run."""
        if self.run_id is not None:
            self._on_answer(self.run_id, self.text.value)

    def update(self, ckptr: WorkflowCheckpointer, run: Run | None, ckpt: Checkpoint | None,
               read_only: bool) -> None:
        """Show the prompt of ``run`` if it is waiting (``ckpt`` holds the prompt), else hide."""
        if run is None or run.status != "waiting" or ckpt is None:
            self.run_id = None
            self.layout.display = "none"
            return
        self.run_id = run.run_id
        self.last_checkpoint = ckpt
        prompt = prompt_of(ckpt)
        text = (f"<div class='fp-prompt'>{esc(prompt)}</div>" if prompt is not None else
                "<div class='fp-muted'>(the run waits for an event; no prompt text found)</div>")
        head = f"<b>run {esc(run.run_id[:8])} is waiting for input</b>"
        if live_handler(run.run_id, ckptr) is not None:
            self.prompt.value = f"{head}{text}"
            self.children = (self.prompt, self.answer_row)
        else:
            how = ("attach a checkpointer with its workflow to resume it" if read_only else
                   "resume it from its last checkpoint to get the prompt again")
            note = (f"<div class='fp-note fp-note--warn'>No process of this kernel runs it any "
                    f"more (e.g. the kernel was restarted), so it cannot be answered here: "
                    f"{esc(how)}.</div>")
            self.prompt.value = f"{head}{text}{note}"
            self.children = (self.prompt,) if read_only else (self.prompt, self.resume_button)
        self.layout.display = None
