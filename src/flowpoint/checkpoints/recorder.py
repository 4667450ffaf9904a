"""The runtime hook of one run: turns step completions into committed checkpoints."""

from __future__ import annotations

import asyncio
import os
import time
import traceback
import warnings
import weakref
from collections.abc import Callable
from typing import Any

from ..errors import SerializationError
from ..runtime.context import Invocation
from ..runtime.events import Event, StopEvent, event_key
from ..runtime.runner import Runner
from ..storage.base import CheckpointStore
from ..storage.records import CheckpointRecord, EncodedState, taken_record
from ..storage.rows import dumps
from ..storage.sharedcommit import PendingCommit
from ..storage.statesplitter import StateSplitter
from .codec import JsonCodec, encode_value


class Recorder:
    """Writes the checkpoints and status changes of one run to the store, in order."""

    def __init__(
        self,
        store: CheckpointStore,
        codec: JsonCodec,
        run_id: str,
        is_enabled: Callable[[str], bool],
        first_seq: int = 0,
        parent_id: str | None = None,
        on_change: Callable[[str, str, Any], None] | None = None,
        pause_before: frozenset[str] = frozenset(),
        encode_event: Callable[[Any], Any] | None = None,
        event_type: Callable[[type], str] = event_key,
    ) -> None:
        self.store = store
        self.codec = codec
        self.run_id = run_id
        self.is_enabled = is_enabled
        self.next_seq = first_seq
        self.parent_id = parent_id
        self.on_change = on_change
        self.pause_before = pause_before
        self._encoded: dict[int, tuple[Event, Any]] = {}
        self._encode = encode_event or codec.encode_event
        self._event_type = event_type
        self._types: dict[type, str] = {}
        self._texts: dict[int, tuple[Any, str]] = {}
        self._splitter = (StateSplitter() if type(codec) is JsonCodec
                          and getattr(store, "accepts_encoded_state", False) else None)
        self._soon = getattr(store, "put_checkpoint_soon", None)
        self._writers = _writing(store) if self._soon is not None else None
        self._listed = self._writers is not None  # in self._writers: this run is writing
        if self._writers is not None:  # from now: runs started together share their commits
            self._writers.add(self)
        self._pending: PendingCommit | None = None  # in the store's shared commit, if any
        self._put_last = getattr(store, "put_last_checkpoint", None)
        self._ended: dict[str, Any] | None = None  # the run's end, committed with its StopEvent

    # --- RunObserver ----------------------------------------------------------------------------
    def on_start_event(self, runner: Runner, start_event: Event) -> PendingCommit | None:
        """Take the start checkpoint. Runs started together (the same turn of the loop) on one
        store commit theirs together: the PendingCommit returned says when."""
        before = self._breakpoint(runner, start_event)
        pending = self._record(runner, None, None, start_event, None, {}, before,
                               shared=before is None)
        if before is not None:
            runner.pause(before)
        return pending

    def on_step_done(self, runner: Runner, step: str, input_event: Event,
                     output_event: Event | None, duration_s: float,
                     invocation: Invocation) -> PendingCommit | None:
        """Take the step's checkpoint. While other runs write to the same store, it is
        committed with theirs of this turn of the loop: the PendingCommit returned says when
        (the runner dispatches the output right then)."""
        before = self._breakpoint(runner, output_event)
        pending = None
        if invocation.forced or self.is_enabled(step) or before is not None:
            pending = self._record(runner, step, input_event, output_event, duration_s,
                                   invocation.metadata or {}, before, shared=before is None)
        if before is not None:
            runner.pause(before)
        return pending

    def _breakpoint(self, runner: Runner, ev: Event | None) -> str | None:
        """The breakpoint step that ``ev`` is about to reach, if any (the run pauses there)."""
        if ev is None or not self.pause_before or runner.paused_before is not None:
            return None
        for name, spec in runner.steps.items():
            if name in self.pause_before and isinstance(ev, spec.accepts):
                return name
        return None

    def on_status(self, runner: Runner, status: str, **info: Any) -> None:
        """Record a status change. Never raises: a failure here must not replace the run's own
        outcome; if the full record cannot be written, the status alone is (else a warning)."""
        if status != "running" and self._writers is not None:
            self._writers.discard(self)
            self._listed = False
        fields: dict[str, Any] = {"status": status}
        if status in ("completed", "failed", "cancelled", "paused"):
            fields["ended_at"] = time.time()
        if "error" in info:
            err: BaseException = info["error"]
            fields["error"] = {
                "type": type(err).__name__,
                "message": _safe(str, err),
                "traceback": _safe(lambda e: "".join(traceback.format_exception(
                    type(e), e, e.__traceback__)), err),
                "step": getattr(runner, "failed_step", None),
            }
        if "result" in info:
            fields["result"] = _result_data(info["result"])
        ended, self._ended = self._ended, None
        if ended is None or status != "completed" or ended.get("result") != fields.get("result"):
            self._write_status(status, fields)
        # else: committed already, with the run's StopEvent checkpoint
        if self.on_change is not None:
            self.on_change("status", self.run_id, status)

    def _write_status(self, status: str, fields: dict[str, Any]) -> None:
        try:
            self.store.update_run(self.run_id, **fields)
        except Exception as exc:
            minimal = {k: v for k, v in fields.items() if k in ("status", "ended_at")}
            if "error" in fields:
                minimal["error"] = {"type": fields["error"]["type"],
                                    "message": f"(could not be recorded: {_safe(str, exc)})"}
            try:
                self.store.update_run(self.run_id, **minimal)
            except Exception as again:
                warnings.warn(f"run {self.run_id}: could not record its status {status!r} in "
                              f"{getattr(self.store, 'url', self.store)}: {_safe(str, again)}",
                              RuntimeWarning, stacklevel=3)

    # --- encoding -------------------------------------------------------------------------------
    def _type_key(self, ev: Any) -> str | None:
        if ev is None:
            return None
        key = self._types.get(type(ev))
        if key is None:
            key = self._types[type(ev)] = self._event_type(type(ev))
        return key

    def _event(self, ev: Event | None) -> Any:
        if ev is None:
            return None
        hit = self._encoded.get(id(ev))
        if hit is not None and hit[0] is ev:
            return hit[1]
        data = self._encode(ev)
        self._encoded[id(ev)] = (ev, data)
        return data

    def _event_text(self, ev: Any, data: Any, column: str) -> str:
        """The stored JSON text of an event's encoding ``data``, made once: a step's output
        event is the next step's input."""
        if ev is None:
            return "null"
        hit = self._texts.get(id(ev))
        if hit is not None and hit[0] is ev:
            return hit[1]
        text = dumps(data, column)
        if len(self._texts) > 64:
            self._texts.clear()
        self._texts[id(ev)] = (ev, text)
        return text

    def _record(self, runner: Runner, step: str | None, input_event: Event | None,
                output_event: Event | None, duration_s: float | None,
                metadata: dict[str, Any], paused_before: str | None = None,
                shared: bool = False) -> PendingCommit | None:
        if self._pending is not None and not self._pending.settled:
            self.store.flush_checkpoints()  # the run's earlier output goes out first
        snapshot = runner.ctx.snapshot(live_logs=self._splitter is not None)
        if isinstance(output_event, StopEvent) or paused_before is not None:
            snapshot["is_running"] = False  # the run ends (or pauses) right after this checkpoint
        extra = {"paused_before": paused_before} if paused_before is not None else None
        if self._splitter is not None:
            try:
                split = self.codec.split_state(snapshot, self._event, self._splitter, extra)
            except (SerializationError, TypeError, ValueError, RecursionError):
                self._splitter.reset()  # the whole-state path below reports what is wrong
            else:
                return self._commit(step, input_event, output_event, duration_s, metadata, None,
                                    split, shared, ending=True)

        def encoded(ev: Callable[[Any], Any]) -> dict[str, Any]:
            state = self.codec.encode_state(snapshot, ev)
            if extra is not None and "__pickle__" not in state:
                state.update(extra)
            return state

        self.record(step, input_event, output_event, duration_s, metadata, encoded)
        return None

    def record(self, step: str | None, input_event: Any, output_event: Any,
               duration_s: float | None, metadata: dict[str, Any],
               snapshot: Callable[[Callable[[Any], Any]], dict[str, Any] | EncodedState],
               ends_run: bool = False) -> None:
        """Commit one checkpoint; ``snapshot(encode_event)`` gives the encoded context snapshot.

        Drivers of other runtimes call this before the step's output is dispatched;
        ``ends_run``: the output is the run's StopEvent, whose ``result`` is the run's result
        (the run's end is then committed with the checkpoint where the store takes both).
        """
        try:
            state = snapshot(self._event)
        except SerializationError as exc:
            raise self._failed(step, exc) from None
        split = state if isinstance(state, EncodedState) else None
        self._commit(step, input_event, output_event, duration_s, metadata,
                     None if split is not None else state, split, ending=ends_run, driven=True)

    @property
    def splitter(self) -> StateSplitter | None:
        """The run's splitter if its store takes states split as they are taken: a driver's
        ``snapshot`` given to ``record`` may then return an EncodedState made with it."""
        return self._splitter

    def _failed(self, step: str | None, exc: SerializationError) -> SerializationError:
        where = f"after step {step!r}" if step else "at the start"
        return SerializationError(f"checkpoint {where} of run {self.run_id} failed: {exc}")

    def _commit(self, step: str | None, input_event: Any, output_event: Any,
                duration_s: float | None, metadata: dict[str, Any], state: Any,
                split: EncodedState | None, shared: bool = False,
                ending: bool = False, driven: bool = False) -> PendingCommit | None:
        try:
            meta = encode_value(metadata, "ctx.checkpoint(metadata)") if metadata else {}
        except SerializationError as exc:
            raise self._failed(step, exc) from None
        end = self._end_fields(output_event, driven) if ending else None
        ckpt_id = _uuid4()
        input_data, output_data = self._event(input_event), self._event(output_event)
        rec = taken_record(
            ckpt_id, self.run_id, self.next_seq, step, self._type_key(input_event),
            self._type_key(output_event), input_data, output_data, state, time.time(),
            duration_s, meta, self.parent_id, self.codec.name, split,
            (self._event_text(input_event, input_data, "input_event"),
             self._event_text(output_event, output_data, "output_event")),
        )
        if shared and self._writers is not None:
            writing = self._writers
            if not self._listed:
                writing.add(self)
                self._listed = True
            if len(writing) > 1:
                return self._commit_shared(rec, split, end)
        try:
            if end is not None:
                self._put_last(rec, **end)
            else:
                self.store.put_checkpoint(rec)
        except BaseException:
            if self._splitter is not None:
                self._splitter.reset()
            raise
        self.next_seq += 1
        self.parent_id = ckpt_id
        self._committed(rec, split, end)
        return None

    def _end_fields(self, output_event: Any, driven: bool = False) -> dict[str, Any] | None:
        """The run's end (status, ended_at, result, as on_status writes them) to commit with
        the checkpoint of its StopEvent, when the store takes both in one transaction
        (``driven``: another runtime's StopEvent, as its driver said)."""
        if self._put_last is None or (type(output_event) is not StopEvent and not driven):
            return None
        return {"status": "completed", "ended_at": time.time(),
                "result": _result_data(output_event.result)}

    def _commit_shared(self, rec: CheckpointRecord, split: EncodedState | None,
                       end: dict[str, Any] | None) -> PendingCommit:
        """Hand the checkpoint to the store's shared commit of this turn of the loop; it is
        written even if the step is cancelled while waiting for it."""
        pending = self._pending = self._soon(rec, end) if end is not None else self._soon(rec)
        self.next_seq += 1
        self.parent_id = rec.id
        pending.on_commit(lambda: self._committed(rec, split, end))

        def failed(fut: asyncio.Future[None]) -> None:
            if (fut.cancelled() or fut.exception() is not None) and self._splitter is not None:
                self._splitter.reset()

        pending.future.add_done_callback(failed)
        return pending

    def _committed(self, rec: CheckpointRecord, split: EncodedState | None,
                   end: dict[str, Any] | None = None) -> None:
        self._ended = end
        if split is not None and self._splitter is not None:
            self._splitter.committed(split)
        if self.on_change is not None:
            self.on_change("checkpoint", self.run_id, rec)


_WRITING: weakref.WeakKeyDictionary[Any, weakref.WeakSet[Recorder]] = weakref.WeakKeyDictionary()


def _writing(store: Any) -> weakref.WeakSet[Recorder]:
    """The recorders of running runs writing to ``store`` in this process: while there are
    several, their checkpoints share commits."""
    found = _WRITING.get(store)
    if found is None:
        found = _WRITING[store] = weakref.WeakSet()
    return found


def _uuid4() -> str:
    """A random (version 4) UUID as text, as ``str(uuid.uuid4())`` gives, made in a third of
    its time."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}


def _safe(text: Callable[[Any], str], value: Any) -> str:
    """``text(value)``, or a note of why it could not be made (a broken ``__str__``...)."""
    try:
        return str(text(value))
    except Exception as exc:  # noqa: BLE001 - whatever user code raises
        return f"<{type(value).__name__}: text unavailable ({type(exc).__name__})>"


def _result_data(result: Any) -> Any:
    try:
        return encode_value(result, "result")
    except Exception:  # noqa: BLE001 - any result must still let the run be recorded
        return {"__repr__": _safe(repr, result)[:2000]}
