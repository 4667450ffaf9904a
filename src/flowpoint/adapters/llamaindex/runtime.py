"""A runtime decorator that watches a 2.x run's ticks and commits flowpoint checkpoints.

The control loop calls ``on_tick`` after reducing a tick and before running the commands it
produced, so a checkpoint taken at a step's result tick is committed before that step's output
event is dispatched. The checkpoint holds the control loop's state at that moment in the
runtime's own snapshot format (``Context.from_dict`` resumes it): the step's output is a pending
delivery in it, work in flight is re-run, and its size follows the work in flight, not the run's
length (no tick journal is kept or replayed).
"""

from __future__ import annotations

import sys
import weakref
from typing import Any

from workflows.events import (
    HumanResponseEvent,
    InputRequiredEvent,
    StopEvent,
    WorkflowFailedEvent,
)
from workflows.runtime.runtime_decorators import (
    BaseInternalRunAdapterDecorator,
    BaseRuntimeDecorator,
)
from workflows.runtime.types.internal_state import BrokerState
from workflows.runtime.types.plugin import InternalRunAdapter, Runtime
from workflows.runtime.types.results import AddWaiter, StepWorkerResult
from workflows.runtime.types.ticks import TickAddEvent, TickStepResult

from ...errors import FlowpointError, SerializationError
from ...storage.contentstore import compact_text, joined_text
from ...storage.records import EncodedState
from .eventtext import EventTexts
from .idletext import idle_context_text
from .loopstate import busy, loop_context
from .snapshot import broker_view, inline_store, state_of, store_state_of
from .split import StoreSplit, split_snapshot, worth_splitting
from .types import TypeRegistry
from .version import SUPPORTED, installed_version


class RunWatch:
    """One checkpointed run: the control loop it reads, its open prompt, its checkpoints."""

    def __init__(self, recorder: Any, registry: TypeRegistry, is_enabled: Any,
                 pending_input: Any = None) -> None:
        self.recorder = recorder
        self.registry = registry
        self.is_enabled = is_enabled
        self.pending_input = pending_input
        self.adapter: InternalRunAdapter | None = None
        self.wrapped: InternalRunAdapter | None = None  # the adapter the run's loop is given
        self._loop: weakref.ref[Any] | None = None  # the control loop, once a tick shows it
        self._before: BrokerState | None = None  # the state before this tick was reduced
        self._after: BrokerState | None = None
        self._texts = EventTexts(registry.serializer)
        splitter = getattr(recorder, "splitter", None)
        self._split = StoreSplit(splitter, registry) if splitter is not None else None

    def on_tick(self, tick: Any, loop_runner: Any) -> None:
        if loop_runner is not None:
            self._loop = weakref.ref(loop_runner)
        self._before, self._after = self._after, self.broker()
        if isinstance(tick, TickStepResult):
            self._step_result(tick)
        elif isinstance(tick, TickAddEvent) and isinstance(tick.event, HumanResponseEvent):
            if self.pending_input is not None:
                self.pending_input = None
                self.recorder.on_status(None, "running")

    def _step_result(self, tick: TickStepResult) -> None:
        step = str(tick.step_id)
        done = None
        for r in tick.result:
            if isinstance(r, StepWorkerResult):
                done = r
                break
        if done is None:
            for r in tick.result:
                if isinstance(r, AddWaiter) and isinstance(r.waiter_event, InputRequiredEvent):
                    self._prompt(r.waiter_event)
            return
        duration = self._duration(tick)
        if self.is_enabled(step):
            # a plain StopEvent's result is what the run's handler returns: the run's end
            self.recorder.record(step, tick.event, done.result, duration, {},
                                 lambda encode: self.snapshot(encode, done.result),
                                 ends_run=type(done.result) is StopEvent)
        if isinstance(done.result, InputRequiredEvent):
            self._prompt(done.result)

    def _duration(self, tick: TickStepResult) -> float | None:
        """Seconds from the step's dispatch (its in-progress record before this tick) to its
        result, both stamped by the runtime's clock."""
        worker = self._before.workers.get(tick.step_id) if self._before is not None else None
        for run in worker.in_progress if worker is not None else ():
            if run.invocation_id == tick.invocation_id and tick.stamped_at is not None:
                return max(0.0, tick.stamped_at - run.first_attempt_at)
        return None

    def _prompt(self, ev: Any) -> None:
        self.pending_input = ev
        self.recorder.on_status(None, "waiting")

    def broker(self) -> BrokerState | None:
        """The control loop's current state (read, never changed), if it could be reached."""
        loop_runner = self._loop() if self._loop is not None else None
        state = getattr(loop_runner, "state", None)
        return state if isinstance(state, BrokerState) else None

    def snapshot(self, encode: Any, output: Any) -> dict[str, Any] | EncodedState:
        """The checkpoint's ctx_state: user state, work in flight, the prompt, and the runtime's
        own snapshot of the control loop (``context``) that a resume starts from; split for
        the store as it is taken when the run's store takes that."""
        broker = self._after  # read at this tick, before the checkpoint was asked for
        if broker is None:
            raise FlowpointError(
                f"cannot read the control loop state of llama-index-workflows "
                f"{installed_version()}; flowpoint supports {SUPPORTED}")
        store = self.adapter.get_state_store() if self.adapter is not None else None
        model = state_of(store, self.registry)
        steps = busy(broker)
        if not steps and self._split is not None and self.pending_input is None:
            idle = self._idle(broker, model, output)
            if idle is not None:
                return idle
        out: dict[str, Any] = {"store": None}
        if steps:
            out.update(broker_view(steps, encode))
        else:
            out.update(queues={}, in_progress={}, collect_buffers={}, waiters=[])
        out["pending_input"] = encode(self.pending_input)
        out["is_running"] = not isinstance(output, StopEvent)
        # the output's delivery without its text: the checkpoint's output event is put back
        out["context"], out["output_delivery"] = loop_context(broker, self._texts, steps, output)
        self._texts.done()
        if self._split is not None and worth_splitting(model, self.registry):
            try:
                return split_snapshot(out, model, self._split)
            except (SerializationError, TypeError, ValueError, RecursionError):
                self._split.reset()  # the whole state below reports what is wrong
        out["store"] = store_state_of(model, self.registry)
        return out

    def _idle(self, broker: BrokerState, model: Any, output: Any) -> EncodedState | None:
        """The snapshot of a run with no work in flight and no open prompt, as the text the
        store keeps, not walked again to be split: written directly, it holds no key of the
        content store's own, a ctx.store the content store keeps as it is, and only short event
        texts of deliveries (the next checkpoint no longer holds them). None if that does not
        apply."""
        cached = self.registry.state_cache.of(model) if model is not None else None
        if cached is not None and cached.split is False and type(cached.inline) is str:
            store_text = cached.inline  # the state is the one of the previous checkpoint
        else:
            if worth_splitting(model, self.registry):
                return None
            store_text = inline_store(model, self.registry)
            if store_text is None:
                return None
        made = idle_context_text(broker, self._texts, output)
        if made is None:
            return None
        self._texts.done()
        context, index = made
        text = joined_text("".join((
            '{"store":', store_text, _IDLE_VIEWS,
            "false" if isinstance(output, StopEvent) else "true", ',"context":', context,
            ',"output_delivery":', "null" if index is None else str(index), "}")))

        def rebuild() -> EncodedState:
            return encoded

        encoded = EncodedState.of_text(text, {}, frozenset(), rebuild)
        return encoded


def _start() -> dict[str, Any]:
    return {"store": {}, "queues": {}, "in_progress": {}, "collect_buffers": {}, "waiters": [],
            "pending_input": None, "is_running": False}


_START_TEXT = compact_text(_start())


def start_state(as_stored: bool) -> dict[str, Any] | EncodedState:
    """The state of a run's start checkpoint (before the StartEvent: nothing yet); given as the
    text the store keeps if the run's store takes that (``as_stored``)."""
    if not as_stored:
        return _start()

    def rebuild() -> EncodedState:
        return encoded

    encoded = EncodedState.of_text(_START_TEXT, {}, frozenset(), rebuild)
    return encoded


# the parts of a snapshot with no work in flight, between its store and its is_running
_IDLE_VIEWS = (',"queues":{},"in_progress":{},"collect_buffers":{},"waiters":[],'
               '"pending_input":null,"is_running":')


_HOT = ("get_now", "send_event", "wait_receive", "write_to_event_stream", "wait_for_next_task",
        "after_tick", "finalize_step")


class _WatchedAdapter(BaseInternalRunAdapterDecorator):
    run_id = ""  # the run's id, read by the control loop at every tick: kept, not forwarded

    def __init__(self, decorated: InternalRunAdapter, watch: RunWatch) -> None:
        super().__init__(decorated)
        self._watch = watch
        self.run_id = decorated.run_id
        watch.adapter = decorated
        for name in _HOT:  # called per loop iteration: straight to the runtime's own adapter
            setattr(self, name, getattr(decorated, name))
        self._inner_on_tick = decorated.on_tick

    def on_tick(self, tick: Any) -> Any:
        """Take the tick's checkpoint now (the control loop awaits this right after reducing
        the tick), then give the runtime's own ``on_tick`` to await: no coroutine of ours per
        tick."""
        watch = self._watch
        # the control loop that reduced the tick (it stays the same for the run)
        ref = watch._loop
        caller = sys._getframe(1).f_locals.get("self") if ref is None or ref() is None else None
        try:
            watch.on_tick(tick, caller)
        except Exception as exc:  # a checkpoint that cannot be stored fails the run loudly
            watch.error = exc
            return self._failed(tick, exc)
        return self._inner_on_tick(tick)

    async def _failed(self, tick: Any, exc: Exception) -> None:
        # as a failed step does: the stream ends with it, not waiting for events forever
        failed = WorkflowFailedEvent(step_name=str(getattr(tick, "step_id", "") or ""),
                                     exception=exc)
        await self._decorated.write_to_event_stream(failed)
        raise exc


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
        if watch is None:
            return inner
        # every step's context asks for one: the run's adapters all act on the run's queues,
        # so the first one, wrapped, serves them all
        wrapped = watch.wrapped
        if wrapped is None:
            wrapped = watch.wrapped = _WatchedAdapter(inner, watch)
        return wrapped


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
