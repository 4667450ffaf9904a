"""`@step`: marks a method (or a free function bound to a workflow) as a step of a workflow."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Union, get_args, get_origin

from ..errors import WorkflowValidationError
from .events import EVENT_REGISTRY, Event

STEP_ATTR = "__flowpoint_step__"
FREE_STEPS_VERSION = [0]  # bumped when a free function joins a workflow class


@dataclass
class StepSpec:
    """What the run loop needs to know about one step, resolved from its signature."""

    name: str
    func: Callable[..., Any]
    num_workers: int = 1
    retry_policy: Any = None
    accepts: tuple[type[Event], ...] = ()
    returns: tuple[type, ...] | None = None  # None: not annotated, not checked
    event_param: str | None = None
    ctx_param: str | None = None
    is_method: bool = True


def step(
    func: Callable[..., Any] | None = None,
    *,
    num_workers: int = 1,
    retry_policy: Any = None,
    workflow: type | None = None,
) -> Any:
    """Decorate an async method (or, with ``workflow=Cls``, a free function) as a workflow step.

    The event types it accepts come from the annotation of its event parameter (unions allowed);
    a parameter annotated ``Context`` (or named ``ctx``) receives the run's context.
    """
    if not isinstance(num_workers, int) or num_workers < 1:
        raise WorkflowValidationError(f"num_workers must be an integer >= 1, got {num_workers!r}")

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        if not inspect.iscoroutinefunction(f) and not callable(f):
            raise WorkflowValidationError(f"@step needs a function, got {f!r}")
        spec = StepSpec(
            name=f.__name__,
            func=f,
            num_workers=num_workers,
            retry_policy=retry_policy,
            is_method=workflow is None,
        )
        setattr(f, STEP_ATTR, spec)
        if workflow is not None:
            free = workflow.__dict__.get("_free_steps")
            if free is None:
                free = {}
                workflow._free_steps = free
            free[spec.name] = f
            FREE_STEPS_VERSION[0] += 1
        return f

    return decorate(func) if func is not None else decorate


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


def resolve_step(func: Callable[..., Any]) -> StepSpec:
    """Fill in accepted and returned event types from the step function's annotations."""
    from .context import Context

    spec: StepSpec = replace(getattr(func, STEP_ATTR))
    hints = _type_hints(func)
    params = list(inspect.signature(func).parameters.values())
    if spec.is_method and params:
        params = params[1:]
    for p in params:
        ann = hints.get(p.name)
        if ann is Context or (isinstance(ann, type) and issubclass(ann, Context)):
            spec.ctx_param = p.name
        elif ann is None and p.name == "ctx":
            spec.ctx_param = p.name
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
    if spec.event_param is None:
        raise WorkflowValidationError(
            f"step {spec.name!r} has no event parameter; add one annotated with the Event "
            f"subclass it accepts, e.g. `async def {spec.name}(self, ev: StartEvent)`"
        )
    if "return" in hints:
        spec.returns = tuple(r for r in _flatten(hints["return"]) if r is not type(None))
        bad = [r for r in spec.returns if not (isinstance(r, type) and issubclass(r, Event))]
        if bad:
            raise WorkflowValidationError(
                f"step {spec.name!r} is annotated to return {bad[0]!r}, which is not an Event"
            )
    return spec
