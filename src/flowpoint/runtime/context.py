"""`Context`: the state of one run that steps see, and its snapshot / restore."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import FlowpointError
from .events import Event, HumanResponseEvent, event_key
from .recording import context_recording

if TYPE_CHECKING:
    from .runner import Runner

_MISSING = object()


class MissingStateKey(FlowpointError, KeyError, ValueError):
    """``ctx.store.get`` of a key that was never set, with no default given."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass
class Invocation:
    """One call of one step: what ``ctx.checkpoint`` records for the checkpoint taken after it."""

    step: str
    metadata: dict[str, Any] | None = None
    forced: bool = False


CURRENT: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar(
    "flowpoint_invocation", default=None
)


class StateStore:
    """The user's key/value state of a run (``ctx.store``); values must be serializable."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(data or {})

    async def get(self, key: str, default: Any = _MISSING) -> Any:
        """The value of ``key``; ``default`` if given and the key is absent, else an error."""
        if key in self._data:
            return self._data[key]
        if default is not _MISSING:
            return default
        raise MissingStateKey(f"key {key!r} not found in the context store; known keys: "
                              f"{sorted(self._data)}")

    async def set(self, key: str, value: Any) -> None:
        """Set ``key`` to ``value`` (taken into the next checkpoint)."""
        self._data[key] = value

    async def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        self._data.pop(key, None)

    def to_dict(self) -> dict[str, Any]:
        """A shallow copy of the whole store."""
        return dict(self._data)


class Context:
    """Per-run state: user store, collect buffers, event log; and the run's event plumbing."""

    def __init__(self, workflow: Any = None) -> None:
        self.workflow = workflow
        self.store = StateStore()
        self.run_id: str | None = None
        self._collect: dict[str, dict[str, list[Event]]] = {}
        self._event_log: list[Event] = []
        self._accepted: list[list[str]] = []
        self._runner: Runner | None = None

    # --- state, the LlamaIndex 0.10 spelling kept for old code -----------------------------
    async def get(self, key: str, default: Any = _MISSING) -> Any:
        """Same as ``await ctx.store.get(key, default)``."""
        return await self.store.get(key, default)

    async def set(self, key: str, value: Any) -> None:
        """Same as ``await ctx.store.set(key, value)``."""
        await self.store.set(key, value)

    # --- events ----------------------------------------------------------------------------
    def send_event(self, ev: Event, step: str | None = None) -> None:
        """Emit ``ev`` to the steps that accept it (or only to ``step``)."""
        if not isinstance(ev, Event):
            raise TypeError(f"send_event needs an Event, got {type(ev).__name__}")
        self._require_runner().dispatch(ev, only_step=step)

    def write_event_to_stream(self, ev: Event) -> None:
        """Publish ``ev`` to ``handler.stream_events()`` (progress, prompts) without routing it."""
        self._require_runner().write_to_stream(ev)

    def collect_events(self, ev: Event, expected: Sequence[type[Event]]) -> list[Event] | None:
        """Buffer ``ev``; once one event of each expected type is buffered, return them in order."""
        inv = CURRENT.get()
        owner = inv.step if inv else "_"
        buffers = self._collect.setdefault(owner, {})
        buffers.setdefault(event_key(type(ev)), []).append(ev)
        keys = [event_key(t) for t in expected]
        need: dict[str, int] = {}
        for k in keys:
            need[k] = need.get(k, 0) + 1
        if any(len(buffers.get(k, ())) < n for k, n in need.items()):
            return None
        out = [buffers[k].pop(0) for k in keys]
        for k in list(buffers):
            if not buffers[k]:
                del buffers[k]
        if not buffers:
            self._collect.pop(owner, None)
        return out

    async def wait_for_event(
        self,
        event_type: type[Event] = HumanResponseEvent,
        waiter_event: Event | None = None,
        waiter_id: str | None = None,
        requirements: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Event:
        """Wait inside a step for an event of ``event_type`` (optionally matching fields).

        ``waiter_event`` (e.g. an InputRequiredEvent) is written to the stream first.
        """
        runner = self._require_runner()
        fut: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        runner.add_waiter(event_type, requirements or {}, fut)
        if waiter_event is not None:
            runner.write_to_stream(waiter_event)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            runner.remove_waiter(fut)

    def checkpoint(self, metadata: dict[str, Any] | None = None) -> None:
        """Take a checkpoint when the current step completes, labelled with ``metadata``.

        The checkpoint is taken even if the step's automatic checkpoints are disabled.
        """
        inv = CURRENT.get()
        if inv is None:
            raise FlowpointError("ctx.checkpoint() can only be called inside a running step")
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        inv.forced = True
        inv.metadata = {**(inv.metadata or {}), **(metadata or {})}

    @property
    def checkpoints(self) -> list[Any]:
        """Every checkpoint of every run that used this context, in order, start ones included."""
        return context_recording().checkpoints(self)

    def filter_checkpoints(self, **filters: Any) -> list[Any]:
        """This context's checkpoints matching every filter (as ``WorkflowCheckpointer``'s)."""
        return context_recording().filter_checkpoints(self, **filters)

    @property
    def is_running(self) -> bool:
        """True while the run this context belongs to has not ended."""
        return self._runner is not None and not self._runner.finished

    # --- snapshot / restore ----------------------------------------------------------------
    def snapshot(self, live_logs: bool = False) -> dict[str, Any]:
        """The run's state as plain data (events stay Event objects; the codec encodes them).

        ``live_logs``: the event log and accepted-events list themselves rather than copies,
        for a caller that reads them at once (copying a long log costs more than encoding it).
        """
        runner = self._runner
        queues = runner.queued_events() if runner else {}
        in_progress = runner.in_progress_events() if runner else {}
        return {
            "store": self.store.to_dict(),
            "queues": queues,
            "in_progress": in_progress,
            "collect_buffers": {s: {k: list(v) for k, v in b.items()} for s, b in self._collect.items()},
            "accepted_events": self._accepted if live_logs else list(self._accepted),
            "event_log": self._event_log if live_logs else list(self._event_log),
            "pending_input": runner.pending_input if runner else None,
            "is_running": self.is_running,
        }

    def restore(self, data: dict[str, Any]) -> dict[str, list[Event]]:
        """Load a snapshot; returns the events to re-queue per step (queued + in progress)."""
        self.store = StateStore(data.get("store") or {})
        self._collect = {s: {k: list(v) for k, v in b.items()}
                         for s, b in (data.get("collect_buffers") or {}).items()}
        self._event_log = list(data.get("event_log") or [])
        self._accepted = [list(a) for a in data.get("accepted_events") or []]
        requeue: dict[str, list[Event]] = {}
        for part in ("in_progress", "queues"):
            for step_name, events in (data.get(part) or {}).items():
                requeue.setdefault(step_name, []).extend(events)
        return requeue

    def _require_runner(self) -> Runner:
        if self._runner is None:
            raise FlowpointError("this context is not attached to a running workflow")
        return self._runner


@dataclass
class Waiter:
    """A step blocked in ``wait_for_event``."""

    event_type: type[Event]
    requirements: dict[str, Any]
    future: asyncio.Future[Event]
    order: int = field(default=0)

    def matches(self, ev: Event) -> bool:
        return isinstance(ev, self.event_type) and all(
            ev.get(k) == v for k, v in self.requirements.items()
        )
