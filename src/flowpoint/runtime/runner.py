"""The run loop: a queue and workers per step, routing, bookkeeping for snapshots, and the hook."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from ..errors import WorkflowCancelledError, WorkflowRuntimeError, WorkflowTimeoutError
from .context import CURRENT, Context, Invocation, Waiter
from .events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent, event_key
from .step import StepSpec


class RunObserver(Protocol):
    """What the runtime tells a checkpointer. Calls are synchronous: a checkpoint is committed
    before the event it records is dispatched. An exception from a hook fails the run."""

    def on_start_event(self, runner: Runner, start_event: Event) -> None:
        """Called once before a StartEvent is emitted."""

    def on_step_done(
        self,
        runner: Runner,
        step: str,
        input_event: Event,
        output_event: Event | None,
        duration_s: float,
        invocation: Invocation,
    ) -> None:
        """Called when a step returns, before its output event is dispatched."""

    def on_status(self, runner: Runner, status: str, **info: Any) -> None:
        """running / waiting / completed (result=) / failed (error=) / cancelled / paused."""


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
    ) -> None:
        self.workflow = workflow
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
        self._queued = 0
        self._in_progress: dict[str, list[Event]] = {n: [] for n in steps}
        self._busy = 0
        self._waiters: list[Waiter] = []
        self._done: asyncio.Future[Any] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._routes = _routes_for(workflow, steps)
        ctx._runner = self
        ctx.run_id = run_id

    # --- bookkeeping read by Context.snapshot ------------------------------------------------
    def queued_events(self) -> dict[str, list[Event]]:
        return {n: list(q._queue) for n, q in self._queues.items() if q.qsize()}  # type: ignore[attr-defined]

    def in_progress_events(self) -> dict[str, list[Event]]:
        return {n: list(evs) for n, evs in self._in_progress.items() if evs}

    # --- routing -----------------------------------------------------------------------------
    def _targets(self, ev_type: type) -> list[str]:
        targets = self._routes.get(ev_type)
        if targets is None:
            targets = [n for n, s in self.steps.items() if issubclass(ev_type, s.accepts)]
            self._routes[ev_type] = targets
        return targets

    def _enqueue(self, name: str, ev: Event) -> None:
        """Queue ``ev`` for step ``name``, starting that step's workers on its first event."""
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = asyncio.Queue()
            spec = self.steps[name]
            loop = asyncio.get_running_loop()
            for _ in range(spec.num_workers):
                self._workers.append(loop.create_task(self._worker(spec, queue)))
        queue.put_nowait(ev)
        self._queued += 1

    def dispatch(self, ev: Event, only_step: str | None = None) -> None:
        """Emit an event: the StopEvent ends the run; others go to waiters or step queues."""
        if self.finished:
            return
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
        if only_step is not None:
            if only_step not in self.steps:
                raise WorkflowRuntimeError(f"send_event to unknown step {only_step!r}; "
                                           f"steps are {sorted(self.steps)}")
            targets = [only_step]
        else:
            targets = self._targets(type(ev))
        if not targets and not isinstance(ev, InputRequiredEvent):
            raise WorkflowRuntimeError(
                f"no step accepts {type(ev).__name__} ({event_key(type(ev))}); steps accept: "
                + ", ".join(f"{n}: {[t.__name__ for t in s.accepts]}" for n, s in self.steps.items())
            )
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
        """Run until a StopEvent (its ``result`` is returned), an error, timeout or cancel."""
        loop = asyncio.get_running_loop()
        self._done = loop.create_future()
        try:
            for name, events in (requeue or {}).items():
                for ev in events:
                    self._enqueue(name, ev)
            if isinstance(first_event, StartEvent) and self.observer is not None:
                self.observer.on_start_event(self, first_event)
            if first_event is not None and self.paused_before is None:
                self.dispatch(first_event)
            self._check_idle()
            stop = await asyncio.wait_for(asyncio.shield(self._done), self.timeout)
        except asyncio.TimeoutError:
            if self._done.done() and self._done.exception() is not None:
                err = self._done.exception()  # a step's own TimeoutError, not the run's
                await self._stop_workers()
                self._end("failed", error=err)
                raise err from None
            err = WorkflowTimeoutError(f"run {self.run_id} did not finish within its timeout of "
                                       f"{self.timeout} s (pass timeout=None to wait forever)")
            await self._stop_workers()
            self._end("failed", error=err)
            raise err from None
        except asyncio.CancelledError:
            await self._stop_workers()
            self._end("cancelled")
            raise WorkflowCancelledError(f"run {self.run_id} was cancelled") from None
        except BaseException as exc:
            await self._stop_workers()
            self._end("failed", error=exc)
            raise
        await self._stop_workers()
        if stop is _PAUSED:
            self._end("paused", before_step=self.paused_before)
            return None
        self._end("completed", result=stop.result, stop_event=stop)
        return stop.result

    def _end(self, status: str, **info: Any) -> None:
        self.finished = True
        self.pending_input = None
        self._set_status(status, **info)
        self.stream.put_nowait(info.get("stop_event") or _END)

    async def _stop_workers(self) -> None:
        workers, self._workers = self._workers, []
        for t in workers:
            t.cancel()
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)

    def _check_idle(self) -> None:
        """A run with no queued or running work and no StopEvent is waiting or stuck."""
        if self._busy or self._queued or self.finished or self.paused_before is not None:
            return
        if self.pending_input is not None or self._waiters:
            self._set_status("waiting")
            return
        self._finish(error=WorkflowRuntimeError(
            f"run {self.run_id} stalled: no step has work left and no StopEvent was returned "
            f"(a step returned None with nothing else in flight?)"))

    async def _worker(self, spec: StepSpec, queue: asyncio.Queue[Event]) -> None:
        in_progress = self._in_progress[spec.name]
        try:
            bound: Callable[..., Any] = (spec.func.__get__(self.workflow, type(self.workflow))
                                         if spec.is_method else spec.func)
        except Exception as exc:  # a broken step must fail the run, never hang it
            self._finish(error=exc)
            return
        while True:
            ev = await queue.get()
            self._queued -= 1
            in_progress.append(ev)
            self._busy += 1
            self.ctx._accepted.append([spec.name, event_key(type(ev))])
            inv = Invocation(spec.name)
            token = CURRENT.set(inv)
            kwargs: dict[str, Any] = {spec.event_param: ev}  # type: ignore[dict-item]
            if spec.ctx_param:
                kwargs[spec.ctx_param] = self.ctx
            started = time.perf_counter()
            try:
                out = await self._call(spec, bound, kwargs)
                duration = time.perf_counter() - started
                self._remove(in_progress, ev)
                if out is not None and not isinstance(out, Event):
                    raise WorkflowRuntimeError(f"step {spec.name!r} returned "
                                               f"{type(out).__name__}, not an Event or None")
                if self.observer is not None:
                    self.observer.on_step_done(self, spec.name, ev, out, duration, inv)
                if out is not None and self.paused_before is None:
                    self.dispatch(out)
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
            self._check_idle()

    async def _call(self, spec: StepSpec, bound: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        attempts = 0
        first = time.monotonic()
        while True:
            try:
                return await bound(**kwargs)
            except Exception as exc:
                attempts += 1
                policy = spec.retry_policy
                delay = policy.next(time.monotonic() - first, attempts, exc) if policy else None
                if delay is None:
                    raise
                await asyncio.sleep(delay)

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
