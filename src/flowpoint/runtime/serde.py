"""Encode values and events to JSON-able data and back, without importing anything.

Events are written as ``{"__event__": "module.QualName", "data": {...}}`` and read back only
through the registry of loaded ``Event`` subclasses; an unknown name becomes an ``UnknownEvent``.
Used by ``Context.to_dict`` and by the checkpoint codec.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from ..errors import SerializationError
from .events import Event, event_key, lookup_event_class

EVENT = "__event__"
MARKERS = frozenset({EVENT, "__tuple__", "__dict__", "__datetime__", "__pickle__", "$corrupt"})


class UnknownEvent(Event):
    """Stands in for a stored event whose type is not loaded (or whose data no longer fits it).

    It can be listed, shown and diffed; ``run_from`` refuses it, naming the type.
    """

    registry_skip: ClassVar[bool] = True
    type_key: str
    data: Any = None
    reason: str = ""

    def __repr__(self) -> str:
        return f"UnknownEvent(type_key={self.type_key!r}, reason={self.reason!r})"


MAX_DEPTH = 100  # nesting levels a stored value may have: deeper is refused on write, damaged on read
_INT_BITS = 14_000  # ints this long may exceed Python's int-to-text digit limit


def _root(path: str) -> str:
    """The part of a value's path that names where it lives (``ctx.store['items']``)."""
    end = path.find("]")
    return path[: end + 1] if end > 0 else path


def _too_deep(path: str) -> SerializationError:
    return SerializationError(
        f"{_root(path)} is nested more than {MAX_DEPTH} levels deep, or refers to itself "
        f"(at {path[:120]}{'…' if len(path) > 120 else ''}); store flatter data")


def _check_int(value: int, path: str) -> None:
    if value.bit_length() <= _INT_BITS:
        return
    try:
        str(value)
    except ValueError:
        raise SerializationError(
            f"{_root(path)} holds an int of about {int(value.bit_length() * 0.30103)} digits, "
            f"more than Python writes as text ({sys.get_int_max_str_digits()} digits); store "
            f"it as a string (str(n)) or in smaller parts") from None


def encode_value(value: Any, path: str, *, in_model: bool = False, _depth: int = 0) -> Any:
    """Plain JSON data for ``value``; ``path`` names it in errors (e.g. ``store['items'][3]``).

    A dict with a key of the encoding's own (``__event__``, ``$corrupt``, ...) is written as
    ``{"__dict__": [[key, value], ...]}``, so every key round-trips exactly.
    """
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        _check_int(value, path)
        return value
    if _depth >= MAX_DEPTH:
        raise _too_deep(path)
    depth = _depth + 1
    if isinstance(value, Event):
        return encode_event(value, path, _depth=depth)
    if isinstance(value, list):
        return [encode_value(v, f"{path}[{i}]", in_model=in_model, _depth=depth)
                for i, v in enumerate(value)]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SerializationError(
                    f"{path} has a key {k!r} of type {type(k).__name__}; JSON keys must be str "
                    f"(convert the keys, or use serializer='pickle' for a trusted store)")
            out[k] = encode_value(v, f"{path}[{k!r}]", in_model=in_model, _depth=depth)
        return {"__dict__": [[k, v] for k, v in out.items()]} if MARKERS.intersection(out) else out
    if isinstance(value, tuple):
        return {"__tuple__": [encode_value(v, f"{path}[{i}]", in_model=in_model, _depth=depth)
                              for i, v in enumerate(value)]}
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, BaseModel) and in_model:
        return value.model_dump(mode="json")
    raise SerializationError(
        f"{path} holds a value of type {type(value).__module__}.{type(value).__qualname__}, which "
        f"the JSON serializer cannot store; store plain data (str, numbers, lists, dicts, Events) "
        f"or pass serializer='pickle' to WorkflowCheckpointer for a trusted store")


def encode_event(ev: Event, path: str = "event", *, _depth: int = 0) -> dict[str, Any]:
    """``{"__event__": key, "data": fields}``; an UnknownEvent is written back as it was read."""
    if isinstance(ev, UnknownEvent):
        return {EVENT: ev.type_key, "data": ev.data}
    fields = dict(ev.__dict__)
    fields.update(ev.__pydantic_extra__ or {})
    private = ev.__pydantic_private__
    if private and isinstance(private.get("_data"), dict):  # dict-like events keep extras there
        fields.update(private["_data"])
    data = {k: encode_value(v, f"{path}.{k}", in_model=True, _depth=_depth)
            for k, v in fields.items()}
    return {EVENT: event_key(type(ev)), "data": data}


class _TooDeep(Exception):
    """Stored data nested deeper than MAX_DEPTH: the value is reported as damaged."""


def decode_value(value: Any) -> Any:
    """The inverse of ``encode_value``; events come back as their registered classes.

    Data nested deeper than any value flowpoint writes reads as ``{"$corrupt": reason}``.
    """
    try:
        return _decode_value(value, 0)
    except (_TooDeep, RecursionError):
        return {"$corrupt": f"value is nested more than {MAX_DEPTH} levels deep"}


def _decode_value(value: Any, depth: int) -> Any:
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            raise _TooDeep
        return [_decode_value(v, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if depth >= MAX_DEPTH:
        raise _TooDeep
    if EVENT in value:
        return _decode_event(value, depth + 1)
    if len(value) == 1:
        if "__tuple__" in value and isinstance(value["__tuple__"], list):
            return tuple(_decode_value(v, depth + 1) for v in value["__tuple__"])
        if "__dict__" in value:
            inner = value["__dict__"]
            if isinstance(inner, dict):  # the form older versions wrote
                return {k: _decode_value(v, depth + 1) for k, v in inner.items()}
            if isinstance(inner, list) and all(
                    isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in inner):
                return {k: _decode_value(v, depth + 1) for k, v in inner}
        if "__datetime__" in value:
            try:
                return dt.datetime.fromisoformat(str(value["__datetime__"]))
            except ValueError:
                return value
    return {k: _decode_value(v, depth + 1) for k, v in value.items()}


def decode_event(value: Any) -> Event | None:
    """An event from its stored form; never imports the named type."""
    try:
        return _decode_event(value, 0)
    except (_TooDeep, RecursionError):
        key = value.get(EVENT) if isinstance(value, dict) else None
        return UnknownEvent(type_key=str(key or "?"),
                            reason=f"stored event data is nested more than {MAX_DEPTH} levels deep")


def _decode_event(value: Any, depth: int) -> Event | None:
    if value is None:
        return None
    if not isinstance(value, dict) or EVENT not in value:
        reason = value.get("$corrupt") if isinstance(value, dict) else None
        return UnknownEvent(type_key="?", data=_short(value),
                            reason=str(reason or "stored event is not in the expected form"))
    key = str(value[EVENT])
    if "__pickle__" in value:
        return UnknownEvent(type_key=key, reason="stored with serializer='pickle'; open the store "
                            "with serializer='pickle' (trusted stores only) to load it")
    cls = lookup_event_class(key)
    if cls is None:
        return UnknownEvent(type_key=key, data=value.get("data"),
                            reason=f"no Event subclass named {key!r} is defined in this session")
    data = value.get("data")
    if not isinstance(data, dict):
        return UnknownEvent(type_key=key, data=_short(data), reason="event data is not an object")
    try:
        return cls.model_validate({k: _decode_value(v, depth) for k, v in data.items()})
    except (ValidationError, TypeError, ValueError) as exc:
        return UnknownEvent(type_key=key, data=data,
                            reason=f"stored data does not fit {cls.__name__}: {_first_line(exc)}")


def _short(value: Any) -> Any:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
