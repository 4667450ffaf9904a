"""The edit form of the explorer: one input widget per field of an event's pydantic model.

Strings get a Text (a Textarea when long or multi-line), numbers an IntText / FloatText, booleans
a Checkbox, everything else (lists, dicts, models, Any) a JSON Textarea. :meth:`EditForm.edits`
returns only the fields the user changed, parsed, for ``run_from(..., output_event=edits)``.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

import ipywidgets as w

from ...checkpoints.codec import UnknownEvent
from ...errors import InvalidEdit
from ...runtime.events import Event
from .trees import esc

_LABEL = {"description_width": "130px"}
_WIDE = w.Layout(width="98%")


def _kind_of_type(tp: Any) -> str | None:
    if tp is bool:
        return "bool"
    if tp is int:
        return "int"
    if tp is float:
        return "float"
    if tp is str:
        return "str"
    return None


def _kind(annotation: Any, value: Any) -> str:
    """Which widget a field gets: by its annotation, or by its value when untyped (extras, Any)."""
    kind = _kind_of_type(annotation)
    if kind is not None:
        return kind
    if annotation in (None, Any) or typing.get_origin(annotation) in (typing.Union, types.UnionType):
        if value is not None and annotation in (None, Any):
            return _kind_of_type(type(value)) or "json"
    return "json"


def _plain(ev: Event, name: str) -> Any:
    """The JSON form of one field, as pydantic dumps it (repr for what it cannot)."""
    try:
        return ev.model_dump(mode="json", include={name}).get(name)
    except Exception:  # an arbitrary type pydantic cannot dump: show, never crash the form
        return repr(getattr(ev, name, None))


def _spec(kind: str, value: Any) -> tuple[type[w.Widget], dict[str, Any]]:
    """The widget class for one field and the traits that show its value."""
    if kind == "bool":
        return w.Checkbox, {"value": bool(value), "indent": False}
    if kind == "int":
        return w.IntText, {"value": int(value)}
    if kind == "float":
        return w.FloatText, {"value": float(value)}
    if kind == "str":
        text = value if isinstance(value, str) else ""
        if "\n" in text or len(text) > 80:
            rows = min(12, max(3, text.count("\n") + 2, len(text) // 70 + 1))
            return w.Textarea, {"value": text, "rows": rows}
        return w.Text, {"value": text}
    text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    return w.Textarea, {"value": text, "rows": min(12, max(2, text.count("\n") + 1)),
                        "placeholder": "JSON"}


def _widget(kind: str, name: str, value: Any, old: w.Widget | None = None) -> w.Widget:
    """The input for one field: ``old`` with the new value when it is of the right class (no
    new widget for the browser to build), else a new one."""
    cls, traits = _spec(kind, value)
    if type(old) is cls and old.description == name:
        with old.hold_sync():
            for key, v in traits.items():
                setattr(old, key, v)
        return old
    return cls(description=name, style=_LABEL, layout=_WIDE, **traits)


class EditForm(w.VBox):
    """A form of the fields of one event; ``widgets[name].value`` is what the user typed."""

    def __init__(self) -> None:
        self.header = w.HTML()
        self.fields_box = w.VBox()
        super().__init__([self.header, self.fields_box])
        self.widgets: dict[str, w.Widget] = {}
        self.kinds: dict[str, str] = {}
        self.event_type: type[Event] | None = None
        self._original: dict[str, Any] = {}
        self.reason: str | None = "no checkpoint selected"

    @property
    def disabled(self) -> bool:
        """True when there is nothing editable (no event, or an event type not loaded)."""
        return self.reason is not None

    def load(self, ev: Event | None) -> None:
        """Rebuild the form for ``ev`` (or disable it, saying why); inputs of the same fields
        are reused, the others closed."""
        old_widgets = self.widgets
        self.widgets, self.kinds, self._original = {}, {}, {}
        try:
            self._load(ev, old_widgets)
        finally:
            shown = set(map(id, self.fields_box.children))
            for widget in old_widgets.values():
                if id(widget) not in shown:
                    widget.close()

    def _load(self, ev: Event | None, old_widgets: dict[str, w.Widget]) -> None:
        self.event_type = None if ev is None else type(ev)
        if ev is None:
            self._disable("this checkpoint has no output event: nothing to edit")
            return
        if isinstance(ev, UnknownEvent):
            self._disable(f"cannot edit: the output event has type {ev.type_key!r}, which is not "
                          f"loaded ({ev.reason})")
            return
        cls = type(ev)
        names = list(cls.model_fields) + [k for k in (ev.__pydantic_extra__ or {})
                                          if k not in cls.model_fields]
        for name in names:
            value = _plain(ev, name)
            field = cls.model_fields.get(name)
            kind = _kind(field.annotation if field is not None else None, value)
            self.kinds[name] = kind
            self._original[name] = value
            self.widgets[name] = _widget(kind, name, value, old_widgets.get(name))
        self.reason = None
        note = "" if names else " <span class='fp-muted'>(no fields)</span>"
        self.header.value = (f"Output event <b>{esc(cls.__name__)}</b>{note}: change fields, "
                             f"then <i>Resume with edit</i>. JSON fields take JSON.")
        self.fields_box.children = tuple(self.widgets.values())

    def _disable(self, reason: str) -> None:
        self.reason = reason
        self.header.value = f"<span class='fp-muted'>{esc(reason)}</span>"
        self.fields_box.children = ()

    def edits(self) -> dict[str, Any]:
        """The changed fields, parsed; raises InvalidEdit naming every field that does not parse."""
        if self.reason is not None:
            raise InvalidEdit(self.reason)
        out: dict[str, Any] = {}
        errors = []
        for name, widget in self.widgets.items():
            kind = self.kinds[name]
            value: Any = widget.value
            if kind == "json":
                try:
                    value = json.loads(value) if value.strip() else None
                except json.JSONDecodeError as exc:
                    errors.append(f"field {name!r}: not valid JSON ({exc})")
                    continue
            if value != self._original.get(name) or type(value) is not type(self._original.get(name)):
                out[name] = value
        if errors:
            raise InvalidEdit("; ".join(errors))
        return out
