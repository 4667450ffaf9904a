"""`Checkpoint` and `Run`: what users read back from a store, as immutable pydantic models."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, computed_field

from ..runtime.events import Event
from ..storage.records import CheckpointRecord, RunRecord
from ..storage.rows import checked_fields, loads
from .codec import UnknownEvent, decode_event, decode_value
from .restore import corrupt_paths

_UTC = dt.timezone.utc
_fromtimestamp = dt.datetime.fromtimestamp


def _utc(ts: float | None) -> dt.datetime | None:
    return None if ts is None else _fromtimestamp(ts, _UTC)


class _StoredEvents:
    """A listed checkpoint's input and output events as their stored JSON text, parsed on
    first use: a listing builds many checkpoints and reads the events of few. Equal to the
    parsed pair, as the pair itself would be."""

    __slots__ = ("texts", "parsed")

    def __init__(self, input_text: Any, output_text: Any) -> None:
        self.texts = (input_text, output_text)
        self.parsed: tuple[Any, Any] | None = None

    def value(self) -> tuple[Any, Any]:
        if self.parsed is None:
            self.parsed = (loads(self.texts[0], "input_event"),
                           loads(self.texts[1], "output_event"))
        return self.parsed

    def __eq__(self, other: object) -> bool:
        return self.value() == (other.value() if isinstance(other, _StoredEvents) else other)

    __hash__ = None  # type: ignore[assignment]


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

    _raw_events: tuple[Any, Any] | _StoredEvents | None = PrivateAttr(default=None)
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
        return cls._make(rec.id, rec.run_id, rec.seq, rec.step, rec.created_at,
                         rec.step_duration_s, meta, rec.parent_id, rec.input_type,
                         rec.output_type, rec.serializer, (rec.input_event, rec.output_event),
                         rec.ctx_state, loader, decoder)

    @classmethod
    def from_row(cls, row: Sequence[Any],
                 loader: Callable[[], dict[str, Any] | None] | None = None,
                 decoder: Callable[[Any], Any] | None = None) -> Checkpoint:
        """A checkpoint from a stored row in ``RECORD_COLUMNS`` order (a store's
        ``record_rows``), read as ``from_record(checkpoint_record(row))`` reads it, except that
        its events' JSON is parsed only when they are first read."""
        (id_, run_id, seq, step, input_type, output_type, input_text, output_text, created_at,
         step_duration_s, metadata, parent_id, serializer) = row
        seq, created_at, step_duration_s, metadata = checked_fields(
            seq, created_at, step_duration_s, metadata)
        ckpt = cls.__new__(cls)  # as _make, inline: this runs once per listed checkpoint
        _set(ckpt, "__dict__", {
            "id_": id_, "run_id": run_id, "seq": seq, "last_completed_step": step,
            "created_at": _fromtimestamp(created_at, _UTC), "step_duration_s": step_duration_s,
            "metadata": metadata, "parent_id": parent_id, "input_type": input_type,
            "output_type": output_type, "serializer": serializer})
        _set(ckpt, "__pydantic_fields_set__", _ALL_FIELDS)
        _set(ckpt, "__pydantic_extra__", None)
        _set(ckpt, "__pydantic_private__", {
            "_raw_events": _StoredEvents(input_text, output_text), "_events": None,
            "_state": None, "_loader": loader, "_decoder": decoder})
        return ckpt

    @classmethod
    def _make(cls, id_: str, run_id: str, seq: int, step: str | None, created_at: float,
              step_duration_s: float | None, metadata: dict[str, Any], parent_id: str | None,
              input_type: str | None, output_type: str | None, serializer: str, raw_events: Any,
              state: Any, loader: Callable[[], dict[str, Any] | None] | None,
              decoder: Callable[[Any], Any] | None) -> Checkpoint:
        # What model_construct does, minus its per-field default resolution: listing 100,000
        # checkpoints spent most of its time there. The values come from our own store.
        ckpt = cls.__new__(cls)
        _set(ckpt, "__dict__", {
            "id_": id_, "run_id": run_id, "seq": seq, "last_completed_step": step,
            "created_at": _utc(created_at), "step_duration_s": step_duration_s,
            "metadata": metadata, "parent_id": parent_id, "input_type": input_type,
            "output_type": output_type, "serializer": serializer})
        _set(ckpt, "__pydantic_fields_set__", _ALL_FIELDS)
        _set(ckpt, "__pydantic_extra__", None)
        _set(ckpt, "__pydantic_private__", {
            "_raw_events": raw_events, "_events": None, "_state": state, "_loader": loader,
            "_decoder": decoder})
        return ckpt

    def _decoded(self) -> tuple[Event | None, Event | None]:
        if self._events is None:
            raw = self._raw_events or (None, None)
            if isinstance(raw, _StoredEvents):
                raw = raw.value()
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
_set = object.__setattr__


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
        values = {"run_id": rec.run_id, "workflow": rec.workflow, "status": status or rec.status,
                  "started_at": _utc(rec.started_at), "ended_at": _utc(rec.ended_at),
                  "origin_checkpoint_id": rec.origin_checkpoint_id, "edited": rec.edited,
                  "error": rec.error, "result": decode_value(rec.result)}
        if not (type(rec.run_id) is str and type(rec.workflow) is str
                and type(values["status"]) is str and type(rec.origin_checkpoint_id) in _STR_NONE
                and type(rec.edited) in _DICT_NONE and type(rec.error) in _DICT_NONE):
            return cls(**values)  # not as flowpoint's stores read them: validated
        # Already the field types (JSON objects have str keys): built as model_construct
        # builds it, without the cost of validating every run of a listing.
        run = cls.__new__(cls)
        _set(run, "__dict__", values)
        _set(run, "__pydantic_fields_set__", _RUN_FIELDS)
        _set(run, "__pydantic_extra__", None)
        _set(run, "__pydantic_private__", None)
        return run

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


_RUN_FIELDS = frozenset(Run.model_fields)
_STR_NONE = (str, type(None))
_DICT_NONE = (dict, type(None))
