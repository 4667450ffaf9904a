"""The workflow runtime: events, steps, context, the run loop and its handler."""

from .context import Context
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
from .observer import RunObserver
from .retry import ConstantDelayRetryPolicy
from .runner import Runner
from .serializers import BaseSerializer, JsonPickleSerializer, JsonSerializer, PickleSerializer
from .state import DictState, MissingStateKey, StateStore
from .step import step
from .workflow import Workflow

__all__ = [
    "EVENT_REGISTRY",
    "BaseSerializer",
    "ConstantDelayRetryPolicy",
    "Context",
    "DictState",
    "Event",
    "HumanResponseEvent",
    "InputRequiredEvent",
    "JsonPickleSerializer",
    "JsonSerializer",
    "MissingStateKey",
    "PickleSerializer",
    "RunObserver",
    "Runner",
    "StartEvent",
    "StateStore",
    "StopEvent",
    "Workflow",
    "WorkflowHandler",
    "event_key",
    "lookup_event_class",
    "step",
]
