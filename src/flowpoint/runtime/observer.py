"""What the run loop tells a checkpointer (the one hook the runtime exposes), and when."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Protocol

from .context import Invocation
from .events import Event

if TYPE_CHECKING:
    from .runner import Runner


class PendingHook(Protocol):
    """A checkpoint ``on_step_done`` took but commits later (shared with other runs)."""

    def on_commit(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` right after the commit, before anything else runs on the loop."""

    def __await__(self) -> Generator[Any, None, None]:
        """Wait for the commit; raises if it failed."""


class RunObserver(Protocol):
    """What the runtime tells a checkpointer. A checkpoint is committed before the event it
    records is dispatched: hooks are synchronous, except that ``on_start_event`` and
    ``on_step_done`` may return a PendingHook, and then the event is dispatched right after that
    commit. An exception from a hook, or from its commit, fails the run."""

    def on_start_event(self, runner: Runner, start_event: Event) -> PendingHook | None:
        """Called once before a StartEvent is emitted; a PendingHook returned is awaited
        before it is."""

    def on_step_done(
        self,
        runner: Runner,
        step: str,
        input_event: Event,
        output_event: Event | None,
        duration_s: float,
        invocation: Invocation,
    ) -> PendingHook | None:
        """Called when a step returns, before its output event is dispatched."""

    def on_status(self, runner: Runner, status: str, **info: Any) -> None:
        """running / waiting / completed (result=) / failed (error=) / cancelled / paused."""
