"""Drivers: how a checkpointer runs, records and resumes each kind of workflow object.

``WorkflowCheckpointer(workflow=w)`` asks ``driver_for(w)``: flowpoint's own ``Workflow`` gets the
native driver (the runtime's observer hook); other runtimes are served by adapters that register
a cheap predicate and a factory with ``register_driver`` (see ``flowpoint.adapters``). Everything
above the driver — model, stores, filters, table, explorer — is the same for every runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import UnsupportedWorkflow
from ..runtime.events import HumanResponseEvent, event_key
from ..runtime.workflow import Workflow
from .codec import decode_event, encode_event

if TYPE_CHECKING:
    from ..storage.base import CheckpointStore
    from .codec import JsonCodec
    from .model import Checkpoint
    from .recorder import Recorder

#: Starts one run: ``launch(run_id, recorder)`` returns the run's handler (awaitable, with
#: ``run_id``, ``add_done_callback``, ``stream_events``). Called after the run record is stored.
Launch = Callable[[str, "Recorder"], Any]


@dataclass(frozen=True)
class Resume:
    """A validated plan to resume from a checkpoint, made before anything runs.

    ``first_seq``: the seq of the new run's first checkpoint; ``edited``: what the user changed
    (stored on the new run), or None; ``run_id``: the id the runtime gives the run (None: a new
    uuid), for runtimes whose own store names runs (a LangGraph fork is named by its thread).
    """

    launch: Launch
    first_seq: int
    edited: dict[str, Any] | None = None
    run_id: str | None = None


@runtime_checkable
class Driver(Protocol):
    """What the checkpointer needs from a runtime.

    A driver reports step completions to the ``Recorder`` it is given (``recorder.record(...)``,
    committed before the step's output is dispatched) and run status changes
    (``recorder.on_status(None, status, ...)``).
    """

    #: The user's workflow object, unchanged.
    workflow: Any
    #: True only for flowpoint's own runtime, which the checkpointer drives through its hook.
    native: bool

    @property
    def name(self) -> str:
        """The workflow name stored with its runs."""

    def steps(self) -> Collection[str]:
        """The names of the workflow's steps (what checkpoint_steps and filters refer to)."""

    def start(self, *, ctx: Any, start_event: Any, kwargs: dict[str, Any]) -> Launch:
        """Validate the inputs of a new run and return how to launch it."""

    def resume(self, ckpt: Checkpoint, *, output_event: Any, state: dict[str, Any] | None,
               kwargs: dict[str, Any], codec: JsonCodec) -> Resume:
        """Validate a resume from ``ckpt`` (edits included) and return the plan; raise a
        ``FlowpointError`` saying what is wrong before anything runs. A driver that takes a
        user's context also accepts ``ctx=`` (given only when the user passed one)."""

    def encode_event(self, event: Any) -> Any:
        """An event as JSON-able data, ``{"__event__": type key, "data": fields}``."""

    def event_type(self, cls: type) -> str:
        """The stored type key of an event class (what type filters match)."""

    def decode_event(self, data: Any) -> Any:
        """A stored event back as an object, through registered classes only (never import)."""

    def human_response(self, response: str) -> Any:
        """The event that answers a pending prompt with ``response``."""

    def send_event(self, handler: Any, event: Any) -> None:
        """Deliver ``event`` to the live run behind ``handler``."""

    def store_for(self, given: CheckpointStore | str | None) -> CheckpointStore | str | None:
        """The store to open for the user's ``store=`` (None: flowpoint's default); raises
        ``StoreError`` if this runtime keeps its checkpoints elsewhere."""


class NativeDriver:
    """flowpoint's own runtime: the checkpointer launches it with a ``Recorder`` as observer."""

    native = True

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow

    @property
    def name(self) -> str:
        return self.workflow.name

    def steps(self) -> Collection[str]:
        return self.workflow.steps()

    def start(self, *, ctx: Any, start_event: Any, kwargs: dict[str, Any]) -> Launch:
        raise NotImplementedError("the checkpointer launches flowpoint workflows itself")

    def resume(self, ckpt: Checkpoint, *, output_event: Any, state: dict[str, Any] | None,
               kwargs: dict[str, Any], codec: JsonCodec) -> Resume:
        raise NotImplementedError("the checkpointer resumes flowpoint workflows itself")

    def encode_event(self, event: Any) -> Any:
        return encode_event(event)

    def event_type(self, cls: type) -> str:
        return event_key(cls)

    def decode_event(self, data: Any) -> Any:
        return decode_event(data)

    def human_response(self, response: str) -> Any:
        return HumanResponseEvent(response=response)

    def send_event(self, handler: Any, event: Any) -> None:
        handler.ctx.send_event(event)

    def store_for(self, given: CheckpointStore | str | None) -> CheckpointStore | str | None:
        return given


_DRIVERS: list[tuple[Callable[[Any], bool], Callable[[Any], Driver]]] = []


def register_driver(matches: Callable[[Any], bool], factory: Callable[[Any], Driver]) -> None:
    """Serve workflow objects for which ``matches(obj)`` is true with ``factory(obj)``.

    ``matches`` must be cheap and must not import optional packages (test class names in the
    MRO); ``factory`` imports its adapter. Later registrations are asked first.
    """
    _DRIVERS.insert(0, (matches, factory))


def driver_for(workflow: Any) -> Driver:
    """The driver for a workflow object (flowpoint's own, or one an adapter registered)."""
    if isinstance(workflow, Workflow):
        return NativeDriver(workflow)
    if isinstance(workflow, Driver) and not isinstance(workflow, type):
        return workflow
    for matches, factory in _DRIVERS:
        if matches(workflow):
            return factory(workflow)
    kind = type(workflow)
    raise UnsupportedWorkflow(
        f"WorkflowCheckpointer cannot run a {kind.__module__}.{kind.__qualname__}; pass an "
        f"instance of a flowpoint Workflow subclass, of a llama-index-workflows 2.x "
        f"workflows.Workflow subclass, or a compiled LangGraph graph")


def is_stop_event(ev: Any) -> bool:
    """True for a StopEvent of any runtime (by class name in the MRO: nothing is imported)."""
    return any(c.__name__ == "StopEvent" for c in type(ev).__mro__)


def is_prompt_event(ev: Any) -> bool:
    """True for an InputRequiredEvent of any runtime (by class name in the MRO)."""
    return any(c.__name__ == "InputRequiredEvent" for c in type(ev).__mro__)


def class_path_names(obj: Any) -> set[str]:
    """``module.QualName`` of every class in ``type(obj)``'s MRO: for predicates that must not
    import the package they recognise."""
    return {f"{c.__module__}.{c.__qualname__}" for c in type(obj).__mro__}
