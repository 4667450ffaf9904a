"""The workflow runtime: events, steps, context, the run loop and its handler."""

from .context import Context, MissingStateKey
from .events import (
    EVENT_REGISTRY,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    event_key,
    lookup_event_class,
)
from .handler import WorkflowHandler
from .retry import ConstantDelayRetryPolicy
from .runner import Runner, RunObserver
from .step import step
from .workflow import Workflow

__all__ = [
    "EVENT_REGISTRY",
    "ConstantDelayRetryPolicy",
    "Context",
    "Event",
    "HumanResponseEvent",
    "InputRequiredEvent",
    "MissingStateKey",
    "RunObserver",
    "Runner",
    "StartEvent",
    "StopEvent",
    "Workflow",
    "WorkflowHandler",
    "event_key",
    "lookup_event_class",
    "step",
]
