"""Serializers for ``Context.to_dict`` / ``Context.from_dict``: one value to a string and back.

``JsonSerializer`` (the default) writes plain JSON and reads events back only through the event
registry: nothing named in the data is imported. ``PickleSerializer`` (alias
``JsonPickleSerializer``) falls back to pickle for values JSON cannot hold; load only data you trust.
"""

from __future__ import annotations

import base64
import json
import pickle
from abc import ABC, abstractmethod
from typing import Any

from ..errors import ContextSerdeError, SerializationError
from .serde import decode_value, encode_value

_PICKLE = "__pickle__"


class BaseSerializer(ABC):
    """Turns one value into a string and back."""

    @abstractmethod
    def serialize(self, value: Any) -> str:
        """The value as a string."""

    @abstractmethod
    def deserialize(self, value: str) -> Any:
        """The value back from ``serialize``'s string."""


class JsonSerializer(BaseSerializer):
    """Plain JSON; events are written with their registry key and decoded through the registry."""

    def serialize(self, value: Any) -> str:
        try:
            return json.dumps(encode_value(value, "value"))
        except SerializationError as exc:
            raise ContextSerdeError(f"Failed to serialize value: {exc}") from None

    def deserialize(self, value: str) -> Any:
        try:
            data = json.loads(value)
        except (TypeError, ValueError) as exc:
            raise ContextSerdeError(f"Failed to deserialize value: not JSON ({exc})") from None
        if isinstance(data, dict) and set(data) == {_PICKLE}:
            raise ContextSerdeError("this value was written by PickleSerializer; read it with "
                                    "serializer=PickleSerializer() (trusted data only)")
        return decode_value(data)


class PickleSerializer(JsonSerializer):
    """JSON first, pickle for the values JSON cannot hold. Unpickling runs code: trusted data only."""

    def serialize(self, value: Any) -> str:
        try:
            return super().serialize(value)
        except ContextSerdeError:
            try:
                raw = pickle.dumps(value)
            except Exception as exc:
                raise ContextSerdeError(f"Failed to serialize value of type "
                                        f"{type(value).__name__} even with pickle: {exc}") from None
            return json.dumps({_PICKLE: base64.b64encode(raw).decode("ascii")})

    def deserialize(self, value: str) -> Any:
        data = json.loads(value)
        if isinstance(data, dict) and set(data) == {_PICKLE}:
            return pickle.loads(base64.b64decode(data[_PICKLE]))  # noqa: S301 - opted in
        return decode_value(data)


JsonPickleSerializer = PickleSerializer
