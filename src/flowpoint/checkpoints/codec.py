"""Encode context state (snapshots) for the store, using the value/event encoding of
``runtime.serde``: nothing named in stored data is ever imported."""

from __future__ import annotations

import base64
import pickle
import warnings
from collections.abc import Callable
from typing import Any

from ..errors import SerializationError, UnknownEventType
from ..runtime.events import Event, event_key
from ..runtime.serde import (
    EVENT,
    MARKERS,
    UnknownEvent,
    decode_event,
    decode_value,
    encode_event,
    encode_value,
)
from ..storage.contentstore import compact_text, joined_text
from ..storage.records import EncodedState
from ..storage.statesplitter import SplitPass, StateSplitter, pair_bytes

__all__ = ["EVENT", "MARKERS", "JsonCodec", "PickleCodec", "UnknownEvent", "codec_for",
           "decode_event", "decode_value", "encode_event", "encode_value", "get_codec"]


class JsonCodec:
    """The default: JSON-able data, decoded through the event registry only."""

    name = "json"

    def encode_state(self, state: dict[str, Any],
                     event: Callable[[Event | None], Any] | None = None) -> dict[str, Any]:
        """A snapshot as JSON-able data; ``event`` encodes its events (a caching one is faster)."""
        ev = event or self.encode_event
        typed = {"state_type": state["state_type"]} if state.get("state_type") else {}
        return {**typed,
            "store": encode_value(dict(state["store"]), "ctx.store"),
            "queues": {s: [ev(e) for e in evs] for s, evs in state["queues"].items()},
            "in_progress": {s: [ev(e) for e in evs] for s, evs in state["in_progress"].items()},
            "collect_buffers": {s: {k: [ev(e) for e in evs] for k, evs in b.items()}
                                for s, b in state["collect_buffers"].items()},
            "accepted_events": state["accepted_events"],
            "event_log": [ev(e) for e in state["event_log"]],
            "pending_input": ev(state["pending_input"]),
            "is_running": state["is_running"],
        }

    def decode_state(self, data: dict[str, Any]) -> dict[str, Any]:
        return {k: decode_value(v) for k, v in data.items()}

    def split_state(self, state: dict[str, Any], event: Callable[[Event | None], Any],
                    splitter: StateSplitter, extra: dict[str, Any] | None = None) -> EncodedState:
        """``encode_state`` and the store's split in one, through the run's ``splitter``: lists
        grown at their end and strings left alone cost only what is new since the run's previous
        checkpoint, and the manifest's stored text is made from the bytes kept for its parts.
        Decodes to exactly what ``encode_state`` gives."""
        work = SplitPass()
        values = state["store"]
        store_text = _store_text(values, splitter, work) if values else "{}"
        pending = state["pending_input"]
        queues, in_progress, collect = (state["queues"], state["in_progress"],
                                        state["collect_buffers"])
        parts = [
            '{"store":', store_text,
            ',"queues":', splitter.events_text(("queues",), queues, event, work)
            if queues else "{}",
            ',"in_progress":', splitter.events_text(("in_progress",), in_progress, event, work)
            if in_progress else "{}",
            ',"collect_buffers":', splitter.events_text(("collect",), collect, event, work)
            if collect else "{}",
            ',"accepted_events":', splitter.list_text(("accepted",), state["accepted_events"],
                                                      _same, _kept, work, True, pair_bytes),
            ',"event_log":', splitter.list_text(("event_log",), state["event_log"], event,
                                                _always, work, append_only=True),
            ',"pending_input":', "null" if pending is None else compact_text(
                splitter.small(event(pending), work)),
            ',"is_running":', "true" if state["is_running"] else "false",
        ]
        more = {"state_type": state["state_type"]} if state.get("state_type") else {}
        if extra:
            more.update(extra)
        for key, value in more.items():
            parts += (",", compact_text(key), ":", compact_text(value))
        parts.append("}")

        logs = (len(state["event_log"]), len(state["accepted_events"]))

        def rebuild() -> EncodedState:  # maybe later: the live logs cut back to their length now
            splitter.reset()
            taken = {**state, "event_log": state["event_log"][:logs[0]],
                     "accepted_events": state["accepted_events"][:logs[1]]}
            return self.split_state(taken, event, splitter, extra)

        return splitter.finish_text(joined_text("".join(parts)), work, rebuild)

    def encode_event(self, ev: Event | None) -> Any:
        return None if ev is None else encode_event(ev)

    def decode_event(self, data: Any) -> Event | None:
        return decode_event(data)


class PickleCodec(JsonCodec):
    """Opt-in (``serializer="pickle"``) for values JSON cannot hold; load only trusted stores."""

    name = "pickle"

    def encode_state(self, state: dict[str, Any],
                     event: Callable[[Event | None], Any] | None = None) -> dict[str, Any]:
        try:
            return super().encode_state(state, event)
        except SerializationError:
            return {"__pickle__": base64.b64encode(pickle.dumps(state)).decode("ascii")}

    def decode_state(self, data: dict[str, Any]) -> dict[str, Any]:
        if set(data) == {"__pickle__"}:
            return pickle.loads(base64.b64decode(data["__pickle__"]))  # noqa: S301 - opted in
        return super().decode_state(data)

    def encode_event(self, ev: Event | None) -> Any:
        try:
            return super().encode_event(ev)
        except SerializationError:
            raw = base64.b64encode(pickle.dumps(ev)).decode("ascii")
            return {EVENT: event_key(type(ev)), "__pickle__": raw}

    def decode_event(self, data: Any) -> Event | None:
        if isinstance(data, dict) and "__pickle__" in data:
            return pickle.loads(base64.b64decode(data["__pickle__"]))  # noqa: S301 - opted in
        return super().decode_event(data)


def _store_text(values: dict[str, Any], splitter: StateSplitter, work: SplitPass) -> str:
    """The stored text of the ``store`` part: each value through the splitter (a list by its
    chunks, a long string by identity), escaped as ``encode_value`` escapes dicts."""
    store: dict[str, Any] = {}
    for key, value in values.items():
        path = f"ctx.store[{key!r}]"

        def to_json(v: Any, p: str = path) -> Any:
            return encode_value(v, p)

        if type(value) is list:
            store[key] = splitter.list(("store", key), value, to_json, _immutable, work)
        else:
            store[key] = splitter.value(("store", key), value, to_json, work)
    return compact_text({"__dict__": [[k, v] for k, v in store.items()]}  # as encode_value does
                        if MARKERS.intersection(store) else splitter.mapping(store))


def _immutable(value: Any) -> bool:
    """Items of a stored list whose encoding can be kept by identity: they cannot change."""
    return type(value) in _IMMUTABLE or isinstance(value, Event)


_IMMUTABLE = frozenset((str, int, float, type(None)))


def _same(value: Any) -> Any:
    return value


def _always(_value: Any) -> bool:
    return True


def _kept(_value: Any) -> bool:
    """Items the runtime never changes, though not events (their bytes are not kept)."""
    return True


PICKLE_WARNING = (
    "serializer='pickle': loading a pickled checkpoint runs code chosen by whoever wrote it, so "
    "use it only with a store that you and people you trust alone can write to")


def get_codec(name: str) -> JsonCodec:
    """The codec for a serializer name: "json" (default) or "pickle" (explicit opt-in, with a
    warning that names the trust it assumes)."""
    if name == "json":
        return JsonCodec()
    if name == "pickle":
        warnings.warn(PICKLE_WARNING, UserWarning, stacklevel=3)
        return PickleCodec()
    raise ValueError(f"unknown serializer {name!r}; use 'json' (default) or 'pickle'")


_JSON = JsonCodec()


def codec_for(serializer: str, opted_in: JsonCodec, ckpt_id: str) -> JsonCodec:
    """The codec that reads a row written with ``serializer``: JSON rows always by the JSON codec
    (whatever they hold, they are never unpickled); pickle rows only if the checkpointer opted
    in with serializer='pickle'."""
    if serializer == "json":
        return _JSON
    if serializer == "pickle" and opted_in.name == "pickle":
        return opted_in
    if serializer == "pickle":
        raise UnknownEventType(f"checkpoint {ckpt_id[:8]} was stored with serializer='pickle'; "
                               f"open the store with serializer='pickle' to resume it (only if "
                               f"you trust everyone who can write to it)")
    raise UnknownEventType(f"checkpoint {ckpt_id[:8]} names an unknown serializer "
                           f"{str(serializer)[:40]!r}; it was written by a newer flowpoint or "
                           f"damaged")
