"""`Checkpoint` and `Run`: what users read back from a store, as immutable pydantic models."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, computed_field

from ..runtime.events import Event
from ..storage.records import CheckpointRecord, RunRecord
from .codec import UnknownEvent, decode_event, decode_value
from .restore import corrupt_paths


def _utc(ts: float | None) -> dt.datetime | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc)


def type_name(key: str | None) -> str | None:
    """The bare class name of an event registry key (``pkg.mod.JokeEvent`` → ``JokeEvent``)."""
    return None if key is None else key.rsplit(".", 1)[-1]


class Checkpoint(BaseModel):
    """The state of a run right after one step completed (seq 0: before the StartEvent).

    Events are decoded (through the event registry only) on first access, and ``ctx_state`` —
    the stored plain data, events as ``{"__event__": type, "data": ...}`` — is loaded from the
    store on first access, so listing many checkpoints stays cheap.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    id_: str
    run_id: str
    seq: int
    last_completed_step: str | None
    created_at: dt.datetime
    step_duration_s: float | None = None
    metadata: dict[str, Any] = {}
    parent_id: str | None = None
    input_type: str | None = None
    output_type: str | None = None
    serializer: str = "json"

    _raw_events: tuple[Any, Any] | None = PrivateAttr(default=None)
    _events: tuple[Event | None, Event | None] | None = PrivateAttr(default=None)
    _state: dict[str, Any] | None = PrivateAttr(default=None)
    _loader: Callable[[], dict[str, Any] | None] | None = PrivateAttr(default=None)
    _decoder: Callable[[Any], Any] | None = PrivateAttr(default=None)

    @classmethod
    def from_record(cls, rec: CheckpointRecord,
                    loader: Callable[[], dict[str, Any] | None] | None = None,
                    decoder: Callable[[Any], Any] | None = None) -> Checkpoint:
        """Wrap a stored record; nothing in it is decoded yet.

        ``decoder`` turns a stored event into an object (the driver's registered classes);
        flowpoint's event registry by default.
        """
        meta = rec.metadata if isinstance(rec.metadata, dict) else {"$corrupt": repr(rec.metadata)}
        # What model_construct does, minus its per-field default resolution: listing 100,000
        # checkpoints spent most of its time there. The values come from our own store.
        ckpt = cls.__new__(cls)
        object.__setattr__(ckpt, "__dict__", {
            "id_": rec.id, "run_id": rec.run_id, "seq": rec.seq, "last_completed_step": rec.step,
            "created_at": _utc(rec.created_at), "step_duration_s": rec.step_duration_s,
            "metadata": meta, "parent_id": rec.parent_id, "input_type": rec.input_type,
            "output_type": rec.output_type, "serializer": rec.serializer})
        object.__setattr__(ckpt, "__pydantic_fields_set__", _ALL_FIELDS)
        object.__setattr__(ckpt, "__pydantic_extra__", None)
        object.__setattr__(ckpt, "__pydantic_private__", {
            "_raw_events": (rec.input_event, rec.output_event), "_events": None,
            "_state": rec.ctx_state, "_loader": loader, "_decoder": decoder})
        return ckpt

    def _decoded(self) -> tuple[Event | None, Event | None]:
        if self._events is None:
            raw = self._raw_events or (None, None)
            decode = self._decoder or decode_event
            self._events = (decode(raw[0]), decode(raw[1]))
        return self._events

    @computed_field  # type: ignore[prop-decorator]
    @property
    def input_event(self) -> Event | None:
        """The event the step consumed (None for the start checkpoint)."""
        return self._decoded()[0]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def output_event(self) -> Event | None:
        """The event the step returned: what ``run_from`` emits (a StartEvent at seq 0)."""
        return self._decoded()[1]

    @property
    def raw_state(self) -> Any:
        """The snapshot exactly as the store returned it (possibly damaged)."""
        if self._state is None and self._loader is not None:
            self._state = self._loader()
        return self._state

    @property
    def ctx_state(self) -> dict[str, Any]:
        """The context snapshot: store, queues, in_progress, collect buffers, event log, ...

        A snapshot that is not an object reads as ``{"$corrupt": reason}``.
        """
        state = self.raw_state
        if state is None:
            return {}
        if not isinstance(state, dict):
            return {"$corrupt": f"ctx_state is a {type(state).__name__}, not an object"}
        return state

    @property
    def user_state(self) -> dict[str, Any]:
        """The user's ``ctx.store`` at this checkpoint, decoded (events as Event objects)."""
        store = self.ctx_state.get("store")
        return decode_value(store) if isinstance(store, dict) else {}

    @property
    def is_start(self) -> bool:
        """True for the checkpoint taken before the StartEvent (its output is the StartEvent)."""
        return self.last_completed_step is None

    @property
    def problems(self) -> list[str]:
        """Why this checkpoint cannot be resumed as stored (unknown or corrupt events)."""
        out = []
        for label, ev in (("input", self.input_event), ("output", self.output_event)):
            if isinstance(ev, UnknownEvent):
                out.append(f"{label} event {ev.type_key}: {ev.reason}")
        state = self.ctx_state
        if set(state) == {"$corrupt"}:
            out.append(f"ctx_state: {state['$corrupt']}")
        else:
            out.extend(corrupt_paths(state))
        if isinstance(self.metadata, dict) and "$corrupt" in self.metadata:
            out.append(f"metadata: {self.metadata['$corrupt']}")
        return out

    def __repr__(self) -> str:
        return (f"Checkpoint(id_={self.id_[:8]!r}, run_id={self.run_id[:8]!r}, seq={self.seq}, "
                f"last_completed_step={self.last_completed_step!r}, "
                f"output={type_name(self.output_type)!r})")

    def _repr_html_(self) -> str:
        from .render import checkpoint_html

        return checkpoint_html(self)


_ALL_FIELDS = frozenset(Checkpoint.model_fields)


class Run(BaseModel):
    """One run of a workflow: status, times, where it was resumed from, error and result."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    workflow: str
    status: str
    started_at: dt.datetime
    ended_at: dt.datetime | None = None
    origin_checkpoint_id: str | None = None
    edited: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    result: Any = None

    @classmethod
    def from_record(cls, rec: RunRecord, status: str | None = None) -> Run:
        """A run as stored; ``status`` overrides a stale "running" with "interrupted"."""
        return cls(run_id=rec.run_id, workflow=rec.workflow, status=status or rec.status,
                   started_at=_utc(rec.started_at), ended_at=_utc(rec.ended_at),
                   origin_checkpoint_id=rec.origin_checkpoint_id, edited=rec.edited,
                   error=rec.error, result=decode_value(rec.result))

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end, None while running."""
        return None if self.ended_at is None else (self.ended_at - self.started_at).total_seconds()

    def __repr__(self) -> str:
        return f"Run(run_id={self.run_id[:8]!r}, workflow={self.workflow!r}, status={self.status!r})"

    def _repr_html_(self) -> str:
        rows = [("run", self.run_id), ("workflow", self.workflow), ("status", self.status),
                ("started", str(self.started_at)), ("ended", str(self.ended_at or "")),
                ("resumed from", self.origin_checkpoint_id or "")]
        if self.error and "$corrupt" in self.error:
            rows.append(("error (unreadable)", str(self.error["$corrupt"])))
        elif self.error:
            rows.append(("error", f"{self.error.get('type')}: {self.error.get('message')}"))
        if self.result is not None:
            rows.append(("result", json.dumps(self.result, default=repr)[:500]))
        body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                       for k, v in rows)
        return f"<table class='fp-run'>{body}</table>"
