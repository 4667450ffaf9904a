"""The store query behind a checkpointer's listings, built from the filters users pass."""

from __future__ import annotations

from typing import Any

from ..storage.records import CheckpointQuery
from .lookup import epoch


def type_keys(value: Any) -> tuple[str, ...] | None:
    """Type filters as store keys: classes by registry key, strings as given (bare or full)."""
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
    return tuple(f"{t.__module__}.{t.__qualname__}" if isinstance(t, type) else str(t)
                 for t in items)


def names(value: Any) -> tuple[Any, ...] | None:
    """One value or a collection of them as a tuple (None: no filter)."""
    if value is None:
        return None
    return tuple(value) if isinstance(value, (list, tuple, set, frozenset)) else (value,)


def checkpoint_query(scope: tuple[str, ...] | None, run_id: Any = None,
                     last_completed_step: Any = None, input_event_type: Any = None,
                     output_event_type: Any = None, status: Any = None, workflow: Any = None,
                     text: str | None = None, created_after: Any = None,
                     created_before: Any = None, descending: bool = False,
                     include_start: bool = True) -> CheckpointQuery:
    """The AND of every filter given (a list inside one is an OR); ``workflow`` defaults to
    ``scope``. ``last_completed_step=None`` is no filter; ``[None]`` matches start checkpoints."""
    return CheckpointQuery(
        run_ids=names(run_id),
        steps=None if last_completed_step is None or last_completed_step is ... else
        names(last_completed_step),
        input_types=type_keys(input_event_type), output_types=type_keys(output_event_type),
        statuses=names(status),
        workflows=names(workflow) if workflow is not None else scope,
        text=text or None,
        created_after=epoch(created_after, "created_after"),
        created_before=epoch(created_before, "created_before"),
        descending=descending, include_start=include_start)
