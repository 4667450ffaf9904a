"""The classes a 2.x workflow's stored data may name, and how its events are stored and read.

Stored events and ticks carry qualified class names. They are resolved only through a registry
built from classes already loaded in this process — the workflow's step signatures and state type
first, then every loaded ``workflows.events.Event`` subclass, and for pydantic values a DictState
holds, every other loaded pydantic model — never by importing a stored name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from workflows.context.serializers import JsonSerializer
from workflows.context.state_store import DictState
from workflows.events import Event, StopEvent

from ...checkpoints.codec import EVENT, UnknownEvent, decode_value, encode_value
from ...errors import InvalidEdit

T = TypeVar("T")


def type_key(cls: type) -> str:
    """The stored name of a class: ``module.QualName`` (what type filters match)."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _loaded_subclasses(base: type) -> list[type]:
    """``base`` and every subclass of it loaded in this process (nothing is imported)."""
    out: dict[type, None] = {}
    todo = [base]
    while todo:
        cls = todo.pop()
        if cls not in out:
            out[cls] = None
            todo.extend(cls.__subclasses__())
    return list(out)


def _loaded_events() -> list[type]:
    return _loaded_subclasses(Event)


def _loaded_models() -> list[type]:
    """Loaded pydantic models that are not events: values a DictState ``ctx.store`` holds
    are stored with their class's name and read back through these."""
    return [c for c in _loaded_subclasses(BaseModel) if not issubclass(c, Event)]


def _signature_types(workflow: Any) -> list[type]:
    """Event and state classes named by the workflow's own steps."""
    found: list[type] = []
    for cfg in workflow._step_configs().values():
        for t in (*cfg.accepted_events, *cfg.return_types, cfg.context_state_type):
            for c in getattr(t, "__args__", None) or (t,):
                if isinstance(c, type) and issubclass(c, BaseModel):
                    found.append(c)
    return found


_NONE = object()


class StoreCache:
    """What checkpoints need of the state model last asked about, made once per model (a store
    write makes a new model): its JSON-able data, whether the store keeps that as it is, and
    whether it is worth splitting."""

    __slots__ = ("model", "data", "inline", "split")

    def __init__(self) -> None:
        self.model: Any = _NONE
        self.data: dict[str, Any] | None = None
        self.inline: str | bool | None = None  # the stored text if kept as it is, else False
        self.split: bool | None = None

    def of(self, model: Any) -> StoreCache:
        """The cache, emptied first if it was for another model."""
        if model is not self.model:
            self.model, self.data, self.inline, self.split = model, None, None, None
        return self


class TypeRegistry:
    """Classes by stored name for one workflow, and a JsonSerializer that resolves only them."""

    def __init__(self, workflow: Any) -> None:
        self.state_type: type[BaseModel] = _state_type(workflow)
        allowed = _no_clash([DictState, *_loaded_events(), self.state_type,
                             *_signature_types(workflow)])
        self.classes: dict[str, type] = {
            n: c for c in allowed for n in (type_key(c), f"{c.__module__}.{c.__name__}")}
        self.serializer = JsonSerializer(allowed_types=allowed)
        self._with_models = False
        #: the encoded data of the state model last read: a store write makes a new model.
        self.state_cache = StoreCache()
        self._default_state: BaseModel | None = None
        self._known: dict[type, tuple[str, tuple[str, ...]]] = {}  # class: stored name, fields

    def with_models(self) -> bool:
        """Let the serializer also resolve every other loaded pydantic model (values a DictState
        holds); events are still looked up as before. False if it did already."""
        if self._with_models:
            return False
        self._with_models = True
        allowed = _no_clash([*_loaded_models(), *dict.fromkeys(self.classes.values())])
        self.serializer = JsonSerializer(allowed_types=allowed)
        return True

    def reading(self, read: Callable[[], T]) -> T:
        """``read()``; if it fails on a class the serializer does not allow (a pydantic value
        a DictState holds), once more with every loaded model allowed (``with_models``)."""
        try:
            return read()
        except ValueError as exc:
            if "allowed types" not in str(exc) or not self.with_models():
                raise
            return read()

    def default_state(self) -> BaseModel:
        """The state a run's ``ctx.store`` holds before its first write (made once)."""
        if self._default_state is None:
            self._default_state = self.state_type()
        return self._default_state

    def lookup(self, key: str) -> type | None:
        """The class stored as ``key``; a unique bare-name match if the module differs (a class
        defined in a notebook vs a script)."""
        cls = self.classes.get(key)
        if cls is not None:
            return cls
        bare = key.rsplit(".", 1)[-1]
        matches = {c for k, c in self.classes.items() if k.rsplit(".", 1)[-1] == bare}
        return matches.pop() if len(matches) == 1 else None

    # --- events as flowpoint stores them: {"__event__": key, "data": fields} -------------------
    def encode_event(self, ev: Any) -> Any:
        if ev is None:
            return None
        if isinstance(ev, UnknownEvent):
            return {EVENT: ev.type_key, "data": ev.data}
        cls = type(ev)
        known = self._known.get(cls)
        if known is None:
            known = self._known[cls] = (type_key(cls), tuple(cls.model_fields))
        data = {k: v if type(v) in _SCALARS else encode_value(v, f"event.{k}", in_model=True)
                for k, v in event_fields(ev, known[1]).items()}
        return {EVENT: known[0], "data": data}

    def decode_event(self, data: Any) -> Any:
        if data is None:
            return None
        if not isinstance(data, dict) or EVENT not in data:
            return UnknownEvent(type_key="?", data=repr(data)[:200],
                                reason="stored event is not in the expected form")
        key = str(data[EVENT])
        cls = self.lookup(key)
        fields = data.get("data")
        if cls is None or not isinstance(fields, dict):
            return UnknownEvent(type_key=key, data=fields,
                                reason=f"no workflows Event class named {key!r} is loaded")
        try:
            return cls(**{k: decode_value(v) for k, v in fields.items()})
        except (ValidationError, TypeError, ValueError) as exc:
            return UnknownEvent(type_key=key, data=fields,
                                reason=f"stored data does not fit {cls.__name__}: "
                                       f"{str(exc).splitlines()[0] if str(exc) else exc}")


_SCALARS = frozenset((str, bool, float, type(None)))  # values encode_value returns as they are


def event_fields(ev: Any, names: Any = None) -> dict[str, Any]:
    """An event's declared fields (``names``, if known: pydantic's ``model_fields`` is slow to
    ask) and its dict-style extras (``StartEvent(topic=...)``)."""
    fields = {k: getattr(ev, k) for k in (type(ev).model_fields if names is None else names)}
    extra = (getattr(ev, "__pydantic_private__", None) or {}).get("_data")
    if isinstance(extra, dict):
        fields.update(extra)
    if isinstance(ev, StopEvent) and "result" not in fields:  # kept in a private attribute
        fields["result"] = ev.result
    return fields


def edited_event(original: Any, edit: Any) -> Any:
    """``edit`` (an event of the original's type, or a dict of fields to change) validated."""
    cls = type(original)
    if isinstance(edit, Event):
        # an event of an earlier definition of the same class (a notebook cell run again) is
        # taken by its fields, validated by the class the checkpoint now reads as
        if type(edit) is not cls and type_key(type(edit)) != type_key(cls):
            raise InvalidEdit(f"edited output event is a {type(edit).__name__}, but the "
                              f"checkpoint's output is a {cls.__name__}; pass a {cls.__name__} "
                              f"(or a dict of its fields)")
        data = event_fields(edit)
    elif isinstance(edit, dict):
        open_fields = any(c.__name__ == "StartEvent" for c in cls.__mro__)  # takes any kwargs
        unknown = sorted(set(edit) - set(cls.model_fields) - set(event_fields(original)))
        if unknown and not open_fields:
            raise InvalidEdit(f"{cls.__name__} has no field(s) {unknown}; its fields are "
                              f"{sorted(cls.model_fields)}")
        data = {**event_fields(original), **edit}
    else:
        raise InvalidEdit(f"output_event must be a {cls.__name__} or a dict of its fields, got "
                          f"{type(edit).__name__}")
    try:
        return cls(**data)
    except ValidationError as exc:
        raise InvalidEdit(f"edited {cls.__name__} is invalid: {exc}") from None


def changes(before: Any, after: Any, encode: Any) -> dict[str, Any]:
    """Field-by-field differences of two events, as the run's ``edited`` record shows them."""
    old = encode(before)["data"] if before is not None else {}
    new = encode(after)["data"]
    return {k: {"before": old.get(k), "after": new.get(k)}
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)}


def _state_type(workflow: Any) -> type[BaseModel]:
    from workflows.context.state_store import infer_state_type

    return infer_state_type(workflow)


def _no_clash(classes: list[type]) -> list[type]:
    """Drop classes whose serialized names another (later, preferred) class already claims."""
    claimed: dict[str, type] = {}
    for cls in reversed(classes):
        names = {type_key(cls), f"{cls.__module__}.{cls.__name__}"}
        if all(claimed.get(n, cls) is cls for n in names):
            for n in names:
                claimed[n] = cls
    return list({id(c): c for c in claimed.values()}.values())
