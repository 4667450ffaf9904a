"""Events: pydantic models that flow between steps, registered by name for safe decoding."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from typing import Any

from pydantic import BaseModel, ConfigDict

#: Every Event subclass by "module.QualName". Stored events are decoded only through this map.
EVENT_REGISTRY: dict[str, type[Event]] = {}


def event_key(cls: type) -> str:
    """The registry key of an event class: ``module.QualName``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def lookup_event_class(key: str) -> type[Event] | None:
    """The registered class for a stored key, or None. Never imports anything.

    A key from another module (a notebook's ``__main__`` vs a script) falls back to a class whose
    bare qualified name is unique in the registry.
    """
    cls = EVENT_REGISTRY.get(key)
    if cls is not None:
        return cls
    qualname = key.rsplit(".", 1)[-1] if "<locals>" not in key else key.split(".<locals>.")[-1]
    matches = {c for k, c in EVENT_REGISTRY.items() if k.endswith("." + qualname)}
    return matches.pop() if len(matches) == 1 else None


class Event(BaseModel):
    """Base of every event. Extra keyword fields are kept and reachable as attributes.

    It also reads like a mapping of its extra fields, as LlamaIndex events do: ``ev["k"]``,
    ``ev["k"] = v``, ``keys()``, ``len(ev)``, iteration, ``to_dict()``. Private attributes
    (``_name: int = PrivateAttr()``) can be passed to the constructor.
    """

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)

    def __init__(self, **data: Any) -> None:
        private = {k: data.pop(k) for k in list(data)
                   if k in (self.__private_attributes__ or {})}
        super().__init__(**data)
        for k, v in private.items():
            setattr(self, k, v)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if not cls.__dict__.get("registry_skip", False):
            EVENT_REGISTRY[event_key(cls)] = cls

    @property
    def _data(self) -> dict[str, Any]:
        """The extra (undeclared) fields, LlamaIndex's ``_data``."""
        if self.__pydantic_extra__ is None:
            object.__setattr__(self, "__pydantic_extra__", {})
        return self.__pydantic_extra__  # type: ignore[return-value]

    def get(self, key: str, default: Any = None) -> Any:
        """A field or extra value by name, like ``dict.get``."""
        if key in type(self).model_fields:
            return getattr(self, key)
        return (self.__pydantic_extra__ or {}).get(key, default)

    def __getitem__(self, key: str) -> Any:
        if key in type(self).model_fields or key in (self.__pydantic_extra__ or {}):
            return self.get(key)
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key in type(self).model_fields:
            setattr(self, key, value)
        else:
            self._data[key] = value

    def __contains__(self, key: object) -> bool:
        return key in type(self).model_fields or key in (self.__pydantic_extra__ or {})

    def keys(self) -> KeysView[str]:
        """Names of the extra fields (declared fields are attributes, as upstream)."""
        return self._data.keys()

    def values(self) -> ValuesView[Any]:
        """Values of the extra fields."""
        return self._data.values()

    def items(self) -> ItemsView[str, Any]:
        """``(name, value)`` pairs of the extra fields."""
        return self._data.items()

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self._data)

    def __bool__(self) -> bool:
        return True

    def to_dict(self) -> dict[str, Any]:
        """The extra fields as a dict (a copy)."""
        return dict(self._data)


EVENT_REGISTRY[event_key(Event)] = Event


class StartEvent(Event):
    """The event a run begins with; ``run(**kwargs)`` puts the kwargs on it."""


class StopEvent(Event):
    """Returning one ends the run; ``result`` becomes the handler's result."""

    result: Any = None

    def __init__(self, result: Any = None, **data: Any) -> None:
        super().__init__(result=result, **data)


class InputRequiredEvent(Event):
    """Asks a human for input: it goes to ``stream_events()`` and the run waits."""

    prefix: str = ""


class HumanResponseEvent(Event):
    """A human's answer to an InputRequiredEvent, sent with ``handler.ctx.send_event``."""

    response: str = ""


BUILTIN_EVENTS: tuple[type[Event], ...] = (Event, StartEvent, StopEvent, InputRequiredEvent, HumanResponseEvent)
