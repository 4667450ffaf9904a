"""The runtime's own JSON text of each event, made once per event of a run.

A checkpoint holds the control loop's state in the runtime's snapshot format, where every queued,
running or delivered event is a JSON string. An event waits in a queue across many checkpoints,
so its text is kept by identity (events are not changed once emitted, as for flowpoint's own
encoding in the recorder) and only the texts of the last snapshot are kept.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from workflows.context.serializers import JsonSerializer
from workflows.events import Event


class EventTexts:
    """``serialize(event)`` with the output of ``serializer.serialize``, made once per event.

    Passed to ``BrokerState.to_serialized`` in place of the serializer (it only serializes).
    """

    def __init__(self, serializer: JsonSerializer) -> None:
        self._serializer = serializer
        self._kept: dict[int, tuple[Any, str]] = {}
        self._used: dict[int, tuple[Any, str]] = {}
        self._plain: dict[type, bool] = {}
        self.chars = 0  # of the texts the snapshot being made used

    def serialize(self, value: Any) -> str:
        hit = self._kept.get(id(value))
        if hit is None or hit[0] is not value:
            hit = (value, self._text(value))
        self._used[id(value)] = hit
        self.chars += len(hit[1])
        return hit[1]

    def done(self) -> None:
        """One snapshot is made: keep only the texts it used (what is still in flight)."""
        self._kept, self._used = self._used, {}
        self.chars = 0

    def _text(self, value: Any) -> str:
        cls = type(value)
        plain = self._plain.get(cls)
        if plain is None:
            plain = self._plain[cls] = _plain_model(cls)
        if not plain or _named_class_name(value):
            return self._serializer.serialize(value)
        try:  # what JsonSerializer.serialize writes for a pydantic model, without its lookups
            return json.dumps({"__is_pydantic": True, "value": value.model_dump(mode="json"),
                               "qualified_name": f"{cls.__module__}.{cls.__name__}"})
        except Exception:  # noqa: BLE001 - the serializer raises its own error for it
            return self._serializer.serialize(value)


def _named_class_name(event: Any) -> bool:
    """True if ``hasattr(event, "class_name")`` holds for an instance of a plain model class."""
    extra = (event.__pydantic_private__ or {}).get("_data")
    return "class_name" in event.__dict__ or (isinstance(extra, dict) and "class_name" in extra)


def _plain_model(cls: type) -> bool:
    """True if the serializer writes instances of ``cls`` as a pydantic model: an Event with no
    ``class_name`` of its own (that would make it a component)."""
    return (issubclass(cls, Event) and issubclass(cls, BaseModel)
            and not hasattr(cls, "class_name") and "class_name" not in cls.model_fields)
