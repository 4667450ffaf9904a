"""The seam through which a layer above records runs on a `Context` (the older LlamaIndex API).

``wf.run(ctx=ctx)``, ``wf.run_from(checkpoint, ctx=ctx)``, ``ctx.checkpoints`` and
``ctx.filter_checkpoints`` are served by the provider the checkpoints layer registers on import;
the runtime never imports that layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..errors import FlowpointError

if TYPE_CHECKING:
    from .context import Context
    from .events import StartEvent
    from .handler import WorkflowHandler


class ContextRecording(Protocol):
    """What the checkpoints layer provides for runs that were given a context."""

    def run(self, workflow: Any, ctx: Context, start_event: StartEvent) -> WorkflowHandler:
        """Start a run on ``ctx`` that records its checkpoints on it."""

    def run_from(self, workflow: Any, checkpoint: Any, ctx: Context | None,
                 **kwargs: Any) -> WorkflowHandler:
        """Resume from ``checkpoint`` (on ``ctx`` if given), recording on that context."""

    def checkpoints(self, ctx: Context) -> list[Any]:
        """Every checkpoint of every run that used ``ctx``, in order."""

    def filter_checkpoints(self, ctx: Context, **filters: Any) -> list[Any]:
        """The checkpoints of ``ctx`` matching ``filters``."""


_PROVIDER: list[ContextRecording] = []


def register_context_recording(provider: ContextRecording) -> None:
    """Install the provider of context checkpoints (replaces any earlier one)."""
    _PROVIDER[:] = [provider]


def registered_recording() -> ContextRecording | None:
    """The registered provider, or None when the checkpoints layer was never imported."""
    return _PROVIDER[0] if _PROVIDER else None


def context_recording() -> ContextRecording:
    """The registered provider, or an error saying how to get one."""
    if _PROVIDER:
        return _PROVIDER[0]
    raise FlowpointError("checkpoints on a Context need flowpoint's checkpoints layer: "
                         "`import flowpoint` (not only flowpoint.runtime) before running")
