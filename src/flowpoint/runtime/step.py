"""`@step`: marks a method (or a free function bound to a workflow) as a step of a workflow."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from ..errors import WorkflowValidationError
from .events import EVENT_REGISTRY, Event, StopEvent

STEP_ATTR = "__flowpoint_step__"
FREE_STEPS_VERSION = [0]  # bumped when a free function joins a workflow class
DEFAULT_NUM_WORKERS = 4


@dataclass
class StepSpec:
    """What the run loop needs to know about one step, resolved from its signature."""

    name: str
    func: Callable[..., Any]
    num_workers: int = DEFAULT_NUM_WORKERS
    retry_policy: Any = None
    accepts: tuple[type[Event], ...] = ()
    returns: tuple[type, ...] | None = None  # None: not annotated, not checked
    event_param: str | None = None
    ctx_param: str | None = None
    is_method: bool = True
    is_async: bool = True
    state_type: type[BaseModel] | None = None  # from a ``ctx: Context[MyState]`` annotation
    services: tuple[tuple[str, type, Any], ...] = ()  # (param, Workflow subclass, default)


def is_free_function(qualname: str) -> bool:
    """A module-level or nested function, not a method defined in a class body."""
    parts = qualname.split(".")
    return len(parts) == 1 or (parts[-2] == "<locals>")


def step(
    func: Callable[..., Any] | None = None,
    *,
    num_workers: int = DEFAULT_NUM_WORKERS,
    retry_policy: Any = None,
    workflow: type | None = None,
) -> Any:
    """Decorate a method (or, with ``workflow=Cls``, a free function) as a workflow step.

    The event types it accepts come from the annotation of its event parameter (unions allowed);
    a parameter annotated ``Context`` (or ``Context[MyState]``, or named ``ctx``) receives the
    run's context, one annotated with a ``Workflow`` subclass a nested workflow. A plain ``def``
    step runs in a worker thread, off the event loop. Misuse is reported here, at definition.
    """
    if not isinstance(num_workers, int) or isinstance(num_workers, bool) or num_workers < 1:
        raise WorkflowValidationError(
            f"num_workers must be an integer greater than 0, got {num_workers!r}")

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(f) or isinstance(f, type):
            raise WorkflowValidationError(f"@step decorates a function or method, got {f!r}")
        qualname = getattr(f, "__qualname__", getattr(f, "__name__", ""))
        params = list(inspect.signature(f).parameters)
        free = is_free_function(qualname) and not (workflow is None and params[:1] == ["self"])
        spec = StepSpec(
            name=f.__name__,
            func=f,
            num_workers=num_workers,
            retry_policy=retry_policy,
            is_method=not free,
            is_async=inspect.iscoroutinefunction(f),
        )
        setattr(f, STEP_ATTR, spec)
        _check_now(f)
        if free and workflow is None:
            raise WorkflowValidationError(
                f"To decorate {f.__name__} please pass a workflow class to the @step decorator. "
                f"Use @step(workflow=MyWorkflow) for a free function, or define it as a method "
                f"of the workflow class")
        if free and workflow is not None:
            _add_free_step(workflow, f)
        return f

    return decorate(func) if func is not None else decorate


def _check_now(f: Callable[..., Any]) -> None:
    """Report a wrong signature at definition time, when its annotations can be resolved yet."""
    try:
        typing.get_type_hints(f)
    except Exception:  # forward references: checked when the workflow resolves its steps
        if not inspect.signature(f).parameters:
            raise WorkflowValidationError(
                f"step {f.__name__!r} takes no parameters; it needs an event parameter, e.g. "
                f"`ev: StartEvent`") from None
        return
    resolve_step(f)


def _add_free_step(workflow: type, f: Callable[..., Any]) -> None:
    name = f.__name__
    existing = _class_step_functions(workflow).get(name)
    if existing is not None and not _same_definition(existing, f):
        raise WorkflowValidationError(
            f"A step {name} is already part of this workflow, please choose another name.")
    free = workflow.__dict__.get("_free_steps")
    if free is None:
        free = {}
        workflow._free_steps = free  # type: ignore[attr-defined]
    free[name] = f
    FREE_STEPS_VERSION[0] += 1


def _same_definition(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    """A notebook cell run again redefines its free step; that replaces it, it is no clash."""
    return (getattr(a, "__module__", None) == getattr(b, "__module__", None)
            and getattr(a, "__qualname__", None) == getattr(b, "__qualname__", None))


def _class_step_functions(cls: type) -> dict[str, Any]:
    """Every step of a workflow class (methods and free functions), by name."""
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if callable(value) and hasattr(value, STEP_ATTR):
                found[attr] = value
        found.update(klass.__dict__.get("_free_steps", {}))
    return found


def _flatten(annotation: Any) -> tuple[Any, ...]:
    origin = get_origin(annotation)
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        out: tuple[Any, ...] = ()
        for arg in get_args(annotation):
            out += _flatten(arg)
        return out
    if annotation is None:
        return (type(None),)
    return (annotation,)


def _type_hints(func: Callable[..., Any]) -> dict[str, Any]:
    """Annotations resolved to objects; names unknown to the module fall back to the registry."""
    try:
        return typing.get_type_hints(func)
    except (NameError, TypeError):
        pass
    by_name = {c.__name__: c for c in EVENT_REGISTRY.values()}
    from .context import Context

    namespace = {**by_name, "Context": Context, **getattr(func, "__globals__", {})}
    hints = {}
    for key, ann in getattr(func, "__annotations__", {}).items():
        if isinstance(ann, str):
            try:
                ann = eval(ann, namespace)  # noqa: S307 - annotations of the user's own code
            except Exception as exc:
                raise WorkflowValidationError(
                    f"step {func.__name__!r}: cannot resolve the annotation {ann!r} of {key!r}"
                ) from exc
        hints[key] = ann
    return hints


def _context_state(ann: Any) -> tuple[bool, type[BaseModel] | None]:
    """(is a Context annotation, the typed state model of ``Context[MyState]`` or None)."""
    from .context import Context

    origin = get_origin(ann)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Context):
        args = get_args(ann)
        state = args[0] if args else None
        if state is not None and not (isinstance(state, type) and issubclass(state, BaseModel)):
            raise WorkflowValidationError(
                f"Context[{state!r}]: the state type must be a pydantic BaseModel subclass")
        return True, state
    return (ann is Context or (isinstance(ann, type) and issubclass(ann, Context))), None


def _is_workflow_class(ann: Any) -> bool:
    from .workflow import Workflow

    return isinstance(ann, type) and issubclass(ann, Workflow)


def resolve_step(func: Callable[..., Any]) -> StepSpec:
    """Fill in accepted and returned event types from the step function's annotations."""
    spec: StepSpec = replace(getattr(func, STEP_ATTR))
    hints = _type_hints(func)
    params = list(inspect.signature(func).parameters.values())
    if spec.is_method and params:
        params = params[1:]
    services: list[tuple[str, type, Any]] = []
    for p in params:
        if p.name in ("self", "cls") and p.name not in hints:
            continue
        ann = hints.get(p.name)
        is_ctx, state = _context_state(ann)
        if is_ctx:
            spec.ctx_param = p.name
            spec.state_type = state
        elif ann is None and p.name == "ctx":
            spec.ctx_param = p.name
        elif _is_workflow_class(ann):
            default = None if p.default is inspect.Parameter.empty else p.default
            services.append((p.name, ann, default))
        elif spec.event_param is None:
            if ann is None:
                raise WorkflowValidationError(
                    f"step {spec.name!r}: its event parameter {p.name!r} has no type annotation; "
                    f"annotate it with the Event subclass(es) it accepts, e.g. `ev: StartEvent`"
                )
            accepted = _flatten(ann)
            bad = [a for a in accepted if not (isinstance(a, type) and issubclass(a, Event))]
            if bad:
                raise WorkflowValidationError(
                    f"step {spec.name!r}: parameter {p.name!r} is annotated {ann!r}; "
                    f"it must be an Event subclass or a union of them"
                )
            spec.event_param = p.name
            spec.accepts = tuple(accepted)
        elif p.default is inspect.Parameter.empty:
            raise WorkflowValidationError(
                f"step {spec.name!r}: parameter {p.name!r} is neither the event, the Context nor "
                f"a nested Workflow, and has no default; a step takes exactly one event parameter")
    spec.services = tuple(services)
    if spec.event_param is None:
        raise WorkflowValidationError(
            f"step {spec.name!r} has no event parameter; add one annotated with the Event "
            f"subclass it accepts, e.g. `async def {spec.name}(self, ev: StartEvent)`"
        )
    stops = [a.__name__ for a in spec.accepts if issubclass(a, StopEvent)]
    if stops:
        raise WorkflowValidationError(
            f"Step '{spec.name}' cannot accept StopEvent. StopEvent signals the end of the "
            f"workflow. Use a different Event type instead (it accepts {', '.join(stops)}).")
    if "return" in hints:
        spec.returns = tuple(r for r in _flatten(hints["return"]) if r is not type(None))
        bad = [r for r in spec.returns if not (isinstance(r, type) and issubclass(r, Event))]
        if bad:
            raise WorkflowValidationError(
                f"step {spec.name!r} is annotated to return {bad[0]!r}, which is not an Event"
            )
    return spec
