"""The readable part of a 2.x checkpoint: the user's state and the work in flight.

Read from the live objects of the run, never by rebuilding a context (``ctx.to_dict()`` replays
every tick each time). A resume loads the runtime's own snapshot (loopstate.py); this part is
for people and filters.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from workflows.context.state_store import DictState

from ...checkpoints.codec import MARKERS, decode_value, encode_value
from ...storage.contentstore import compact_text, split_state
from .types import TypeRegistry, type_key

_UNREAD = object()


def state_of(store: Any, registry: TypeRegistry) -> BaseModel | None:
    """The committed state model of ``ctx.store``, shared, not copied. Read from the in-memory store's record
    when it is there (``checkpoint()`` copies the record and makes a new default model each
    time nothing was written yet); else through ``checkpoint()``."""
    if store is None:
        return None
    record = getattr(getattr(store, "_memory_storage", None), "_record", _UNREAD)
    if record is None and getattr(store, "state_type", None) is registry.state_type:
        return registry.default_state()
    data = getattr(record, "data", None)
    if isinstance(data, BaseModel):
        return data
    try:
        return store.checkpoint().state
    except (AttributeError, TypeError):
        return None


def dict_data(model: DictState) -> dict[str, Any]:
    """A DictState's key/value dict (its private ``_data``, read without pydantic's lookups)."""
    private = model.__pydantic_private__
    data = private.get("_data") if private else None
    return data if isinstance(data, dict) else model._data


def store_state_of(model: BaseModel | None, registry: TypeRegistry) -> dict[str, Any]:
    """The JSON-able data of a state model (kept for the model last asked: a store write makes
    a new model). Keys named like the codec's markers are escaped as the codec escapes a dict."""
    if model is None:
        return {}
    cached = registry.state_cache.of(model)
    if cached.data is not None:
        return cached.data
    if isinstance(model, DictState):
        ser = registry.serializer
        data = {k: encode_value(ser.serialize_value(v), f"ctx.store[{k!r}]")
                for k, v in dict_data(model).items()}
    else:
        data = model.model_dump(mode="json")
    cached.data = data = escaped(data)
    return data


def inline_store(model: BaseModel | None, registry: TypeRegistry) -> str | None:
    """The stored text of the store's data if the content store keeps that data as it is
    (small, nothing it would split off or escape), else None."""
    if model is None:
        return "{}"
    cached = registry.state_cache.of(model)
    if cached.inline is None:
        data = store_state_of(model, registry)
        manifest, blobs = split_state(data)
        cached.inline = compact_text(data) if manifest is data and not blobs else False
    return cached.inline or None


def escaped(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as the codec writes a dict: ``{"__dict__": [[key, value], ...]}`` if one of its
    keys is a marker of the codec's own (``__event__``, ``$corrupt``...), else as it is."""
    return {"__dict__": [[k, v] for k, v in data.items()]} if MARKERS.intersection(data) \
        else data


def unescaped(data: Any) -> dict[str, Any]:
    """The store's key/value data from its stored form (the inverse of ``escaped``)."""
    if not isinstance(data, dict):
        return {}
    pairs = data.get("__dict__") if len(data) == 1 else None
    if isinstance(pairs, list) and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
        return dict(pairs)
    return data


def state_model(data: Any, registry: TypeRegistry) -> BaseModel:
    """The state model for stored (possibly edited) data, through the workflow's own state type."""
    data = unescaped(data)
    if registry.state_type is DictState or issubclass(registry.state_type, DictState):
        ser = registry.serializer
        return registry.state_type(**{k: ser.deserialize_value(decode_value(v))
                                      for k, v in data.items()})
    return registry.state_type.model_validate(data)


def broker_view(workers: Any, encode: Any) -> dict[str, Any]:
    """Queued and running events per step, collect buffers and waiters of the control loop's
    ``workers`` (step id, worker state) pairs."""
    queues: dict[str, list[Any]] = {}
    in_progress: dict[str, list[Any]] = {}
    buffers: dict[str, dict[str, list[Any]]] = {}
    waiters: list[dict[str, Any]] = []
    for step_id, worker in workers:
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
