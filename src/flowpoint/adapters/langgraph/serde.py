"""Reading LangGraph's stored bytes as plain data: nothing is unpickled, imported or called.

LangGraph's own ``JsonPlusSerializer`` rebuilds objects on load (msgpack extension types name a
module and a callable; old "json" payloads name LangChain classes; ``pickle`` when a saver opts
in). Stored checkpoints are untrusted here, so the reading serializer keeps what such a payload
names as data — ``{"$type": "module.Name", "value": ...}`` for anything that is not plain — and
turns pickled or unknown payloads into ``{"$corrupt": reason}`` markers that are shown, never run.
"""

from __future__ import annotations

import json
from typing import Any

import ormsgpack

#: msgpack extension codes of LangGraph's serializer (langgraph.checkpoint.serde.jsonplus).
_CONSTRUCTOR_CODES = {0: "arg", 1: "args", 2: "kwargs", 3: "arg", 4: "kwargs", 5: "kwargs"}
_NUMPY = 6
_DELTA = 7
#: Types whose stored argument is their usual plain form (an ISO string, a hex string, ...).
_AS_VALUE = {"datetime", "uuid", "decimal", "zoneinfo", "pathlib", "ipaddress", "pathlib._local"}
#: langchain-core messages and documents: their keyword arguments already say what they are.
_AS_FIELDS = ("langchain_core.messages.", "langchain_core.documents.")


def _unpack(data: bytes) -> Any:
    return ormsgpack.unpackb(data, ext_hook=_ext_hook, option=ormsgpack.OPT_NON_STR_KEYS)


def _ext_hook(code: int, data: bytes) -> Any:
    """An extension value as data: the type it names, as text, and its arguments."""
    try:
        if code == _DELTA:
            return _unpack(data)
        if code == _NUMPY:
            dtype, shape, _order, _buf = _unpack(data)
            return {"$type": "numpy.ndarray", "dtype": str(dtype), "shape": list(shape)}
        if code in _CONSTRUCTOR_CODES:
            parts = _unpack(data)
            module, name, value = str(parts[0]), str(parts[1]), parts[2]
            if module in _AS_VALUE or module == "builtins":
                return value
            if module.startswith(_AS_FIELDS) and isinstance(value, dict):
                return value
            return {"$type": f"{module}.{name}", "value": value}
    except Exception as exc:  # a damaged payload is shown as damaged, never raised
        return {"$corrupt": f"unreadable msgpack extension {code}: {type(exc).__name__}"}
    return {"$corrupt": f"unknown msgpack extension type {code}"}


def _plain_json(obj: dict[str, Any]) -> Any:
    """An old LangChain "constructor" envelope as the data it holds, the class as text."""
    if obj.get("lc") in (1, 2) and obj.get("type") == "constructor" and "id" in obj:
        ident = obj.get("id")
        name = ".".join(str(p) for p in ident) if isinstance(ident, list) else str(ident)
        return {"$type": name, "value": obj.get("kwargs", obj.get("args"))}
    return obj


class PlainSerializer:
    """A LangGraph ``SerializerProtocol`` that only reads, and only into plain data."""

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        raise TypeError("flowpoint reads LangGraph checkpoints; it never writes through "
                        "its reading serializer")

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        kind, payload = data
        if kind == "null":
            return None
        if kind in ("bytes", "bytearray"):
            return {"$type": kind, "size": len(payload)}
        if kind == "msgpack":
            try:
                return _unpack(payload)
            except Exception as exc:
                return {"$corrupt": f"unreadable msgpack: {type(exc).__name__}: {exc}"}
        if kind == "json":
            try:
                return json.loads(payload, object_hook=_plain_json)
            except ValueError as exc:
                return {"$corrupt": f"unreadable json: {exc}"}
        if kind == "pickle":
            return {"$corrupt": "a pickled value: not loaded (stored data is untrusted; "
                                "flowpoint never unpickles it)"}
        return {"$corrupt": f"stored with serializer type {kind!r}, which flowpoint does not read"}


def reading_serde(serde: Any) -> Any:
    """The serializer to read a saver's data with: plain data, decrypted first if the saver
    encrypts (its cipher is reused; nothing else of its serializer is)."""
    cipher = getattr(serde, "cipher", None)
    if cipher is not None and type(serde).__name__ == "EncryptedSerializer":
        from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

        return EncryptedSerializer(cipher, PlainSerializer())  # type: ignore[arg-type]
    return PlainSerializer()


def can_unpickle(serde: Any) -> bool:
    """True if a saver's serializer would unpickle stored data when LangGraph loads it."""
    inner = getattr(serde, "serde", None)
    if inner is not None and inner is not serde and can_unpickle(inner):
        return True
    return bool(getattr(serde, "pickle_fallback", False))
