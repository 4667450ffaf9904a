"""`Context`: the state of one run that steps see, and its snapshot / restore."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from ..errors import FlowpointError, WorkflowRuntimeError
from .events import Event, HumanResponseEvent, event_key
from .recording import context_recording
from .state import MissingStateKey, StateStore, lookup_state_type, state_key

if TYPE_CHECKING:
    from .runner import Runner
    from .serializers import BaseSerializer

__all__ = ["CURRENT", "Context", "Invocation", "MissingStateKey", "Waiter"]

_MISSING = object()
StateT = TypeVar("StateT", bound=BaseModel)


@dataclass
class Invocation:
    """One call of one step: what ``ctx.checkpoint`` records for the checkpoint taken after it."""

    step: str
    metadata: dict[str, Any] | None = None
    forced: bool = False
    held: list[Event] | None = None  # stepwise runs: events the step produced, not dispatched
    runner: Any = None


CURRENT: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar(
    "flowpoint_invocation", default=None
)


class Context(Generic[StateT]):
    """Per-run state: user store, collect buffers, event log; and the run's event plumbing.

    ``Context[MyState]`` in a step signature gives the run a typed state (``ctx.store.get_state()``).
    A context can be reused: ``wf.run(ctx=ctx)`` continues with its store.
    """

    def __init__(self, workflow: Any = None, stepwise: bool = False) -> None:
        self.workflow = workflow
        self.stepwise = stepwise
        self._store: StateStore | None = None
        self.run_id: str | None = None
        self._collect: dict[str, dict[str, list[Event]]] = {}
        self._event_log: list[Event] = []
        self._accepted: list[list[str]] = []
        self._runner: Runner | None = None
        self._resume: tuple[dict[str, list[Event]], Event | None] | None = None
        # before any run: events sent, streamed and waited for, handed to the run that starts
        self._early: list[tuple[Event, str | None]] = []
        self._early_stream: list[Event] = []
        self._early_waiters: list[Waiter] = []
        self._record = True  # wf.run(ctx=ctx) records checkpoints on it (the older API)

    # --- state -------------------------------------------------------------------------------
    @property
    def store(self) -> StateStore:
        """The run's state: ``await ctx.store.get(key)`` / ``set`` / ``get_state()`` ..."""
        if self._store is None:
            state_type = _declared_state_type(self.workflow)
            self._store = StateStore.typed(state_type) if state_type else StateStore()
        return self._store

    @store.setter
    def store(self, value: StateStore) -> None:
        self._store = value

    def _adopt_state_type(self, state_type: type[BaseModel] | None) -> None:
        """Give the store the workflow's typed state, built from its defaults on first use."""
        if state_type is None:
            return
        current = self.store
        if current.state_type is state_type:
            return
        if current.state_type is not None:
            raise FlowpointError(
                f"this context holds a {current.state_type.__name__} state; the workflow's steps "
                f"take Context[{state_type.__name__}]")
        self._store = StateStore.typed(state_type, current.to_dict())

    async def get(self, key: str, default: Any = _MISSING) -> Any:
        """Same as ``await ctx.store.get(key, default)`` (the LlamaIndex 0.10 spelling)."""
        return await self.store.get(key, default)

    async def set(self, key: str, value: Any) -> None:
        """Same as ``await ctx.store.set(key, value)``."""
        await self.store.set(key, value)

    # --- events ----------------------------------------------------------------------------
    def send_event(self, ev: Event, step: str | None = None) -> None:
        """Emit ``ev`` to the step that accepts its type (or only to ``step``).

        An event no step accepts is dropped, as upstream; a waiting ``wait_for_event`` may
        still take it. In a stepwise run, events sent by a step are returned by ``run_step()``.
        """
        if not isinstance(ev, Event):
            raise TypeError(f"send_event needs an Event, got {type(ev).__name__}")
        runner = self._runner
        if runner is None:
            self._send_early(ev, step)
            return
        inv = CURRENT.get()
        if inv is not None and inv.held is not None and inv.runner is runner:
            inv.held.append(ev)
            return
        runner.call_on_loop(runner.dispatch, ev, step)

    def _send_early(self, ev: Event, step: str | None) -> None:
        """An event sent before any run: checked, given to a waiter, or kept for the run."""
        steps = _steps_of(self.workflow)
        if step is not None and steps is not None:
            if step not in steps:
                raise WorkflowRuntimeError(f"Step {step} does not exist; steps are "
                                           f"{sorted(steps)}")
            if type(ev) not in steps[step].accepts:
                raise WorkflowRuntimeError(f"Step {step} does not accept event of type "
                                           f"{type(ev)}")
        for w in self._early_waiters:
            if not w.future.done() and w.matches(ev):
                w.future.set_result(ev)
                return
        self._early.append((ev, step))

    def write_event_to_stream(self, ev: Event) -> None:
        """Publish ``ev`` to ``handler.stream_events()`` (progress, prompts) without routing it."""
        runner = self._runner
        if runner is None:
            self._early_stream.append(ev)
            return
        runner.call_on_loop(runner.write_to_stream, ev)

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
        timeout: float | None = 2000,
    ) -> Any:
        """Wait inside a step for an event of ``event_type`` whose fields match ``requirements``;
        other events do not end the wait. ``waiter_event`` (e.g. an InputRequiredEvent) is
        written to the stream first. ``timeout`` seconds (None: forever) as upstream.
        """
        runner = self._runner
        fut: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        if runner is not None:
            runner.add_waiter(event_type, requirements or {}, fut)
        else:
            self._early_waiters.append(Waiter(event_type, requirements or {}, fut))
        if waiter_event is not None:
            self.write_event_to_stream(waiter_event)
        try:
            done, _ = await asyncio.wait({fut}, timeout=timeout)
            if not done:
                raise asyncio.TimeoutError(
                    f"no {event_type.__name__} arrived within {timeout} s (wait_for_event)")
            return fut.result()
        finally:
            if self._runner is not None:
                self._runner.remove_waiter(fut)
            self._early_waiters = [w for w in self._early_waiters if w.future is not fut]

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
    def _in_progress(self) -> dict[str, list[Event]]:
        """Events each step is working on now, by step (LlamaIndex's attribute)."""
        runner = self._runner
        return {n: list(evs) for n, evs in runner._in_progress.items()} if runner else {}

    @property
    def _accepted_events(self) -> list[tuple[str, str]]:
        """(step, event class name) of every event a step took (LlamaIndex's attribute)."""
        return [(step, key.rsplit(".", 1)[-1]) for step, key in self._accepted]

    @property
    def _event_buffers(self) -> dict[str, dict[str, list[Event]]]:
        """The ``collect_events`` buffers by step, then event type (LlamaIndex's attribute)."""
        return self._collect

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
        store = self.store
        snap = {
            "store": store.to_dict(),
            "queues": queues,
            "in_progress": in_progress,
            "collect_buffers": {s: {k: list(v) for k, v in b.items()} for s, b in self._collect.items()},
            "accepted_events": self._accepted if live_logs else list(self._accepted),
            "event_log": self._event_log if live_logs else list(self._event_log),
            "pending_input": runner.pending_input if runner else None,
            "is_running": self.is_running,
        }
        if store.state_type is not None:
            snap["state_type"] = state_key(store.state_type)
        return snap

    def restore(self, data: dict[str, Any]) -> dict[str, list[Event]]:
        """Load a snapshot; returns the events to re-queue per step (queued + in progress).

        A typed state is rebuilt only as a model the workflow declares or that is registered,
        never by importing the name stored with it.
        """
        values = data.get("store") or {}
        key = data.get("state_type")
        if key:
            cls = lookup_state_type(str(key), _declared_state_type(self.workflow))
            if cls is None:
                from ..errors import ContextSerdeError

                raise ContextSerdeError(
                    f"the stored context has a typed state {key!r}, but no loaded workflow "
                    f"declares Context[{str(key).rsplit('.', 1)[-1]}]; define it first")
            self._store = StateStore.typed(cls, dict(values))
        else:
            self._store = StateStore(values)
            self._adopt_state_type(_declared_state_type(self.workflow))
        self._collect = {s: {k: list(v) for k, v in b.items()}
                         for s, b in (data.get("collect_buffers") or {}).items()}
        self._event_log = list(data.get("event_log") or [])
        self._accepted = [list(a) for a in data.get("accepted_events") or []]
        requeue: dict[str, list[Event]] = {}
        for part in ("in_progress", "queues"):
            for step_name, events in (data.get(part) or {}).items():
                requeue.setdefault(step_name, []).extend(events)
        return requeue

    # --- dict round trip (LlamaIndex's Context.to_dict / from_dict) ---------------------------
    def to_dict(self, serializer: BaseSerializer | None = None) -> dict[str, Any]:
        """The whole context as a JSON-able dict: store, queued and in-progress events, buffers.

        ``Context.from_dict(workflow, data)`` in any process rebuilds it; ``wf.run(ctx=...)``
        then continues a run that was in flight (e.g. waiting for a human).
        """
        from .dictform import context_to_dict

        return context_to_dict(self, serializer)

    @classmethod
    def from_dict(cls, workflow: Any, data: dict[str, Any],
                  serializer: BaseSerializer | None = None) -> Context[Any]:
        """A context rebuilt from ``to_dict``'s data, for ``workflow``; raises
        ``ContextSerdeError`` for data of the wrong shape."""
        from .dictform import context_from_dict

        return context_from_dict(cls, workflow, data, serializer)

    def _require_runner(self) -> Runner:
        if self._runner is None:
            raise FlowpointError("this context is not attached to a running workflow")
        return self._runner

    def __repr__(self) -> str:
        return f"Context(run_id={self.run_id!r}, running={self.is_running})"


def _steps_of(workflow: Any) -> dict[str, Any] | None:
    try:
        return workflow.steps() if workflow is not None else None
    except Exception:  # an invalid workflow reports itself when it runs
        return None


def _declared_state_type(workflow: Any) -> type[BaseModel] | None:
    getter = getattr(workflow, "state_type", None)
    if getter is None:
        return None
    try:
        return getter()  # type: ignore[no-any-return]
    except Exception:  # an invalid workflow reports itself when it runs
        return None


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
