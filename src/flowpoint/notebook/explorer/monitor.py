"""Runs launched from the explorer: started as tasks on the kernel's loop, followed to their end.

The status line and progress bar are fed by the checkpointer's events (``subscribe``), so a run
shows per-step progress while the kernel stays free; nothing here ever blocks the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ...checkpoints.checkpointer import WorkflowCheckpointer
from ...runtime.handler import WorkflowHandler
from .trees import esc, short

#: Called with (run_id, outcome) when a followed run ends; outcome is completed/failed/cancelled.
EndCallback = Callable[[str, str], None]


class RunMonitor:
    """Starts runs, follows them, and keeps the status line and progress bar up to date."""

    def __init__(self, ckptr: WorkflowCheckpointer, on_end: EndCallback,
                 on_event: Callable[[str, str, Any], None]) -> None:
        self.ckptr = ckptr
        self.on_end = on_end
        self.on_event = on_event
        self.status = w.HTML("<span class='fp-muted'>ready</span>").add_class("fp-status")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="",
                                      layout=w.Layout(width="140px", display="none"))
        self.last_task: asyncio.Task[None] | None = None
        self._counts: dict[str, int] = {}
        self._expected: dict[str, int] = {}
        self._followed: dict[str, asyncio.Task[None]] = {}
        self._current: str | None = None
        self._unsubscribe = ckptr.subscribe(self._listen)

    # --- status line --------------------------------------------------------------------------
    def say(self, text: str, css: str = "") -> None:
        """Show plain ``text`` (escaped here) in the status line."""
        cls = f" class='{css}'" if css else ""
        self.status.value = f"<span{cls}>{esc(text)}</span>"

    def error(self, what: str, exc: BaseException) -> None:
        """Show an error in the status line: what failed, the error type and message."""
        self.say(f"{what}: {type(exc).__name__}: {exc}", "fp-error")

    # --- launching ----------------------------------------------------------------------------
    def launch(self, start: Callable[[], WorkflowHandler], what: str, expected: int = 0,
               on_error: Callable[[BaseException], None] | None = None) -> asyncio.Task[None] | None:
        """Call ``start()`` (e.g. ``run_from``) and follow the run it returns as a task.

        Launch errors (invalid edit, unknown step or event type, ...) are shown, never raised.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.say(f"cannot {what}: no running event loop (use it from a notebook cell)",
                     "fp-error")
            return None
        try:
            handler = start()
        except Exception as exc:  # shown where the user clicked, never raised out of a callback
            self.error(f"cannot {what}", exc)
            if on_error is not None:
                on_error(exc)
            return None
        return self.follow(handler, expected)

    def follow(self, handler: WorkflowHandler, expected: int = 0) -> asyncio.Task[None]:
        """Follow a live run until it ends (once per run); the task is kept on ``last_task``."""
        run_id = handler.run_id
        task = self._followed.get(run_id)
        if task is None or task.done():
            if expected:
                self._expected[run_id] = expected
            self._start_progress(run_id)
            task = asyncio.get_running_loop().create_task(self._follow(handler))
            self._followed[run_id] = task
        self.last_task = task
        return task

    def is_followed(self, run_id: str) -> bool:
        """True while a task follows this run."""
        task = self._followed.get(run_id)
        return task is not None and not task.done()

    async def _follow(self, handler: WorkflowHandler) -> None:
        run_id = handler.run_id
        ended = asyncio.get_running_loop().create_future()
        handler.add_done_callback(lambda _h: ended.done() or ended.set_result(None))
        await ended
        try:
            exc = handler.exception()
        except asyncio.CancelledError:
            outcome, message, css = "cancelled", f"run {run_id[:8]} cancelled", "fp-error"
        else:
            if exc is None and handler.status == "paused":
                outcome, css = "paused", "fp-ok"
                message = f"run {run_id[:8]} paused at a breakpoint: Resume continues it"
            elif exc is None:
                outcome, css = "completed", "fp-ok"
                message = f"completed run {run_id[:8]}: {short(handler.result())}"
            else:
                outcome, css = "failed", "fp-error"
                message = f"run {run_id[:8]} failed: {type(exc).__name__}: {exc}"
        self._end_progress(run_id, outcome)
        try:
            self.on_end(run_id, outcome)
        except Exception as exc:  # a display problem must not hide the run's outcome
            self.error("refresh after the run failed", exc)
            return
        self.say(message, css)

    # --- progress -----------------------------------------------------------------------------
    def _start_progress(self, run_id: str) -> None:
        self._current = run_id
        done = self._counts.get(run_id, 0)
        self.progress.max = max(self._expected.get(run_id, 1), done + 1)
        self.progress.value = done
        self.progress.bar_style = "info"
        self.progress.layout.display = None

    def _end_progress(self, run_id: str, outcome: str) -> None:
        if run_id != self._current:
            return
        self.progress.max = max(1, self._counts.get(run_id, 0))
        self.progress.value = self.progress.max
        self.progress.bar_style = "success" if outcome == "completed" else "danger"

    def _listen(self, kind: str, run_id: str, payload: Any) -> None:
        """Checkpointer events, called on the loop: update the progress line, then pass them on."""
        if kind == "run":
            self._counts.setdefault(run_id, 0)
            self.say(f"run {run_id[:8]} started")
        elif kind == "checkpoint":
            n = self._counts.get(run_id, 0) + 1
            self._counts[run_id] = n
            step = getattr(payload, "step", None) or "start"
            self.say(f"run {run_id[:8]}: {step} done ({n} checkpoint{'s' if n != 1 else ''})")
            if run_id == self._current:
                self.progress.max = max(self.progress.max, n + 1)
                self.progress.value = n
        elif kind == "status":
            if payload == "waiting":
                self.say(f"run {run_id[:8]} is waiting for input", "fp-ok")
            elif payload in ("completed", "failed", "cancelled") and not self.is_followed(run_id):
                self.say(f"run {run_id[:8]} {payload}")
        self.on_event(kind, run_id, payload)

    def close(self) -> None:
        """Stop listening to the checkpointer (followed runs keep running)."""
        self._unsubscribe()
