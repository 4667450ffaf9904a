"""The human-input panel: a waiting run's prompt and a box to answer it (or why it can't be)."""

from __future__ import annotations

import ipywidgets as w

from ..checkpoints.checkpointer import WorkflowCheckpointer
from ..checkpoints.codec import EVENT
from ..checkpoints.model import Checkpoint, Run
from ..runtime.events import InputRequiredEvent
from .trees import esc, short


def prompt_of(ckpt: Checkpoint) -> str | None:
    """The text a run waits on at ``ckpt``: its pending InputRequiredEvent, else its output one."""
    pending = ckpt.ctx_state.get("pending_input")
    if isinstance(pending, dict) and EVENT in pending:
        data = pending.get("data") if isinstance(pending.get("data"), dict) else {}
        return str(data.get("prefix") or short(data, 2000))
    ev = ckpt.output_event
    if isinstance(ev, InputRequiredEvent):
        extra = ev.__pydantic_extra__ or {}
        return ev.prefix or short(extra, 2000)
    return None


class HumanPanel(w.VBox):
    """Shown only while the selected run waits for input; ``run_id`` is the run it answers."""

    def __init__(self) -> None:
        self.prompt = w.HTML()
        self.text = w.Text(placeholder="your answer", layout=w.Layout(width="60%"))
        self.send_button = w.Button(description="Send response", button_style="warning",
                                    icon="reply")
        self.resume_button = w.Button(description="Resume from last checkpoint", icon="play",
                                      layout=w.Layout(width="auto"))
        self.answer_row = w.HBox([self.text, self.send_button])
        super().__init__([self.prompt], layout=w.Layout(display="none"))
        self.add_class("fp-panel")
        self.run_id: str | None = None
        self.last_checkpoint: Checkpoint | None = None

    def update(self, ckptr: WorkflowCheckpointer, run: Run | None,
               ckpt: Checkpoint | None = None) -> None:
        """Show the prompt of ``run`` if it is waiting, else hide the panel.

        ``ckpt`` holds the prompt (the run's last checkpoint, or the checkpoint a run without
        checkpoints of its own was resumed from); looked up when not given.
        """
        if run is None or run.status != "waiting":
            self.run_id = None
            self.layout.display = "none"
            return
        if ckpt is None:
            ckpt = ckptr.last_checkpoint(run.run_id)
        self.run_id = run.run_id
        self.last_checkpoint = ckpt
        prompt = prompt_of(ckpt)
        text = (f"<div class='fp-prompt'>{esc(prompt)}</div>" if prompt is not None else
                "<div class='fp-muted'>(the run waits for an event; no prompt text found)</div>")
        head = f"<b>run {esc(run.run_id[:8])} is waiting for input</b>"
        if ckptr.handler(run.run_id) is not None:
            self.prompt.value = f"{head}{text}"
            self.children = (self.prompt, self.answer_row)
        else:
            note = ("<div class='fp-error'>This run is not running in this process (e.g. the "
                    "kernel was restarted), so it cannot be answered here. Resume it from its "
                    "last checkpoint to get the prompt again.</div>")
            self.prompt.value = f"{head}{text}{note}"
            self.children = (self.prompt, self.resume_button)
        self.layout.display = None
