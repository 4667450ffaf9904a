"""`Workflow`: a class whose `@step` methods form an event graph; `run()` starts a run."""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import WorkflowConfigurationError, WorkflowRuntimeError, WorkflowValidationError
from .context import Context
from .events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
from .handler import WorkflowHandler
from .observer import RunObserver
from .recording import context_recording, registered_recording
from .runner import Runner
from .state import register_state_type
from .step import (
    FREE_STEPS_VERSION,
    STEP_ATTR,
    StepSpec,
    _add_free_step,
    _class_step_functions,
    resolve_step,
)

DEFAULT_TIMEOUT = 45.0


class _Resolved:
    """A workflow class's steps, resolved once, with what was found wrong about them."""

    def __init__(self, version: int, steps: dict[str, StepSpec]) -> None:
        self.version = version
        self.steps = steps
        self.config_error: WorkflowConfigurationError | None = None
        self.start_class: type[StartEvent] = StartEvent
        self.stop_class: type[StopEvent] = StopEvent
        self.state_type: type[BaseModel] | None = None


_RESOLVED: weakref.WeakKeyDictionary[type, _Resolved] = weakref.WeakKeyDictionary()


class Workflow:
    """Subclass it and decorate methods with ``@step``; ``run(**kwargs)`` starts a run.

    ``timeout`` (seconds; default 45 as upstream, ``None`` = no limit) bounds a run, and a run
    waiting for a human counts too: pass ``timeout=None`` to wait hours for an answer.
    ``num_concurrent_runs`` caps how many runs of this instance execute at once (others wait).
    A workflow defined wrongly (no step takes a StartEvent, two StopEvent types ...) raises
    ``WorkflowConfigurationError`` when constructed.
    """

    _free_steps: dict[str, Any] = {}
    timeout: float | None = DEFAULT_TIMEOUT
    verbose: bool = False
    disable_validation: bool = False
    num_concurrent_runs: int | None = None

    def __init__(self, timeout: float | None = DEFAULT_TIMEOUT, verbose: bool = False,
                 disable_validation: bool = False, num_concurrent_runs: int | None = None,
                 **_: Any) -> None:
        if num_concurrent_runs is not None and (not isinstance(num_concurrent_runs, int)
                                                or num_concurrent_runs < 1):
            raise WorkflowConfigurationError(
                f"num_concurrent_runs must be None or an integer >= 1, got {num_concurrent_runs!r}")
        self.timeout = timeout
        self.verbose = verbose
        self.disable_validation = disable_validation
        self.num_concurrent_runs = num_concurrent_runs
        self._steps: dict[str, StepSpec] | None = None
        self._services: dict[str, Workflow] = {}
        self._slots: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary())
        self._live: weakref.WeakSet[Runner] = weakref.WeakSet()
        self._contexts: weakref.WeakSet[Context] = weakref.WeakSet()  # LlamaIndex's attribute
        self.steps()
        error = self._resolved().config_error
        if error is not None:
            raise error

    @property
    def name(self) -> str:
        """The workflow's name as stored with its runs: the class name."""
        return type(self).__name__

    @property
    def _timeout(self) -> float | None:  # LlamaIndex's attribute names
        return self.timeout

    @property
    def _verbose(self) -> bool:
        return self.verbose

    @property
    def _disable_validation(self) -> bool:
        return self.disable_validation

    # --- steps and validation ----------------------------------------------------------------
    def _step_functions(self) -> dict[str, Any]:
        return _class_step_functions(type(self))

    @classmethod
    def add_step(cls, func: Callable[..., Any]) -> None:
        """Add a ``@step``-decorated free function as a step of this workflow class."""
        if not hasattr(func, STEP_ATTR):
            raise WorkflowValidationError(
                f"Step function {getattr(func, '__name__', func)} is missing the `@step` "
                f"decorator.")
        spec: StepSpec = getattr(func, STEP_ATTR)
        spec.is_method = False
        _add_free_step(cls, func)

    def _resolved(self) -> _Resolved:
        cls = type(self)
        cached = _RESOLVED.get(cls)
        if cached is None or cached.version != FREE_STEPS_VERSION[0]:
            specs = {name: resolve_step(f) for name, f in self._step_functions().items()}
            for name, spec in specs.items():
                spec.name = name
            cached = _Resolved(FREE_STEPS_VERSION[0], specs)
            _check_configuration(self.name, cached)
            _RESOLVED[cls] = cached
        return cached

    def steps(self) -> dict[str, StepSpec]:
        """The workflow's steps by name, resolved once per class."""
        steps = getattr(self, "_steps", None)
        if steps is None:
            steps = self._steps = self._resolved().steps
        return steps

    @property
    def start_event_class(self) -> type[StartEvent]:
        """The StartEvent type its first step takes (``run(**kwargs)`` builds one)."""
        return self._resolved().start_class

    @property
    def stop_event_class(self) -> type[StopEvent]:
        """The StopEvent type it ends with; a subclass is returned whole by ``await handler``."""
        return self._resolved().stop_class

    _start_event_class = start_event_class
    _stop_event_class = stop_event_class

    def state_type(self) -> type[BaseModel] | None:
        """The typed state model its steps name as ``Context[MyState]``, or None."""
        return self._resolved().state_type

    def _validate(self) -> bool:
        """Check the event graph before a run; True if it involves a human (HITL)."""
        resolved = self._resolved()
        if resolved.config_error is not None:
            raise resolved.config_error
        specs = resolved.steps
        accepted = {t for s in specs.values() for t in s.accepts}
        produced = {r for s in specs.values() for r in (s.returns or ())}
        hitl = (any(issubclass(r, InputRequiredEvent) for r in produced)
                or any(issubclass(a, HumanResponseEvent) for a in accepted))
        if getattr(self, "disable_validation", False):
            return hitl
        free = (StopEvent, InputRequiredEvent, HumanResponseEvent)
        unused = sorted({r.__name__ for r in produced if r not in accepted
                         and not issubclass(r, free)})
        if unused:
            who = [f"{s.name!r} returns {r.__name__}" for s in specs.values()
                   for r in (s.returns or ()) if r.__name__ in unused]
            raise WorkflowValidationError(
                f"The following events are produced but never consumed: {', '.join(unused)} "
                f"({'; '.join(who)}; no step takes exactly that type). Add a step taking it or "
                f"return another event")
        missing = sorted({n for s in specs.values() for n, _c, d in s.services
                          if d is None and n not in self._services_map()})
        if missing:
            raise WorkflowValidationError(
                f"The following services are not available: {', '.join(missing)}; add them with "
                f"wf.add_workflows({missing[0]}=SomeWorkflow()) or give the parameter a default")
        return hitl

    # --- nested workflows ----------------------------------------------------------------------
    def _services_map(self) -> dict[str, Workflow]:
        services = getattr(self, "_services", None)
        if services is None:
            services = self._services = {}
        return services

    def add_workflows(self, **workflows: Workflow) -> None:
        """Make workflows available to steps by parameter name: a step taking
        ``name: SomeWorkflow`` gets the one added as ``name=``."""
        for name, wf in workflows.items():
            if not isinstance(wf, Workflow):
                raise WorkflowValidationError(f"add_workflows({name}=...) needs a Workflow "
                                              f"instance, got {type(wf).__name__}")
            self._services_map()[name] = wf

    def get_service(self, name: str, default: Any = None) -> Any:
        """The nested workflow added under ``name``, else ``default``."""
        found = self._services_map().get(name, default)
        if found is None:
            raise WorkflowRuntimeError(f"no workflow named {name!r} was added with add_workflows")
        return found

    # --- running -------------------------------------------------------------------------------
    def run(self, ctx: Context | None = None, stepwise: bool = False,
            start_event: StartEvent | None = None, **kwargs: Any) -> WorkflowHandler:
        """Start a run at once and return its handler; ``await`` it for the result.

        ``run(ctx=ctx)`` continues with that context's state (and an in-flight run restored by
        ``Context.from_dict``); a context of your own also records its checkpoints
        (``ctx.checkpoints``, the older LlamaIndex API).
        ``stepwise=True``: nothing runs until ``await handler.run_step()``.
        """
        hitl = self._validate()
        if stepwise and hitl:
            raise WorkflowRuntimeError("Human-in-the-loop is not supported with stepwise "
                                       "execution; run it normally and answer through the stream")
        ev = self._start_event(start_event, kwargs)
        recording = (registered_recording() if ctx is not None and ctx._record and not stepwise
                     else None)
        if recording is not None and ctx is not None:
            return recording.run(self, ctx, ev)
        return self._launch(ev, ctx=ctx, stepwise=stepwise)

    def _start_event(self, start_event: StartEvent | None, kwargs: dict[str, Any]) -> StartEvent:
        """The run's first event: ``start_event``, or the start class built from ``kwargs``."""
        if start_event is not None:
            if not isinstance(start_event, StartEvent):
                raise ValueError("The 'start_event' argument must be an instance of 'StartEvent'.")
            if kwargs:
                raise WorkflowRuntimeError(
                    f"run() got start_event= and also keyword arguments {sorted(kwargs)}; put "
                    f"them on the start event instead")
            return start_event
        cls = self.start_event_class
        try:
            return cls(**kwargs)
        except ValidationError as exc:
            raise WorkflowRuntimeError(
                f"Failed creating a start event of type '{cls.__name__}' with the keyword "
                f"arguments: {kwargs} ({str(exc).splitlines()[0]})") from None

    def _run_slot(self) -> asyncio.Semaphore | None:
        """The semaphore capping concurrent runs on the running loop, if a cap is set."""
        cap = getattr(self, "num_concurrent_runs", None)
        if not cap:
            return None
        slots = getattr(self, "_slots", None)
        if slots is None:
            slots = self._slots = weakref.WeakKeyDictionary()
        loop = asyncio.get_running_loop()
        if loop not in slots:
            slots[loop] = asyncio.Semaphore(cap)
        return slots[loop]

    def is_done(self) -> bool:
        """True when no run of this instance is in progress."""
        return not any(not r.finished for r in getattr(self, "_live", ()))

    def run_from(self, checkpoint: Any, ctx: Context | None = None,
                 **kwargs: Any) -> WorkflowHandler:
        """Resume from a checkpoint in a new run, on ``ctx`` if given (its checkpoints grow)."""
        return context_recording().run_from(self, checkpoint, ctx, **kwargs)

    def _launch(
        self,
        first_event: Event | None,
        *,
        ctx: Context | None = None,
        requeue: dict[str, list[Event]] | None = None,
        observer: RunObserver | None = None,
        run_id: str | None = None,
        timeout: Any = ...,
        stepwise: bool = False,
    ) -> WorkflowHandler:
        """Start a run that begins by emitting ``first_event`` (after ``requeue``)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise WorkflowRuntimeError(
                "run() needs a running asyncio loop: call it inside `async def main()` run by "
                "asyncio.run(main()), or in Jupyter where top-level `await` works"
            ) from None
        steps = self.steps()
        resume_input = None
        if ctx is not None and ctx._resume is not None and requeue is None:
            requeue, resume_input = ctx._resume  # a run restored by Context.from_dict goes on
            ctx._resume = None
            first_event = None
        for name in requeue or {}:
            if name not in steps:
                raise WorkflowValidationError(f"{self.name} has no step {name!r} to re-queue "
                                              f"events for; steps are {sorted(steps)}")
        ctx = ctx or Context(self)
        ctx.workflow = self
        ctx.stepwise = stepwise
        runner = Runner(self, steps, ctx, run_id or str(uuid.uuid4()),
                        getattr(self, "timeout", DEFAULT_TIMEOUT) if timeout is ... else timeout,
                        observer, stepwise=stepwise, resume_input=resume_input)
        live = getattr(self, "_live", None)
        if live is None:
            live = self._live = weakref.WeakSet()
        live.add(runner)
        contexts = getattr(self, "_contexts", None)
        if contexts is None:
            contexts = self._contexts = weakref.WeakSet()
        contexts.add(ctx)
        task = loop.create_task(runner.run(first_event, requeue))
        return WorkflowHandler(runner, task)


def _check_configuration(name: str, resolved: _Resolved) -> None:
    """What upstream checks when a workflow is constructed: one StartEvent type taken, one
    StopEvent type returned (when every step's return is annotated), one typed state."""
    specs = resolved.steps
    starts = {t for s in specs.values() for t in s.accepts if issubclass(t, StartEvent)}
    stops = {t for s in specs.values() for t in (s.returns or ()) if issubclass(t, StopEvent)}
    states = {s.state_type for s in specs.values() if s.state_type is not None}
    problem = None
    if not specs:
        problem = (f"{name} has no steps: decorate its methods with @step. At least one Event of "
                   f"type StartEvent must be received by any step.")
    elif not starts:
        problem = (f"At least one Event of type StartEvent must be received by any step "
                   f"({name}: one step must take `ev: StartEvent`, or a StartEvent subclass).")
    elif len(starts) > 1:
        problem = (f"Only one type of StartEvent is allowed per workflow, found {len(starts)}: "
                   f"{sorted(t.__name__ for t in starts)} ({name}).")
    elif len(stops) > 1:
        problem = (f"Only one type of StopEvent is allowed per workflow, found {len(stops)}: "
                   f"{sorted(t.__name__ for t in stops)} ({name}).")
    elif not stops and all(s.returns is not None for s in specs.values()):
        problem = (f"At least one Event of type StopEvent must be returned by any step ({name}: "
                   f"annotate the last step `-> StopEvent` and return one).")
    elif len(states) > 1:
        problem = (f"{name}: its steps name different state types "
                   f"{sorted(t.__name__ for t in states)}; use one Context[MyState] throughout.")
    if problem is not None:
        resolved.config_error = WorkflowConfigurationError(problem)
        return
    resolved.start_class = starts.pop()
    resolved.stop_class = stops.pop() if stops else StopEvent
    if states:
        resolved.state_type = states.pop()
        register_state_type(resolved.state_type)
