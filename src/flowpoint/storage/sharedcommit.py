"""Group commit: checkpoints handed over during one turn of an event loop share a transaction.

Runs are tasks on one loop. When several write to one store, each step's checkpoint is queued
instead of committed at once; at the end of the turn the queue is written in one transaction
(one commit, and one fsync with durability="power", for all). Each step waits for its own
checkpoint before its output is dispatched: the step's dispatch is a callback run right after
the commit, before anything else on the loop, so no other code sees the run between the two.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Sequence
from typing import Any

#: Writes a batch and returns, in order, None for each item committed or the error of one that
#: was not.
WriteBatch = Callable[[Sequence[Any]], list[BaseException | None]]


class PendingCommit:
    """A checkpoint waiting for its turn's shared commit. Await it to wait for the commit (it
    raises the error of a failed one); ``on_commit`` callbacks run as soon as it is committed.
    The commit happens even if the awaiting task is cancelled meanwhile."""

    __slots__ = ("future", "_callbacks")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.future: asyncio.Future[None] = loop.create_future()
        self._callbacks: list[Callable[[], None]] = []

    def on_commit(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` right after the commit (in order of registration), not if it fails."""
        self._callbacks.append(fn)

    @property
    def settled(self) -> bool:
        return self.future.done()

    def settle(self, error: BaseException | None) -> None:
        if self.future.done():
            return
        if error is None:
            try:
                for fn in self._callbacks:
                    fn()
            except Exception as exc:  # noqa: BLE001 - fails the step, as a hook that raises does
                error = exc
        if error is None:
            self.future.set_result(None)
        else:
            self.future.set_exception(error)

    def __await__(self) -> Generator[Any, None, None]:
        return asyncio.shield(self.future).__await__()


class SharedCommits:
    """The queue of one store's checkpoints per event loop, flushed at the end of the turn."""

    def __init__(self, write: WriteBatch) -> None:
        self._write = write
        self._queues: dict[asyncio.AbstractEventLoop, list[tuple[Any, PendingCommit]]] = {}

    def submit(self, item: Any) -> PendingCommit:
        """Queue ``item`` on the running loop; the first of a turn schedules the flush."""
        loop = asyncio.get_running_loop()
        pending = PendingCommit(loop)
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = []
            loop.call_soon(self.flush, loop)
        queue.append((item, pending))
        return pending

    def flush(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Write what is queued on ``loop`` (default: the running one) now, and settle it."""
        if loop is None:
            loop = asyncio.get_running_loop()
        queue = self._queues.pop(loop, None)
        if not queue:
            return
        try:
            outcomes = self._write([item for item, _ in queue])
        except BaseException as exc:
            for _, pending in queue:
                pending.settle(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            raise
        for (_, pending), error in zip(queue, outcomes, strict=True):
            pending.settle(error)
