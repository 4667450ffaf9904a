"""`LangGraphHandler`: a LangGraph run driven from the kernel's loop, like a flowpoint handler.

The graph runs in a worker thread (sync savers), one superstep at a time, so the loop stays free;
each superstep is reported as a checkpoint. When the graph stops at an ``interrupt()`` the run
waits (status "waiting") for ``respond`` and continues with ``Command(resume=...)``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from types import SimpleNamespace
from typing import Any

from ...errors import WorkflowRuntimeError
from ...runtime.events import Event, InputRequiredEvent, StopEvent
from .history import plain, prompt_text, user_channels

#: Gives the config of the branch's latest checkpoint (where an answer continues the run).
TipOf = Callable[[], "dict[str, Any] | None"]


class LangGraphHandler:
    """One run of a compiled graph on a thread (``await`` it for the final state values)."""

    def __init__(self, graph: Any, run_id: str, config: dict[str, Any], payload: Any,
                 recorder: Any, tip_of: TipOf, waiting: list[Any] | None = None) -> None:
        self.graph = graph
        self.run_id = run_id
        self.config = config
        self.recorder = recorder
        self.tip_of = tip_of
        self.status = "running"
        self.prompts: list[Any] = list(waiting or [])
        self._answers: asyncio.Queue[Any] | None = None
        self._stream: asyncio.Queue[Any] | None = None
        self._callbacks: list[Callable[[LangGraphHandler], None]] = []
        self._stop = threading.Event()
        self._task: asyncio.Task[Any] | None = None
        self._payload = payload
        if waiting is None:
            self._start()
        else:
            self.status = "waiting"
            self._status("waiting")

    # --- lifecycle ----------------------------------------------------------------------------
    def _start(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise WorkflowRuntimeError(
                "run() needs a running asyncio loop: call it inside `async def main()` run by "
                "asyncio.run, or from a notebook cell") from None
        self._answers = asyncio.Queue()
        self._stream = asyncio.Queue()
        self._task = loop.create_task(self._drive(self._payload))
        self._task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled():
            task.exception()
        for fn in list(self._callbacks):
            fn(self)

    async def _drive(self, payload: Any) -> Any:
        from langgraph.types import Command

        try:
            while True:
                interrupts = await self._superstep_all(payload)
                if not interrupts:
                    break
                self.prompts = interrupts
                self.status = "waiting"
                self._status("waiting")
                self._emit(InputRequiredEvent(prefix="\n".join(
                    prompt_text(plain(getattr(i, "value", i))) for i in interrupts)))
                assert self._answers is not None
                answer = await self._answers.get()
                self.prompts = []
                self.status = "running"
                self._status("running")
                payload = Command(resume=answer)
                self.config = self.tip_of() or self.config
        except asyncio.CancelledError:
            self._stop.set()
            self.status = "cancelled"
            self._status("cancelled")
            raise
        except BaseException as exc:
            self.status = "failed"
            self._status("failed", error=exc)
            raise
        values = self._final_values()
        self.status = "completed"
        self._status("completed", result=values)
        self._emit(StopEvent(result=values))
        return values

    async def _superstep_all(self, payload: Any) -> list[Any]:
        """Run the graph until it ends or stops at an interrupt; returns the interrupts."""
        loop = asyncio.get_running_loop()
        chunks = self.graph.stream(payload, self.config, stream_mode="updates")
        interrupts: list[Any] = []
        while True:
            chunk = await loop.run_in_executor(None, _next, chunks, self._stop)
            if chunk is _END:
                return interrupts
            if isinstance(chunk, dict) and "__interrupt__" in chunk:
                found = chunk["__interrupt__"]
                interrupts.extend(found if isinstance(found, (list, tuple)) else [found])
                continue
            self._progress(chunk)

    def _final_values(self) -> Any:
        try:
            snap = self.graph.get_state(self.tip_of() or self.config)
        except Exception:  # the run's outcome matters more than its summary
            return None
        return plain(user_channels(snap.values))

    # --- reporting ----------------------------------------------------------------------------
    def _status(self, status: str, **info: Any) -> None:
        try:
            self.recorder.on_status(None, status, **info)
        except Exception:  # a store or display problem must not break the run
            pass

    def _progress(self, chunk: Any) -> None:
        nodes = ", ".join(sorted(chunk)) if isinstance(chunk, dict) else "step"
        notify = getattr(self.recorder, "on_change", None)
        if notify is not None:
            try:
                notify("checkpoint", self.run_id, SimpleNamespace(step=nodes, run_id=self.run_id))
            except Exception:
                pass
        self._emit(Event(step=nodes, writes=plain(chunk)))

    def _emit(self, ev: Event) -> None:
        if self._stream is not None:
            self._stream.put_nowait(ev)

    # --- the handler API ----------------------------------------------------------------------
    def respond(self, answer: Any) -> None:
        """Answer the pending ``interrupt()``: the graph continues with ``Command(resume=answer)``."""
        if self.status != "waiting":
            raise WorkflowRuntimeError(f"run {self.run_id} is {self.status}, not waiting for input")
        if self._task is None:  # attached to a thread that stopped before this session
            self._payload = _resume(answer)
            self.status = "running"
            self._status("running")
            self._start()
            return
        assert self._answers is not None
        self._answers.put_nowait(answer)

    def __await__(self) -> Generator[Any, None, Any]:
        if self._task is None:
            raise WorkflowRuntimeError(f"run {self.run_id} waits for input: respond() first")
        return self._task.__await__()

    def done(self) -> bool:
        return self._task is not None and self._task.done()

    def result(self) -> Any:
        if self._task is None:
            raise asyncio.InvalidStateError(f"run {self.run_id} has not ended")
        return self._task.result()

    def exception(self) -> BaseException | None:
        if self._task is None:
            raise asyncio.InvalidStateError(f"run {self.run_id} has not ended")
        return self._task.exception()

    def add_done_callback(self, fn: Callable[[LangGraphHandler], None]) -> None:
        if self._task is not None and self._task.done():
            fn(self)
        else:
            self._callbacks.append(fn)

    def cancel(self) -> bool:
        self._stop.set()
        return self._task.cancel() if self._task is not None else False

    async def stream_events(self) -> AsyncIterator[Event]:
        """Progress events (one per superstep), prompts, and a final StopEvent."""
        if self._stream is None:
            return
        while True:
            ev = await self._stream.get()
            yield ev
            if isinstance(ev, StopEvent):
                return

    def __repr__(self) -> str:
        return f"LangGraphHandler(run_id={self.run_id!r}, status={self.status!r})"


_END = object()


def _next(chunks: Iterator[Any], stop: threading.Event) -> Any:
    if stop.is_set():
        return _END
    return next(chunks, _END)


def _resume(answer: Any) -> Any:
    from langgraph.types import Command

    return Command(resume=answer)
