"""The handler a checkpointed 2.x run returns: the runtime's own handler, plus run bookkeeping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

from workflows.errors import WorkflowCancelledByUser


class RunHandler:
    """Awaitable like the 2.x ``WorkflowHandler`` it wraps (``stream_events``, ``ctx``,
    ``cancel_run``, ... are the runtime's own); ends the run's record when the run ends."""

    def __init__(self, inner: Any, run_id: str, recorder: Any,
                 on_end: Callable[[], None]) -> None:
        self.workflow_handler = inner
        self.run_id = run_id
        self._recorder = recorder
        self._on_end = on_end
        self._status = "running"
        self._task = asyncio.get_running_loop().create_task(self._follow())
        self._task.add_done_callback(_consume)

    async def _follow(self) -> Any:
        try:
            result = await self.workflow_handler
        except (asyncio.CancelledError, WorkflowCancelledByUser):
            self._end("cancelled")
            raise
        except BaseException as exc:
            self._end("failed", error=exc)
            raise
        self._end("completed", result=result)
        return result

    def _end(self, status: str, **info: Any) -> None:
        self._status = status
        self._on_end()
        self._recorder.on_status(None, status, **info)

    @property
    def status(self) -> str:
        """running / completed / failed / cancelled (the store also knows "waiting")."""
        return self._status

    @property
    def ctx(self) -> Any:
        """The run's 2.x Context (``handler.ctx.send_event(HumanResponseEvent(...))``)."""
        return self.workflow_handler.ctx

    def stream_events(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        """The runtime's event stream, ending with the StopEvent."""
        return self.workflow_handler.stream_events(*args, **kwargs)

    def __await__(self) -> Generator[Any, None, Any]:
        return self._task.__await__()

    def done(self) -> bool:
        """True once the run has ended and its record is final."""
        return self._task.done()

    def result(self) -> Any:
        """The result of a finished run (raises its error, like ``Future.result``)."""
        return self._task.result()

    def exception(self) -> BaseException | None:
        """The error of a finished run, or None."""
        return None if self._task.cancelled() else self._task.exception()

    def add_done_callback(self, fn: Callable[[RunHandler], Any]) -> None:
        """Call ``fn(handler)`` when the run has ended."""
        self._task.add_done_callback(lambda _t: fn(self))

    def cancel(self) -> bool:
        """Stop the run; checkpoints taken so far stay and the run is marked cancelled."""
        if self._task.done():
            return False
        asyncio.get_running_loop().create_task(self.workflow_handler.cancel_run())
        self._task.cancel()
        return True

    async def cancel_run(self) -> None:
        """Cancel and wait until the run has stopped."""
        self.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.workflow_handler, name)

    def __repr__(self) -> str:
        return f"RunHandler(run_id={self.run_id!r}, status={self._status!r})"


def _consume(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
