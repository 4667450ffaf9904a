"""The readable part of a 2.x checkpoint: the user's state and the work in flight.

Read from the live objects of the run, never by rebuilding a context (``ctx.to_dict()`` replays
every tick each time). What a resume needs is the journal; this part is for people and filters.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from workflows.context.state_store import DictState

from ...checkpoints.codec import decode_value, encode_value
from .types import TypeRegistry, type_key


def _model(store: Any) -> BaseModel | None:
    if store is None:
        return None
    try:
        return store.checkpoint().state  # the committed model, shared, not copied
    except (AttributeError, TypeError):
        return None


def store_state(store: Any, registry: TypeRegistry) -> dict[str, Any]:
    """``ctx.store``'s state as JSON-able data: a DictState's keys, or a typed state's fields."""
    model = _model(store)
    if model is None:
        return {}
    cached = registry.state_cache
    if cached is not None and cached[0] is model:
        return cached[1]
    if isinstance(model, DictState):
        ser = registry.serializer
        data = {k: encode_value(ser.serialize_value(v), f"ctx.store[{k!r}]")
                for k, v in model._data.items()}
    else:
        data = model.model_dump(mode="json")
    registry.state_cache = (model, data)
    return data


def state_model(data: Any, registry: TypeRegistry) -> BaseModel:
    """The state model for stored (possibly edited) data, through the workflow's own state type."""
    data = data if isinstance(data, dict) else {}
    if registry.state_type is DictState or issubclass(registry.state_type, DictState):
        ser = registry.serializer
        return registry.state_type(**{k: ser.deserialize_value(decode_value(v))
                                      for k, v in data.items()})
    return registry.state_type.model_validate(data)


def broker_view(broker: Any, encode: Any) -> dict[str, Any]:
    """Queued and running events per step, collect buffers and waiters of the control loop."""
    queues: dict[str, list[Any]] = {}
    in_progress: dict[str, list[Any]] = {}
    buffers: dict[str, dict[str, list[Any]]] = {}
    waiters: list[dict[str, Any]] = []
    for step_id, worker in (broker.workers.items() if broker is not None else ()):
        name = str(step_id)
        if worker.queue:
            queues[name] = [encode(a.event) for a in worker.queue]
        if worker.in_progress:
            in_progress[name] = [encode(p.event) for p in worker.in_progress]
        if worker.collected_events:
            buffers[name] = {k: [encode(e) for e in evs]
                             for k, evs in worker.collected_events.items() if evs}
        for w in worker.collected_waiters:
            waiters.append({"step": name, "waiting_for": type_key(w.waiting_for_event),
                            "requirements": encode_value(dict(w.requirements), "requirements",
                                                         in_model=True),
                            "event": encode(w.event)})
    return {"queues": queues, "in_progress": in_progress, "collect_buffers": buffers,
            "waiters": waiters}
