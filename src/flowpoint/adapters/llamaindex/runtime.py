"""A runtime decorator that watches a 2.x run's ticks and commits flowpoint checkpoints.

The control loop calls ``on_tick`` after reducing a tick and before running the commands it
produced, so a checkpoint taken at a step's result tick is committed before that step's output
event is dispatched. Every tick is also kept (encoded once) as the run's journal: the basic
runtime rebuilds a context from it, which is how a run resumes from any checkpoint.
"""

from __future__ import annotations

import sys
import time
import weakref
from typing import Any

from workflows.events import HumanResponseEvent, InputRequiredEvent, StopEvent
from workflows.runtime.runtime_decorators import (
    BaseInternalRunAdapterDecorator,
    BaseRuntimeDecorator,
)
from workflows.runtime.types.internal_state import BrokerState
from workflows.runtime.types.named_task import PendingWorker
from workflows.runtime.types.plugin import InternalRunAdapter, Runtime, WaitForNextTaskResult
from workflows.runtime.types.results import AddWaiter, StepWorkerResult
from workflows.runtime.types.ticks import TickAddEvent, TickStepResult

from .snapshot import broker_view, store_state
from .types import TypeRegistry


class RunWatch:
    """What one checkpointed run records: its journal, the pending prompt, step timings."""

    def __init__(self, recorder: Any, registry: TypeRegistry, is_enabled: Any,
                 journal: list[str] | None = None, pending_input: Any = None) -> None:
        self.recorder = recorder
        self.registry = registry
        self.is_enabled = is_enabled
        self.journal: list[str] = list(journal or [])
        self.pending_input = pending_input
        self.started: dict[tuple[str, int], float] = {}
        self.adapter: InternalRunAdapter | None = None
        self._loop: weakref.ref[Any] | None = None
        self.error: BaseException | None = None

    def on_tick(self, tick: Any, loop_runner: Any) -> None:
        if self._loop is None and loop_runner is not None:
            self._loop = weakref.ref(loop_runner)
        self.journal.append(self.registry.serializer.serialize(tick))
        if isinstance(tick, TickStepResult):
            self._step_result(tick)
        elif isinstance(tick, TickAddEvent) and isinstance(tick.event, HumanResponseEvent):
            if self.pending_input is not None:
                self.pending_input = None
                self.recorder.on_status(None, "running")

    def _step_result(self, tick: TickStepResult) -> None:
        step = str(tick.step_id)
        done = next((r for r in tick.result if isinstance(r, StepWorkerResult)), None)
        if done is None:
            for r in tick.result:
                if isinstance(r, AddWaiter) and isinstance(r.waiter_event, InputRequiredEvent):
                    self._prompt(r.waiter_event)
            return
        started = self.started.pop((step, tick.worker_id), None)
        duration = time.perf_counter() - started if started is not None else None
        if self.is_enabled(step):
            self.recorder.record(step, tick.event, done.result, duration, {},
                                 lambda encode: self.snapshot(encode, done.result))
        if isinstance(done.result, InputRequiredEvent):
            self._prompt(done.result)

    def _prompt(self, ev: Any) -> None:
        self.pending_input = ev
        self.recorder.on_status(None, "waiting")

    def broker(self) -> BrokerState | None:
        """The control loop's current state (read, never changed), if it could be reached."""
        loop_runner = self._loop() if self._loop is not None else None
        state = getattr(loop_runner, "state", None)
        return state if isinstance(state, BrokerState) else None

    def snapshot(self, encode: Any, output: Any) -> dict[str, Any]:
        """The checkpoint's ctx_state: user state, work in flight, prompt, and the journal."""
        store = self.adapter.get_state_store() if self.adapter is not None else None
        out: dict[str, Any] = {"store": store_state(store, self.registry)}
        broker = self.broker()
        out.update(broker_view(broker, encode))
        out["pending_input"] = encode(self.pending_input)
        out["is_running"] = not isinstance(output, StopEvent)
        out["journal"] = list(self.journal)
        return out


class _WatchedAdapter(BaseInternalRunAdapterDecorator):
    def __init__(self, decorated: InternalRunAdapter, watch: RunWatch) -> None:
        super().__init__(decorated)
        self._watch = watch
        watch.adapter = decorated

    async def on_tick(self, tick: Any) -> None:
        caller = sys._getframe(1).f_locals.get("self")  # the control loop that reduced the tick
        try:
            self._watch.on_tick(tick, caller)
        except BaseException as exc:  # a checkpoint that cannot be stored fails the run loudly
            self._watch.error = exc
            raise
        await super().on_tick(tick)

    async def wait_for_next_task(self, running: list[Any], pending: list[Any],
                                 timeout: float | None = None) -> WaitForNextTaskResult:
        now = time.perf_counter()
        for p in pending:
            if isinstance(p, PendingWorker):
                self._watch.started[(str(p.step_id), p.worker_id)] = now
        return await super().wait_for_next_task(running, pending, timeout)


class CheckpointRuntime(BaseRuntimeDecorator):
    """Wraps a workflow's runtime; runs registered with ``watch`` are recorded, others pass."""

    def __init__(self, decorated: Runtime) -> None:
        super().__init__(decorated)
        self._watches: dict[str, RunWatch] = {}

    def watch(self, run_id: str, watch: RunWatch) -> None:
        self._watches[run_id] = watch

    def unwatch(self, run_id: str) -> None:
        self._watches.pop(run_id, None)

    def get_internal_adapter(self, workflow: Any) -> InternalRunAdapter:
        inner = self._decorated.get_internal_adapter(workflow)
        watch = self._watches.get(inner.run_id)
        return inner if watch is None else _WatchedAdapter(inner, watch)


_RUNTIMES: weakref.WeakKeyDictionary[Any, CheckpointRuntime] = weakref.WeakKeyDictionary()


def checkpoint_runtime(workflow: Any) -> CheckpointRuntime:
    """The workflow's runtime, wrapped once so its runs can be recorded (behaviour unchanged)."""
    current = workflow.runtime
    if isinstance(current, CheckpointRuntime):
        return current
    wrapped = _RUNTIMES.get(current)
    if wrapped is None:
        wrapped = _RUNTIMES[current] = CheckpointRuntime(current)
    locked = workflow._runtime_locked
    workflow._runtime_locked = False  # the wrapper forwards every call: safe after a run too
    try:
        workflow._switch_runtime(wrapped)
    finally:
        workflow._runtime_locked = locked
    return wrapped


def basic_runtime_of(runtime: Any) -> Any:
    """The BasicRuntime under any decorators (it replays journals), or None."""
    from workflows.plugins.basic import BasicRuntime

    while runtime is not None and not isinstance(runtime, BasicRuntime):
        runtime = getattr(runtime, "_decorated", None)
    return runtime
