"""The run loop: a queue and workers per step, routing, bookkeeping for snapshots, and the hook."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from ..errors import (
    ContextSerdeError,
    WorkflowCancelledByUser,
    WorkflowRuntimeError,
    WorkflowTimeoutError,
)
from .context import CURRENT, Context, Invocation, Waiter
from .events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent, event_key
from .observer import RunObserver
from .retry import call_with_retries
from .step import StepSpec


class Runner:
    """Drives one run of a workflow on the running asyncio loop."""

    def __init__(
        self,
        workflow: Any,
        steps: dict[str, StepSpec],
        ctx: Context,
        run_id: str,
        timeout: float | None,
        observer: RunObserver | None = None,
        stepwise: bool = False,
        resume_input: Event | None = None,
    ) -> None:
        self.workflow = workflow
        self.stepwise = stepwise
        self.resume_input = resume_input  # a prompt a restored run was waiting on
        self.dropped: str | None = None  # the last event type no step accepted
        self.steps = steps
        self.ctx = ctx
        self.run_id = run_id
        self.timeout = timeout
        self.observer = observer
        self.finished = False
        self.status = "running"
        self.pending_input: Event | None = None
        self.paused_before: str | None = None
        self.failed_step: str | None = None  # the step whose exception failed the run
        self.stream: asyncio.Queue[Any] = asyncio.Queue()
        self._queues: dict[str, asyncio.Queue[Event]] = {}
        self._started: dict[str, int] = {}  # workers started, by step
        self._queued = 0
        self._in_progress: dict[str, list[Event]] = {n: [] for n in steps}
        self._busy = 0
        self._waiters: list[Waiter] = []
        self._done: asyncio.Future[Any] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = False  # its workers are being stopped: nothing more is dispatched
        self._routes = _routes_for(workflow, steps)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        ctx._runner = self
        ctx.run_id = run_id

    # --- bookkeeping read by Context.snapshot ------------------------------------------------
    def queued_events(self) -> dict[str, list[Event]]:
        if not self._queued:  # counts what is in the queues: nothing to look at
            return {}
        return {n: list(q._queue) for n, q in self._queues.items() if q.qsize()}  # type: ignore[attr-defined]

    def in_progress_events(self) -> dict[str, list[Event]]:
        return {n: list(evs) for n, evs in self._in_progress.items() if evs}

    # --- routing -----------------------------------------------------------------------------
    def _targets(self, ev_type: type) -> list[str]:
        """Steps taking exactly this type (as upstream, a step taking ``Base`` gets no ``Child``)."""
        targets = self._routes.get(ev_type)
        if targets is None:
            targets = [n for n, s in self.steps.items() if ev_type in s.accepts]
            self._routes[ev_type] = targets
        return targets

    def call_on_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn`` on the run's loop: at once there, or scheduled from a ``def`` step's thread."""
        if self._loop is None or self._thread is None or threading.get_ident() == self._thread:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

    def _enqueue(self, name: str, ev: Event) -> None:
        """Queue ``ev`` for step ``name``. A step's workers start as its events need them: one
        more (up to ``num_workers``) whenever no worker of it is idle, so a run of a long chain
        starts one worker per step, not ``num_workers``."""
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = asyncio.Queue()
            self._started[name] = 0
        if not queue._getters and not self.stepwise:  # type: ignore[attr-defined]
            spec = self.steps[name]  # (a waiting getter is an idle worker, woken by put_nowait)
            if self._started[name] < spec.num_workers:
                self._started[name] += 1
                self._workers.append(asyncio.get_running_loop().create_task(
                    self._worker(spec, queue)))
        queue.put_nowait(ev)
        self._queued += 1

    def dispatch(self, ev: Event, only_step: str | None = None) -> None:
        """Emit an event: the StopEvent ends the run; others go to waiters or step queues."""
        if self.finished:
            return
        if only_step is not None and only_step not in self.steps:
            raise WorkflowRuntimeError(f"Step {only_step} does not exist; steps are "
                                       f"{sorted(self.steps)}")
        if only_step is not None and type(ev) not in self.steps[only_step].accepts:
            raise WorkflowRuntimeError(f"Step {only_step} does not accept event of type "
                                       f"{type(ev)}; it accepts "
                                       f"{[t.__name__ for t in self.steps[only_step].accepts]}")
        self.ctx._event_log.append(ev)
        if isinstance(ev, StopEvent):
            self._finish(result=ev)
            return
        if isinstance(ev, HumanResponseEvent) or not isinstance(ev, InputRequiredEvent):
            for w in self._waiters:
                if not w.future.done() and w.matches(ev):
                    w.future.set_result(ev)
                    self.pending_input = None
                    self._set_status("running")
                    return
        if isinstance(ev, InputRequiredEvent):
            self.pending_input = ev
            self.write_to_stream(ev)
        elif self.pending_input is not None and isinstance(ev, HumanResponseEvent):
            self.pending_input = None
        targets = [only_step] if only_step is not None else self._targets(type(ev))
        if not targets and not isinstance(ev, InputRequiredEvent):
            self.dropped = event_key(type(ev))  # no step takes it: dropped, as upstream
        for name in targets:
            self._enqueue(name, ev)
        if targets and self.status == "waiting":
            self._set_status("running")

    def write_to_stream(self, ev: Event) -> None:
        self.stream.put_nowait(ev)

    def add_waiter(self, event_type: type[Event], requirements: dict[str, Any],
                   fut: asyncio.Future[Event]) -> None:
        self._waiters.append(Waiter(event_type, requirements, fut))
        self._set_status("waiting")

    def remove_waiter(self, fut: asyncio.Future[Event]) -> None:
        self._waiters = [w for w in self._waiters if w.future is not fut]

    # --- lifecycle -----------------------------------------------------------------------------
    def _set_status(self, status: str, **info: Any) -> None:
        if status == self.status and not info:
            return
        self.status = status
        if self.observer is not None:
            self.observer.on_status(self, status, **info)

    def pause(self, before_step: str) -> None:
        """Stop the run, status "paused", before the event of the current hook is dispatched.

        Called by an observer from ``on_start_event`` / ``on_step_done`` (a breakpoint); the run's
        last checkpoint holds everything needed to continue it later.
        """
        self.paused_before = before_step
        self._finish(result=_PAUSED)

    def _finish(self, result: Any = None, error: BaseException | None = None) -> None:
        if self._done is None or self._done.done():
            return
        if error is not None:
            self._done.set_exception(error)
        else:
            self._done.set_result(result)

    async def run(self, first_event: Event | None, requeue: dict[str, list[Event]] | None = None) -> Any:
        """Run until a StopEvent (its ``result`` is returned, or the event itself for a StopEvent
        subclass), an error, timeout or cancel."""
        loop = self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._done = loop.create_future()
        slot = getattr(self.workflow, "_run_slot", None)
        sem = slot() if slot is not None else None
        if sem is not None:
            try:
                await sem.acquire()
            except asyncio.CancelledError:
                self._end("cancelled")
                raise WorkflowCancelledByUser(f"run {self.run_id} was cancelled") from None
        try:
            return await self._run(first_event, requeue)
        finally:
            if sem is not None:
                sem.release()

    async def _run(self, first_event: Event | None, requeue: dict[str, list[Event]] | None) -> Any:
        try:
            self._adopt_state()
            if self.resume_input is not None:
                self.pending_input = self.resume_input
                self.write_to_stream(self.resume_input)
            for name, events in (requeue or {}).items():
                for ev in events:
                    self._enqueue(name, ev)
            if isinstance(first_event, StartEvent) and self.observer is not None:
                pending = self.observer.on_start_event(self, first_event)
                if pending is not None:
                    await pending  # committed with other runs' checkpoints before dispatch
            if first_event is not None and self.paused_before is None:
                self.dispatch(first_event)
            self._take_early()
            self._check_idle()
            stop = await asyncio.wait_for(asyncio.shield(self._done), self.timeout)
        except asyncio.TimeoutError:
            if self._done.done() and self._done.exception() is not None:
                err = self._done.exception()  # a step's own TimeoutError, not the run's
                await self._stop_workers()
                self._end("failed", error=err)
                raise err from None
            err = WorkflowTimeoutError(f"Operation timed out after {self.timeout} seconds: run "
                                       f"{self.run_id} did not finish within its timeout (pass "
                                       f"timeout=None to wait forever)")
            await self._stop_workers()
            self._end("failed", error=err)
            raise err from None
        except asyncio.CancelledError:
            await self._stop_workers()
            self._end("cancelled")
            raise WorkflowCancelledByUser(f"run {self.run_id} was cancelled") from None
        except BaseException as exc:
            await self._stop_workers()
            self._end("failed", error=exc)
            raise
        await self._stop_workers()
        if stop is _PAUSED:
            self._end("paused", before_step=self.paused_before)
            return None
        result = stop.result if type(stop) is StopEvent else stop
        self._end("completed", result=result, stop_event=stop)
        return result

    def _take_early(self) -> None:
        """Hand on what was sent, streamed or awaited on the context before this run began."""
        ctx = self.ctx
        streamed, ctx._early_stream = ctx._early_stream, []
        for ev in streamed:
            self.write_to_stream(ev)
        waiters, ctx._early_waiters = ctx._early_waiters, []
        self._waiters.extend(w for w in waiters if not w.future.done())
        early, ctx._early = ctx._early, []
        for ev, step in early:
            self.dispatch(ev, step)

    def _adopt_state(self) -> None:
        getter = getattr(self.workflow, "state_type", None)
        try:
            self.ctx._adopt_state_type(getter() if getter is not None else None)
        except ContextSerdeError as exc:
            raise WorkflowRuntimeError(f"Failed to initialize the state of this run: {exc}. Does "
                                       f"your state define defaults for all fields?") from None

    def _end(self, status: str, **info: Any) -> None:
        self.finished = True
        self.pending_input = None
        self._set_status(status, **info)
        self.stream.put_nowait(info.get("stop_event") or _END)

    async def _stop_workers(self) -> None:
        """Cancel every worker and wait for them; cancel again any that swallowed a cancel
        (``wait_for`` can, when its awaited result arrives in the same tick)."""
        self._stopping = True
        pending = set(self._workers)
        self._workers = []
        while pending:
            for t in pending:
                t.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.5)

    def _check_idle(self) -> None:
        """A run with no queued or running work and no StopEvent is waiting or stuck."""
        if (self._busy or self._queued or self.finished or self.paused_before is not None
                or self.stepwise):
            return
        if self.pending_input is not None or self._waiters:
            self._set_status("waiting")
            return
        dropped = (f"; the last event no step accepts, {self.dropped}, was dropped"
                   if self.dropped else "")
        self._finish(error=WorkflowRuntimeError(
            f"run {self.run_id} stalled: no step has work left and no StopEvent was returned "
            f"(a step returned None with nothing else in flight?){dropped}"))

    def _bind(self, spec: StepSpec) -> Callable[..., Any]:
        return (spec.func.__get__(self.workflow, type(self.workflow)) if spec.is_method
                else spec.func)

    async def _worker(self, spec: StepSpec, queue: asyncio.Queue[Event]) -> None:
        try:
            bound = self._bind(spec)
        except Exception as exc:  # a broken step must fail the run, never hang it
            self._finish(error=exc)
            return
        while True:
            ev = await queue.get()
            self._queued -= 1
            await self._execute(spec, bound, ev)
            self._check_idle()

    async def _execute(self, spec: StepSpec, bound: Callable[..., Any], ev: Event,
                       held: list[Event] | None = None) -> None:
        """Run one step on one event: bookkeeping, the hook, then dispatch (or hold) its output."""
        in_progress = self._in_progress[spec.name]
        in_progress.append(ev)
        self._busy += 1
        self.ctx._accepted.append([spec.name, event_key(type(ev))])
        inv = Invocation(spec.name, held=held, runner=self)
        token = CURRENT.set(inv)
        kwargs: dict[str, Any] = {spec.event_param: ev}  # type: ignore[dict-item]
        if spec.ctx_param:
            kwargs[spec.ctx_param] = self.ctx
        for name, _cls, default in spec.services:
            kwargs[name] = self.workflow.get_service(name, default)
        started = time.perf_counter()
        try:
            out = await call_with_retries(bound, kwargs, spec.is_async, spec.retry_policy)
            duration = time.perf_counter() - started
            if out is not None and not isinstance(out, Event):
                raise WorkflowRuntimeError(f"Step function {spec.name} returned "
                                           f"{type(out).__name__} instead of an Event instance.")
            self._remove(in_progress, ev)
            pending = None
            if self.observer is not None:
                pending = self.observer.on_step_done(self, spec.name, ev, out, duration, inv)
            if pending is None:
                self._emit(out, held)
            else:
                pending.on_commit(functools.partial(self._emit_committed, out, held))
                await pending
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._remove(in_progress, ev)
            if self.failed_step is None:
                self.failed_step = spec.name
            self._finish(error=exc)
        finally:
            CURRENT.reset(token)
            self._busy -= 1

    def _emit(self, out: Event | None, held: list[Event] | None) -> None:
        if out is not None and held is not None:
            held.append(out)
        elif out is not None and self.paused_before is None:
            self.dispatch(out)

    def _emit_committed(self, out: Event | None, held: list[Event] | None) -> None:
        """The output of a step whose checkpoint was committed later, with other runs': out
        right after that commit, unless the run ended meanwhile."""
        if held is None and (self._stopping or self._done is not None and self._done.done()):
            return
        self._emit(out, held)

    # --- stepwise ------------------------------------------------------------------------------
    async def run_step(self) -> list[Event] | None:
        """One round of a stepwise run (see ``stepwise.run_round``)."""
        from .stepwise import run_round

        return await run_round(self)

    @staticmethod
    def _remove(items: list[Event], ev: Event) -> None:
        for i, x in enumerate(items):
            if x is ev:
                del items[i]
                return


_END = object()
_PAUSED = object()
_ROUTES: weakref.WeakKeyDictionary[type, tuple[dict[str, StepSpec], dict[type, list[str]]]] = (
    weakref.WeakKeyDictionary())


def _routes_for(workflow: Any, steps: dict[str, StepSpec]) -> dict[type, list[str]]:
    """The event type → steps routing table, shared by every run of one workflow class."""
    cached = _ROUTES.get(type(workflow))
    if cached is None or cached[0] is not steps:
        cached = (steps, {})
        _ROUTES[type(workflow)] = cached
    return cached[1]
