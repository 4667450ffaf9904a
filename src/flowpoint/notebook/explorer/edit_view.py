"""The edit view: change the selected checkpoint's output event and ``ctx.store`` values.

The event form has one input per field of the event's pydantic model; the state is a JSON
editor of the store's values (typed values as a dict of their fields, validated by their model
when the run starts). Nothing is stored until "Resume with edit" starts a run; errors are shown
here and nothing is lost (the form keeps what was typed, also after the run started).
"""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as w

from ...checkpoints.codec import EVENT
from ...checkpoints.model import Checkpoint
from ...errors import InvalidEdit
from .data import ExplorerData, Selection
from .forms import EditForm
from .trees import esc, hint


def _plain(value: Any) -> Any:
    """A stored value as the user edits it: an event (typed value) as its fields."""
    if isinstance(value, dict) and EVENT in value and isinstance(value.get("data"), dict):
        return {k: _plain(v) for k, v in value["data"].items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class StateForm(w.VBox):
    """A JSON editor of ``ctx.store``; :meth:`edits` returns only the keys that changed."""

    def __init__(self) -> None:
        self.header = w.HTML()
        self.text = w.Textarea(rows=6, layout=w.Layout(width="98%"),
                               placeholder='{"key": "new value"}')
        self.text.add_class("fp-state-editor")
        super().__init__([self.header, self.text])
        self._original: dict[str, Any] = {}
        self.reason: str | None = "no checkpoint selected"

    def load(self, ckpt: Checkpoint | None) -> None:
        """Show the store of ``ckpt`` (or say why it cannot be edited)."""
        store = ckpt.ctx_state.get("store") if ckpt is not None else None
        if not isinstance(store, dict):
            self.reason = "this checkpoint has no readable ctx.store to edit"
            self._original = {}
            self.header.value = hint(self.reason)
            self.text.value = ""
            self.text.disabled = True
            return
        self.reason = None
        self._original = {k: _plain(v) for k, v in store.items()}
        self.text.value = json.dumps(self._original, indent=2, ensure_ascii=False, default=repr)
        self.text.disabled = False
        self.header.value = ("State <b>ctx.store</b>: change values (JSON); typed values take a "
                             "dict of their fields. Keys cannot be removed here.")

    def edits(self) -> dict[str, Any]:
        """The keys whose value changed, parsed; InvalidEdit when the text is not a JSON object."""
        if self.reason is not None:
            return {}
        try:
            data = json.loads(self.text.value) if self.text.value.strip() else {}
        except json.JSONDecodeError as exc:
            raise InvalidEdit(f"state is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidEdit(f"state must be a JSON object of ctx.store keys, got "
                              f"{type(data).__name__}")
        return {k: v for k, v in data.items()
                if k not in self._original or self._original[k] != v
                or type(self._original[k]) is not type(v)}


class EditView(w.VBox):
    """Event form, state editor, "Resume with edit" and the errors of the last attempt, for
    the selection of ``data``."""

    def __init__(self, data: ExplorerData) -> None:
        self.event_form = EditForm()
        self.state_form = StateForm()
        self.resume_button = w.Button(description="Resume with edit", icon="pencil",
                                      button_style="primary", disabled=True,
                                      layout=w.Layout(width="auto"))
        self.error = w.HTML()
        super().__init__([self.event_form, self.state_form, w.HBox([self.resume_button]),
                          self.error])
        self.checkpoint_id: str | None = None
        data.observe(lambda c: self.show(c["new"]), names="selection")

    def show(self, selection: Selection | None) -> None:
        """Load the forms for the selected checkpoint (or say what to do)."""
        if selection is None:
            self.load(None, "select a checkpoint")
        else:
            self.load(selection.checkpoint, selection.blocker)

    def load(self, ckpt: Checkpoint | None, disabled_reason: str | None) -> None:
        """Rebuild the forms for ``ckpt``; kept as typed when it is the same checkpoint."""
        if ckpt is not None and ckpt.id_ == self.checkpoint_id:
            self._enable(disabled_reason)
            return
        self.checkpoint_id = ckpt.id_ if ckpt is not None else None
        self.event_form.load(ckpt.output_event if ckpt is not None else None)
        self.state_form.load(ckpt)
        self.error.value = ""
        self._enable(disabled_reason)

    def _enable(self, reason: str | None) -> None:
        nothing = self.event_form.disabled and self.state_form.reason is not None
        self.resume_button.disabled = reason is not None or nothing
        self.resume_button.tooltip = reason or "run_from(selected, output_event=..., state=...)"
        if reason is not None:
            self.error.value = f"<div class='fp-note fp-note--warn'>{esc(reason)}</div>"

    def edits(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(output_event edits, state edits), each None when nothing changed."""
        event = {} if self.event_form.disabled else self.event_form.edits()
        state = self.state_form.edits()
        return event or None, state or None

    def failed(self, exc: BaseException) -> None:
        """Show why the edit was not resumed."""
        self.error.value = f"<div class='fp-error'>{esc(f'{type(exc).__name__}: {exc}')}</div>"
