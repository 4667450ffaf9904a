"""The explorer's buttons: Pin and Diff, Resume, Resume with edit, and answering a waiting run.

A mixin of `CheckpointExplorer` (kept apart to keep each file about one thing); launches go
through the explorer's `RunMonitor`, so errors are shown and runs never block the kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..checkpoints.diff import diff
from ..checkpoints.model import Checkpoint
from ..errors import CheckpointNotFound, FlowpointError, InvalidEdit
from .trees import esc

if TYPE_CHECKING:
    from .explorer import CheckpointExplorer

DETAIL, DIFF, EDIT = 0, 1, 2  # tab indexes
def hint(text: str) -> str:
    """A muted, escaped note for an HTML view."""
    return f"<span class='fp-muted'>{esc(text)}</span>"


class ExplorerActions:
    """What the explorer's buttons do (methods of `CheckpointExplorer`)."""

    # --- diff and pin ---------------------------------------------------------------------------
    def _on_pin(self: CheckpointExplorer, _button: Any) -> None:
        ckpt = self.selected
        if ckpt is None or (self.pinned is not None and self.pinned.id_ == ckpt.id_):
            self.pinned = None
            self.timeline.pinned = ""
            self.pin_info.value = ""
        else:
            self.pinned = ckpt
            self.timeline.pinned = ckpt.id_
            self.pin_info.value = hint(f"pinned {ckpt.id_[:8]} (press Pin again on it to "
                                               f"unpin)")
        self._diffed = None
        if self.tabs.selected_index == DIFF and self.selected is not None:
            self._diff()

    def _on_diff(self: CheckpointExplorer, _button: Any) -> None:
        self._safely("diff", self._diff)
        self.tabs.selected_index = DIFF

    def _diff(self: CheckpointExplorer) -> None:
        """Show the diff of the selected checkpoint vs the pinned one, else vs its parent."""
        b = self.selected
        if b is None:
            self.diff_view.value = hint("select a checkpoint first")
            return
        if self.pinned is not None and self.pinned.id_ != b.id_:
            if self._diffed == (self.pinned.id_, b.id_):
                return
            a, how = self.pinned, "pinned"
        elif b.parent_id is None:
            self.diff_view.value = hint(
                f"checkpoint {b.id_[:8]} is the start of run {b.run_id[:8]}: there is no previous "
                f"checkpoint to compare with. Pin another checkpoint to compare against it.")
            self._diffed = None
            return
        else:
            if self._diffed == (b.parent_id, b.id_):
                return
            try:
                a = self.checkpointer.get(b.parent_id)
            except CheckpointNotFound:
                self.diff_view.value = hint(
                    f"the previous checkpoint {b.parent_id[:8]} is no longer stored (pruned?)")
                return
            how = "previous" if a.run_id == b.run_id else "resumed from"
        self._diffed = (a.id_, b.id_)
        title = (f"<div><b>{esc(how)}</b> {esc(a.id_[:8])} (run {esc(a.run_id[:8])}, seq {a.seq}) "
                 f"→ <b>selected</b> {esc(b.id_[:8])} (run {esc(b.run_id[:8])}, seq {b.seq})</div>")
        self.diff_view.value = title + diff(a, b)._repr_html_()

    # --- launching runs -------------------------------------------------------------------------
    def _expected(self: CheckpointExplorer, ckpt: Checkpoint) -> int:
        last = self._loaded.last_of_run.get(ckpt.run_id)
        n = last.seq + 1 if last is not None else len(self.checkpointer.workflow.steps()) + 1
        return n if ckpt.is_start else max(1, n - ckpt.seq - 1)

    def _on_resume(self: CheckpointExplorer, _button: Any) -> None:
        ckpt = self.selected
        if ckpt is None:
            self.monitor.say("select a checkpoint to resume from", "fp-error")
            return
        self.monitor.launch(lambda: self.checkpointer.run_from(ckpt),
                            f"resume from {ckpt.id_[:8]}", self._expected(ckpt))

    def _on_edit(self: CheckpointExplorer, _button: Any) -> None:
        ckpt = self.selected
        self.edit_error.value = ""
        if ckpt is None:
            return
        try:
            edits = self.edit_form.edits()
        except InvalidEdit as exc:
            self._edit_failed(exc)
            return
        if not edits:
            self.edit_error.value = hint("no field changed: resuming with the event as "
                                                 "stored")
        self.monitor.launch(lambda: self.checkpointer.run_from(ckpt, output_event=edits or None),
                            f"resume {ckpt.id_[:8]} with edit", self._expected(ckpt),
                            on_error=self._edit_failed)

    def _edit_failed(self: CheckpointExplorer, exc: BaseException) -> None:
        self.edit_error.value = f"<div class='fp-error'>{esc(f'{type(exc).__name__}: {exc}')}</div>"
        self.monitor.error("edit not resumed", exc)

    def _on_respond(self: CheckpointExplorer, _button: Any) -> None:
        run_id = self.human.run_id
        if run_id is None:
            return
        try:
            self.checkpointer.respond(run_id, self.respond_text.value)
        except FlowpointError as exc:
            self.monitor.error(f"cannot answer run {run_id[:8]}", exc)
            return
        handler = self.checkpointer.handler(run_id)
        self.respond_text.value = ""
        self.human.layout.display = "none"
        self.monitor.say(f"sent the response to run {run_id[:8]}")
        if handler is not None:
            self.monitor.follow(handler)

    def _on_resume_waiting(self: CheckpointExplorer, _button: Any) -> None:
        ckpt = self.human.last_checkpoint
        if ckpt is not None:
            self.monitor.launch(lambda: self.checkpointer.run_from(ckpt),
                                f"resume from {ckpt.id_[:8]}", 1)
