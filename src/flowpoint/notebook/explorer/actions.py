"""What the explorer's buttons do: Resume (or continue a paused run), Resume with edit, and
answering a waiting run. Runs start as tasks on the kernel's loop (:class:`RunMonitor`); every
failure is shown in the status line or the edit view, never raised out of a widget callback.
"""

from __future__ import annotations

from typing import Any

from ...checkpoints.model import Checkpoint
from ...errors import FlowpointError, InvalidEdit
from .data import ExplorerData, resume_blocker
from .edit_view import EditView
from .human_view import HumanView, live_handler
from .monitor import RunMonitor
from .trees import hint


class Actions:
    """Starts the runs the user asks for, from the state's breakpoints and the selection."""

    def __init__(self, data: ExplorerData, monitor: RunMonitor, edit_view: EditView,
                 human: HumanView) -> None:
        self.data, self.monitor, self.edit_view, self.human = data, monitor, edit_view, human
        self.keep_selection = False  # after Resume with edit, the selection (and form) stay

    def resume(self) -> None:
        """Resume from the selected checkpoint."""
        if self.data.selection is not None:
            self.launch(self.data.selection.checkpoint, what="resume")

    def launch(self, ckpt: Checkpoint, output_event: dict[str, Any] | None = None,
               state: dict[str, Any] | None = None, what: str = "resume") -> None:
        """Run from ``ckpt`` (or continue its run if it is paused there) as a task."""
        reason = resume_blocker(ckpt, self.data.read_only)
        if reason is not None:
            self.monitor.say(reason, "fp-error")
            return
        ckptr = self.data.ckptr
        breaks = list(self.data.state.breakpoints) or None
        run = self.data.run(ckpt.run_id)
        last = self.data.source.last_seqs([ckpt.run_id]).get(ckpt.run_id)
        if run is not None and run.status == "paused" and last == ckpt.seq:
            def start() -> Any:
                return ckptr.resume(ckpt.run_id, output_event=output_event, state=state,
                                    pause_before=breaks)
            label = f"continue paused run {ckpt.run_id[:8]}"
        else:
            def start() -> Any:
                return ckptr.run_from(ckpt, output_event=output_event, state=state,
                                      pause_before=breaks)
            label = f"{what} from {ckpt.id_[:8]}"
        self.keep_selection = what == "edit"
        on_error = self.edit_view.failed if what == "edit" else None
        expected = max(1, (last or 0) - ckpt.seq) if not ckpt.is_start else (last or 0) + 1
        self.monitor.launch(start, label, expected, on_error=on_error)

    def resume_with_edit(self) -> None:
        """Resume from the selection with the edit view's event and state changes."""
        if self.data.selection is None:
            return
        self.edit_view.error.value = ""
        try:
            event, state = self.edit_view.edits()
        except InvalidEdit as exc:
            self.edit_view.failed(exc)
            self.monitor.error("edit not resumed", exc)
            return
        if event is None and state is None:
            self.edit_view.error.value = hint("no field changed: resuming with the checkpoint "
                                              "as stored")
        self.launch(self.data.selection.checkpoint, event, state, what="edit")

    def answer(self, run_id: str, text: str) -> None:
        """Send ``text`` to the waiting run (in whichever checkpointer of the kernel runs it)."""
        found = live_handler(run_id, self.data.ckptr)
        if found is None:
            self.monitor.say(f"run {run_id[:8]} is not running in this kernel", "fp-error")
            return
        ckptr, handler = found
        try:
            ckptr.respond(run_id, text)
        except FlowpointError as exc:
            self.monitor.error(f"cannot answer run {run_id[:8]}", exc)
            return
        self.human.text.value = ""
        self.human.layout.display = "none"
        self.monitor.say(f"sent the response to run {run_id[:8]}")
        self.monitor.follow(handler)
