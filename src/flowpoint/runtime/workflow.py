"""`Workflow`: a class whose `@step` methods form an event graph; `run()` starts a run."""

from __future__ import annotations

import asyncio
import uuid
import weakref
from typing import Any

from ..errors import WorkflowRuntimeError, WorkflowValidationError
from .context import Context
from .events import Event, InputRequiredEvent, StartEvent, StopEvent
from .handler import WorkflowHandler
from .recording import context_recording, registered_recording
from .runner import Runner, RunObserver
from .step import FREE_STEPS_VERSION, STEP_ATTR, StepSpec, resolve_step

_RESOLVED: weakref.WeakKeyDictionary[type, tuple[int, dict[str, StepSpec]]] = (
    weakref.WeakKeyDictionary())


class Workflow:
    """Subclass it and decorate async methods with ``@step``; ``run(**kwargs)`` starts a run.

    ``timeout`` (seconds, None = no limit) bounds a run; a run waiting for a human counts too.
    """

    _free_steps: dict[str, Any] = {}

    def __init__(self, timeout: float | None = None, verbose: bool = False, **_: Any) -> None:
        self.timeout = timeout
        self.verbose = verbose
        self._steps: dict[str, StepSpec] | None = None

    @property
    def name(self) -> str:
        """The workflow's name as stored with its runs: the class name."""
        return type(self).__name__

    # --- steps and validation ----------------------------------------------------------------
    def _step_functions(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for klass in reversed(type(self).__mro__):
            for attr, value in vars(klass).items():
                if callable(value) and hasattr(value, STEP_ATTR):
                    found[attr] = value
            found.update(klass.__dict__.get("_free_steps", {}))
        return found

    def steps(self) -> dict[str, StepSpec]:
        """The workflow's steps by name, resolved and validated once per class."""
        if self._steps is None:
            cls = type(self)
            cached = _RESOLVED.get(cls)
            if cached is None or cached[0] != FREE_STEPS_VERSION[0]:
                specs = {name: resolve_step(f) for name, f in self._step_functions().items()}
                for name, spec in specs.items():
                    spec.name = name
                self._validate(specs)
                cached = (FREE_STEPS_VERSION[0], specs)
                _RESOLVED[cls] = cached
            self._steps = cached[1]
        return self._steps

    def _validate(self, specs: dict[str, StepSpec]) -> None:
        if not specs:
            raise WorkflowValidationError(f"{self.name} has no steps: decorate async methods "
                                          f"with @step")
        if not any(issubclass(StartEvent, s.accepts) for s in specs.values()):
            raise WorkflowValidationError(f"{self.name}: no step accepts StartEvent; one step "
                                          f"must take `ev: StartEvent` to begin a run")
        accepted = tuple(t for s in specs.values() for t in s.accepts)
        free_types = (StopEvent, InputRequiredEvent)
        for s in specs.values():
            for ret in s.returns or ():
                if issubclass(ret, free_types) or (accepted and issubclass(ret, accepted)):
                    continue
                raise WorkflowValidationError(
                    f"{self.name}: step {s.name!r} returns {ret.__name__}, but no step accepts "
                    f"{ret.__name__}; add a step taking it or return another event"
                )

    # --- running -------------------------------------------------------------------------------
    def run(self, ctx: Context | None = None, start_event: StartEvent | None = None,
            **kwargs: Any) -> WorkflowHandler:
        """Start a run at once and return its handler; ``await`` it for the result.

        Given a ``ctx``, the run records its checkpoints on it (``ctx.checkpoints``).
        """
        ev = start_event if start_event is not None else StartEvent(**kwargs)
        recording = registered_recording() if ctx is not None else None
        if recording is not None and ctx is not None:
            return recording.run(self, ctx, ev)
        return self._launch(ev, ctx=ctx)

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
        for name in requeue or {}:
            if name not in steps:
                raise WorkflowValidationError(f"{self.name} has no step {name!r} to re-queue "
                                              f"events for; steps are {sorted(steps)}")
        ctx = ctx or Context(self)
        ctx.workflow = self
        runner = Runner(self, steps, ctx, run_id or str(uuid.uuid4()),
                        self.timeout if timeout is ... else timeout, observer)
        task = loop.create_task(runner.run(first_event, requeue))
        return WorkflowHandler(runner, task)

