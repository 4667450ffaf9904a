"""A context as a JSON-able dict and back (``ctx.to_dict()`` / ``Context.from_dict()``).

The layout follows LlamaIndex 1.x (``state``, ``queues``, ``in_progress``, ``event_buffers``,
``broker_log``, ``is_running`` ...), each value written by the chosen serializer, so a run waiting
for a human can be dropped and continued in another process.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import ContextSerdeError
from .events import Event, InputRequiredEvent
from .serde import UnknownEvent
from .serializers import BaseSerializer, JsonSerializer

if TYPE_CHECKING:
    from .context import Context

FORMAT = "flowpoint.context/1"
_REQUIRED = ("state", "queues", "in_progress", "event_buffers", "accepted_events", "broker_log",
             "is_running")


def context_to_dict(ctx: Context[Any], serializer: BaseSerializer | None) -> dict[str, Any]:
    """See ``Context.to_dict``."""
    ser = serializer or JsonSerializer()
    snap = ctx.snapshot()
    runner = ctx._runner

    def events(evs: list[Event]) -> list[str]:
        return [ser.serialize(e) for e in evs]

    store = snap["store"]
    if "state_type" in snap:
        state = {"state_type": snap["state_type"], "state_data": ser.serialize(store)}
    else:
        state = {"state_type": "DictState",
                 "state_data": {"_data": {k: _value(ser, k, v) for k, v in store.items()}}}
    streamed = [e for e in (list(runner.stream._queue) if runner else [])  # type: ignore[attr-defined]
                if isinstance(e, Event)]
    return {
        "format": FORMAT,
        "state": state,
        "streaming_queue": json.dumps(events(streamed)),
        "queues": {s: json.dumps(events(evs)) for s, evs in snap["queues"].items()},
        "in_progress": {s: events(evs) for s, evs in snap["in_progress"].items()},
        "stepwise": ctx.stepwise,
        "event_buffers": {o: {k: events(evs) for k, evs in b.items()}
                          for o, b in snap["collect_buffers"].items()},
        "accepted_events": [list(a) for a in snap["accepted_events"]],
        "broker_log": events(snap["event_log"]),
        "pending_input": (ser.serialize(snap["pending_input"])
                          if snap["pending_input"] is not None else None),
        "is_running": bool(snap["is_running"]),
    }


def _value(ser: BaseSerializer, key: str, value: Any) -> str:
    try:
        return ser.serialize(value)
    except ContextSerdeError as exc:
        raise ContextSerdeError(f"Failed to serialize state value for key {key!r}: {exc}. Store "
                                f"plain data, or pass serializer=PickleSerializer() (trusted data "
                                f"only)") from None


def context_from_dict(cls: type[Context[Any]], workflow: Any, data: dict[str, Any],
                      serializer: BaseSerializer | None) -> Context[Any]:
    """See ``Context.from_dict``."""
    ser = serializer or JsonSerializer()
    if not isinstance(data, dict):
        raise ContextSerdeError(f"Context.from_dict needs the dict of ctx.to_dict(), got a "
                                f"{type(data).__name__}")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise ContextSerdeError(
            f"Error creating a Context instance: the provided payload has a wrong or old format "
            f"(missing {', '.join(missing)}); pass the dict returned by ctx.to_dict()")
    try:
        snap = _decode(data, ser)
    except ContextSerdeError:
        raise
    except Exception as exc:
        raise ContextSerdeError(f"Error creating a Context instance: the payload cannot be read "
                                f"({type(exc).__name__}: {exc})") from None
    ctx = cls(workflow, stepwise=bool(data.get("stepwise", False)))
    ctx._record = False  # it continues a run as upstream 1.x does, without a checkpoint trail
    requeue = ctx.restore(snap)
    pending = snap["pending_input"]
    if snap["is_running"] or requeue or pending is not None:
        ctx._resume = (requeue, pending)
    return ctx


def _decode(data: dict[str, Any], ser: BaseSerializer) -> dict[str, Any]:
    def event(raw: Any, where: str) -> Event:
        ev = ser.deserialize(raw)
        if isinstance(ev, UnknownEvent):
            raise ContextSerdeError(f"{where} holds an event of type {ev.type_key!r}, which cannot "
                                    f"be loaded ({ev.reason})")
        if not isinstance(ev, Event):
            raise ContextSerdeError(f"{where} should hold events, found {type(ev).__name__}")
        return ev

    def events(raw: Any, where: str) -> list[Event]:
        items = json.loads(raw) if isinstance(raw, str) else raw
        return [event(x, f"{where}[{i}]") for i, x in enumerate(items)]

    state = data["state"] or {}
    snap: dict[str, Any] = {}
    state_type = state.get("state_type", "DictState")
    if state_type in (None, "DictState"):
        values = (state.get("state_data") or {}).get("_data", {})
        snap["store"] = {k: ser.deserialize(v) for k, v in values.items()}
    else:
        snap["store"] = ser.deserialize(state["state_data"])
        snap["state_type"] = state_type
        if not isinstance(snap["store"], dict):
            raise ContextSerdeError(f"the typed state {state_type!r} is not stored as an object")
    snap["queues"] = {s: events(v, f"queues[{s!r}]") for s, v in data["queues"].items()}
    snap["in_progress"] = {s: events(v, f"in_progress[{s!r}]")
                           for s, v in data["in_progress"].items()}
    snap["collect_buffers"] = {o: {k: events(v, f"event_buffers[{o!r}][{k!r}]")
                                   for k, v in b.items()}
                               for o, b in data["event_buffers"].items()}
    snap["accepted_events"] = [list(a) for a in data["accepted_events"]]
    snap["event_log"] = events(data["broker_log"], "broker_log")
    pending = data.get("pending_input")
    snap["pending_input"] = event(pending, "pending_input") if pending is not None else None
    if snap["pending_input"] is not None and not isinstance(snap["pending_input"],
                                                            InputRequiredEvent):
        raise ContextSerdeError("pending_input should be an InputRequiredEvent")
    snap["is_running"] = bool(data["is_running"])
    return snap
