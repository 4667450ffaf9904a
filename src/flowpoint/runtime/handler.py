"""`WorkflowHandler`: what `run()` returns at once — awaitable, streamable, cancellable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator
from typing import Any

from ..errors import WorkflowRuntimeError
from .context import Context
from .events import Event, StopEvent
from .runner import _END, Runner


class WorkflowHandler:
    """A running workflow: ``await handler`` gives the StopEvent's result."""

    def __init__(self, runner: Runner, task: asyncio.Task[Any]) -> None:
        self._runner = runner
        self._task = task
        self._streamed = False
        task.add_done_callback(_consume_exception)

    @property
    def run_id(self) -> str:
        """The id under which this run and its checkpoints are stored."""
        return self._runner.run_id

    @property
    def ctx(self) -> Context:
        """The run's context (``handler.ctx.send_event(HumanResponseEvent(...))`` answers a prompt)."""
        return self._runner.ctx

    @property
    def status(self) -> str:
        """running / waiting / completed / failed / cancelled."""
        return self._runner.status

    def __await__(self) -> Generator[Any, None, Any]:
        return self._task.__await__()

    def done(self) -> bool:
        """True once the run has ended, whatever the outcome."""
        return self._task.done()

    def is_done(self) -> bool:
        """Same as ``done()`` (LlamaIndex's name)."""
        return self._task.done()

    def result(self) -> Any:
        """The result of a finished run (raises its error, like ``Future.result``)."""
        return self._task.result()

    def exception(self) -> BaseException | None:
        """The error of a finished run, or None."""
        return self._task.exception()

    def add_done_callback(self, fn: Any) -> None:
        """Call ``fn(handler)`` when the run ends."""
        self._task.add_done_callback(lambda _t: fn(self))

    def cancel(self) -> bool:
        """Stop the run; checkpoints taken so far stay and the run is marked cancelled."""
        return self._task.cancel()

    async def cancel_run(self) -> None:
        """Cancel and wait until the run has stopped."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def stream_events(self) -> AsyncIterator[Event]:
        """Events written to the stream (progress, InputRequiredEvent), ending with the StopEvent.

        A run's stream is read once: calling this again after it ended raises
        ``WorkflowRuntimeError``.
        """
        if self._streamed:
            raise WorkflowRuntimeError(
                "All the streamed events have already been consumed. A run's events can be "
                "streamed once; use `await handler` for its result")
        stream = self._runner.stream
        while True:
            item = await stream.get()
            if item is _END:
                self._streamed = True
                return
            yield item
            if isinstance(item, StopEvent):
                self._streamed = True
                return

    async def run_step(self) -> list[Event] | None:
        """In a stepwise run (``wf.run(stepwise=True)``): run the steps whose events have been
        delivered and return the events they produced, not yet delivered — send them on with
        ``handler.ctx.send_event(ev)``. Returns None once the run has ended.
        """
        if not self._runner.stepwise:
            raise ValueError("Workflow must be created passing stepwise=True to call this method.")
        try:
            return await self._runner.run_step()
        except BaseException:
            await asyncio.gather(self._task, return_exceptions=True)
            raise

    def __repr__(self) -> str:
        return f"WorkflowHandler(run_id={self.run_id!r}, status={self.status!r})"


def _consume_exception(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
