"""Events: pydantic models that flow between steps, registered by name for safe decoding."""

from __future__ import annotations

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
    """Base of every event. Extra keyword fields are kept and reachable as attributes."""

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if not cls.__dict__.get("registry_skip", False):
            EVENT_REGISTRY[event_key(cls)] = cls

    def get(self, key: str, default: Any = None) -> Any:
        """A field or extra value by name, like ``dict.get``."""
        if key in type(self).model_fields:
            return getattr(self, key)
        return (self.__pydantic_extra__ or {}).get(key, default)

    def __getitem__(self, key: str) -> Any:
        if key in type(self).model_fields or key in (self.__pydantic_extra__ or {}):
            return self.get(key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in type(self).model_fields or key in (self.__pydantic_extra__ or {})


EVENT_REGISTRY[event_key(Event)] = Event


class StartEvent(Event):
    """The event a run begins with; ``run(**kwargs)`` puts the kwargs on it."""


class StopEvent(Event):
    """Returning one ends the run; ``result`` becomes the handler's result."""

    result: Any = None


class InputRequiredEvent(Event):
    """Asks a human for input: it goes to ``stream_events()`` and the run waits."""

    prefix: str = ""


class HumanResponseEvent(Event):
    """A human's answer to an InputRequiredEvent, sent with ``handler.ctx.send_event``."""

    response: str = ""


BUILTIN_EVENTS: tuple[type[Event], ...] = (Event, StartEvent, StopEvent, InputRequiredEvent, HumanResponseEvent)
