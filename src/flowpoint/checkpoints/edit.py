"""Validating a human's edit of a checkpoint's output event before resuming with it."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ..errors import InvalidEdit
from ..runtime.events import Event, StartEvent, event_key
from .codec import UnknownEvent, encode_event
from .model import Checkpoint


def _fields(ev: Event) -> dict[str, Any]:
    return encode_event(ev)["data"]


def _raw(ev: Event) -> dict[str, Any]:
    return {**ev.__dict__, **(ev.__pydantic_extra__ or {})}


def _changes(before: Event | None, after: Event) -> dict[str, Any]:
    old = _fields(before) if before is not None else {}
    new = _fields(after)
    return {k: {"before": old.get(k), "after": new.get(k)}
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


def _extras(ev: Event | None) -> set[str]:
    return set(ev.__pydantic_extra__ or {}) if ev is not None else set()


def _validated(cls: type[Event], data: dict[str, Any],
               extras: set[str] | frozenset[str] = frozenset()) -> Event:
    """``data`` validated as a ``cls``; a key that is neither a field nor one of the event's own
    extra fields (``extras``) is refused, as a likely typo."""
    if cls is not StartEvent:
        unknown = sorted(set(data) - set(cls.model_fields) - extras)
        if unknown:
            have = sorted(set(cls.model_fields) | extras)
            raise InvalidEdit(f"{cls.__name__} has no field(s) {unknown}; its fields are {have} "
                              f"(to add a new extra field, pass an Event instead of a dict)")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise InvalidEdit(f"edited {cls.__name__} is invalid: {exc}") from None


def validate_edit(ckpt: Checkpoint, output_event: Event | dict[str, Any] | None,
                  start_overrides: dict[str, Any]) -> tuple[Event | None, dict[str, Any] | None]:
    """The event to resume with and a record of what was edited (None if nothing was).

    ``output_event`` may be an Event of the original's type or a dict of its fields; for the
    start checkpoint, keyword arguments change fields of the StartEvent.
    """
    original = ckpt.output_event
    if start_overrides and not ckpt.is_start:
        raise InvalidEdit(f"keyword arguments {sorted(start_overrides)} can only change the "
                          f"StartEvent of a start checkpoint (seq 0); pass output_event=... to "
                          f"edit the output of step {ckpt.last_completed_step!r}")
    if output_event is None and not start_overrides:
        return original, None
    if isinstance(original, UnknownEvent) and output_event is not None:
        raise InvalidEdit(f"the stored output event has type {original.type_key!r}, which is not "
                          f"loaded; cannot validate an edit of it")
    cls = type(original) if original is not None else None
    if isinstance(output_event, Event):
        if cls is not None and type(output_event) is not cls:
            raise InvalidEdit(f"edited output event is a {type(output_event).__name__}, but "
                              f"checkpoint {ckpt.id_[:8]} output a {cls.__name__}; pass a "
                              f"{cls.__name__} (or a dict of its fields)")
        edited = _validated(type(output_event), _raw(output_event), _extras(output_event))
    elif isinstance(output_event, dict) or output_event is None:
        if cls is None:
            raise InvalidEdit(f"checkpoint {ckpt.id_[:8]} has no output event, so a dict cannot "
                              f"say which event to emit; pass an Event instance")
        base = _raw(original) if original is not None else {}
        edited = _validated(cls, {**base, **(output_event or {}), **start_overrides},
                            _extras(original))
    else:
        raise InvalidEdit(f"output_event must be an Event or a dict of fields, got "
                          f"{type(output_event).__name__}")
    return edited, {"output_event": {"type": event_key(type(edited)),
                                     "changes": _changes(original, edited)}}
