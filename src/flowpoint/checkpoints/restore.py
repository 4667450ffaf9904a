"""Checking a stored context snapshot before a run is resumed from it."""

from __future__ import annotations

from typing import Any

from ..errors import CorruptCheckpoint, UnknownEventType
from ..runtime.events import Event
from .codec import UnknownEvent

_MAPPINGS = ("store", "queues", "in_progress", "collect_buffers")
_LISTS = ("event_log", "accepted_events")


def corrupt_paths(value: Any, path: str = "ctx_state") -> list[str]:
    """Where a stored value could not be read (``{"$corrupt": reason}`` markers), with reasons."""
    if isinstance(value, dict):
        if "$corrupt" in value and len(value) == 1:
            return [f"{path}: {value['$corrupt']}"]
        out: list[str] = []
        for k, v in value.items():
            out.extend(corrupt_paths(v, f"{path}.{k}"))
        return out
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in corrupt_paths(v, f"{path}[{i}]")]
    return []


def _unknown(value: Any, path: str) -> tuple[str, UnknownEvent] | None:
    if isinstance(value, UnknownEvent):
        return path, value
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)  # type: ignore[assignment]
    else:
        return None
    for k, v in items:
        found = _unknown(v, f"{path}[{k!r}]")
        if found:
            return found
    return None


def check_raw_state(ckpt_id: str, raw: Any) -> None:
    """Refuse a snapshot that could not be read back whole: resuming would use wrong data."""
    short = ckpt_id[:8]
    if not isinstance(raw, dict):
        raise CorruptCheckpoint(f"cannot resume from checkpoint {short}: its context snapshot is "
                                f"a {type(raw).__name__}, not an object")
    problems = corrupt_paths(raw)
    if problems:
        raise CorruptCheckpoint(f"cannot resume from checkpoint {short}: its context snapshot is "
                                f"damaged ({'; '.join(problems[:3])})")


def check_decoded_state(ckpt_id: str, state: dict[str, Any]) -> None:
    """Refuse a decoded snapshot of the wrong shape, or one holding events that are not loaded."""
    short = ckpt_id[:8]
    for part in _MAPPINGS:
        if not isinstance(state.get(part, {}), dict):
            raise CorruptCheckpoint(f"cannot resume from checkpoint {short}: ctx_state.{part} "
                                    f"should be an object, found {type(state[part]).__name__}")
    for part in _LISTS:
        if not isinstance(state.get(part, []), list):
            raise CorruptCheckpoint(f"cannot resume from checkpoint {short}: ctx_state.{part} "
                                    f"should be a list, found {type(state[part]).__name__}")
    for part in ("queues", "in_progress"):
        for step, events in state.get(part, {}).items():
            if not isinstance(events, list) or not all(isinstance(e, Event) for e in events):
                raise CorruptCheckpoint(f"cannot resume from checkpoint {short}: "
                                        f"ctx_state.{part}[{step!r}] should be a list of events")
    for step, buffers in state.get("collect_buffers", {}).items():
        if not isinstance(buffers, dict) or not all(
                isinstance(evs, list) and all(isinstance(e, Event) for e in evs)
                for evs in buffers.values()):
            raise CorruptCheckpoint(f"cannot resume from checkpoint {short}: "
                                    f"ctx_state.collect_buffers[{step!r}] should map event types "
                                    f"to lists of events")
    for part in ("store", "queues", "in_progress", "collect_buffers", "pending_input"):
        found = _unknown(state.get(part), f"ctx_state.{part}")
        if found:
            path, ev = found
            raise UnknownEventType(f"cannot resume from checkpoint {short}: {path} has type "
                                   f"{ev.type_key!r}, which cannot be loaded ({ev.reason})")
