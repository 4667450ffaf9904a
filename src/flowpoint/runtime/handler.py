"""`WorkflowHandler`: what `run()` returns at once — awaitable, streamable, cancellable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator
from typing import Any

from ..errors import WorkflowRuntimeError
from .context import Context
from .events import Event, StopEvent
from .runner import _END, Runner

_UNSET = object()


class WorkflowHandler:
    """A running workflow: ``await handler`` gives the StopEvent's result.

    ``WorkflowHandler(ctx=ctx)`` (as LlamaIndex allows) holds a context without a run of its
    own, e.g. one rebuilt by ``Context.from_dict``; its result can be set by hand.
    """

    def __init__(self, runner: Runner | None = None, task: asyncio.Task[Any] | None = None, *,
                 ctx: Context | None = None, run_id: str | None = None) -> None:
        self._runner = runner
        self._task = task
        self._ctx = ctx
        self._run_id = run_id
        self._outcome: Any = _UNSET  # a handler without a run: set_result / set_exception
        self._all_events_consumed = False
        if task is not None:
            task.add_done_callback(_consume_exception)

    @property
    def run_id(self) -> str | None:
        """The id under which this run and its checkpoints are stored."""
        return self._runner.run_id if self._runner is not None else self._run_id

    @property
    def ctx(self) -> Context | None:
        """The run's context (``handler.ctx.send_event(HumanResponseEvent(...))`` answers a prompt)."""
        return self._runner.ctx if self._runner is not None else self._ctx

    @property
    def status(self) -> str:
        """running / waiting / completed / failed / cancelled."""
        if self._runner is not None:
            return self._runner.status
        if self._outcome is _UNSET:
            return "idle"
        return "failed" if isinstance(self._outcome, BaseException) else "completed"

    def __await__(self) -> Generator[Any, None, Any]:
        if self._task is not None:
            return self._task.__await__()
        return self._unrun().__await__()

    async def _unrun(self) -> Any:
        return self.result()

    def done(self) -> bool:
        """True once the run has ended, whatever the outcome."""
        return self._task.done() if self._task is not None else self._outcome is not _UNSET

    def is_done(self) -> bool:
        """Same as ``done()`` (LlamaIndex's name)."""
        return self.done()

    def result(self) -> Any:
        """The result of a finished run (raises its error, like ``Future.result``)."""
        if self._task is not None:
            return self._task.result()
        if self._outcome is _UNSET:
            raise WorkflowRuntimeError("this handler has no run and no result yet")
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome

    def exception(self) -> BaseException | None:
        """The error of a finished run, or None."""
        if self._task is not None:
            return self._task.exception()
        return self._outcome if isinstance(self._outcome, BaseException) else None

    def set_result(self, result: Any) -> None:
        """Give a handler without a run its result."""
        self._check_unrun()
        self._outcome = result

    def set_exception(self, error: BaseException) -> None:
        """Give a handler without a run its error."""
        self._check_unrun()
        self._outcome = error

    def _check_unrun(self) -> None:
        if self._task is not None:
            raise WorkflowRuntimeError("the result of a handler with a run comes from its run")

    def add_done_callback(self, fn: Any) -> None:
        """Call ``fn(handler)`` when the run ends."""
        if self._task is None:
            raise WorkflowRuntimeError("this handler has no run to wait for")
        self._task.add_done_callback(lambda _t: fn(self))

    def cancel(self) -> bool:
        """Stop the run; checkpoints taken so far stay and the run is marked cancelled."""
        return self._task.cancel() if self._task is not None else False

    async def cancel_run(self) -> None:
        """Cancel and wait until the run has stopped."""
        if self._task is None:
            return
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def stream_events(self) -> AsyncIterator[Event]:
        """Events written to the stream (progress, InputRequiredEvent), ending with the StopEvent.

        A run's stream is read once: calling this again after it ended raises
        ``WorkflowRuntimeError``.
        """
        if self.ctx is None:
            raise ValueError("Context is not set!")
        if self._all_events_consumed:
            raise WorkflowRuntimeError(
                "All the streamed events have already been consumed. A run's events can be "
                "streamed once; use `await handler` for its result")
        runner = self._runner or self.ctx._runner
        if runner is None:
            raise WorkflowRuntimeError("this handler's context has no run to stream; start one "
                                       "with wf.run(ctx=handler.ctx)")
        stream = runner.stream
        while True:
            item = await stream.get()
            if item is _END:
                self._all_events_consumed = True
                return
            yield item
            if isinstance(item, StopEvent):
                self._all_events_consumed = True
                return

    async def run_step(self) -> list[Event] | None:
        """In a stepwise run (``wf.run(stepwise=True)``): run the steps whose events have been
        delivered and return the events they produced, not yet delivered — send them on with
        ``handler.ctx.send_event(ev)``. Returns None once the run has ended.
        """
        ctx = self.ctx
        if ctx is None:
            raise ValueError("Context must be set to run a workflow step-wise!")
        if not ctx.stepwise:
            raise ValueError("Workflow must be created passing stepwise=True to call this method.")
        runner = self._runner or ctx._runner
        if runner is None:
            raise WorkflowRuntimeError("this handler's context has no stepwise run; start one "
                                       "with wf.run(ctx=handler.ctx, stepwise=True)")
        try:
            return await runner.run_step()
        except BaseException:
            if self._task is not None:
                await asyncio.gather(self._task, return_exceptions=True)
            raise

    def __str__(self) -> str:
        """The result once there is one (as upstream), else the repr."""
        if not self.done() or self.exception() is not None:
            return repr(self)
        return str(self.result())

    def __repr__(self) -> str:
        return f"WorkflowHandler(run_id={self.run_id!r}, status={self.status!r})"


def _consume_exception(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
