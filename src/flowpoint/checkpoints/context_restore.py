"""A run's context rebuilt from a stored checkpoint of flowpoint's runtime, with edits applied."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidEdit, StepNotInWorkflow, UnknownEventType
from ..runtime.context import Context
from ..runtime.events import Event
from ..runtime.workflow import Workflow
from .codec import JsonCodec, UnknownEvent
from .edit import validate_edit
from .model import Checkpoint
from .restore import check_decoded_state, check_raw_state
from .state_edit import apply_state_edit


def refuse_unknown(ev: Any, ckpt: Checkpoint, what: str) -> None:
    """Refuse to resume with an event whose type could not be loaded (a placeholder)."""
    if isinstance(ev, UnknownEvent):
        raise UnknownEventType(f"cannot resume from checkpoint {ckpt.id_[:8]}: {what} has type "
                               f"{ev.type_key!r}, which cannot be loaded ({ev.reason})")


def restore_context(workflow: Workflow, ckpt: Checkpoint, codec: JsonCodec,
                    output_event: Event | dict | None, state_edit: dict[str, Any] | None,
                    kwargs: dict[str, Any], ctx: Context | None = None,
                    ) -> tuple[Context, dict[str, list[Event]], Event | None, dict[str, Any] | None]:
    """``ckpt``'s context (loaded into ``ctx`` if given), checked against ``workflow``:
    (ctx, events to re-queue by step, the first event to emit, what was edited)."""
    steps = workflow.steps()
    if ckpt.last_completed_step is not None and ckpt.last_completed_step not in steps:
        raise StepNotInWorkflow(
            f"checkpoint {ckpt.id_[:8]} was taken after step {ckpt.last_completed_step!r}, "
            f"which {workflow.name} does not have (its steps: {sorted(steps)})")
    check_raw_state(ckpt.id_, ckpt.raw_state)
    state = codec.decode_state(ckpt.raw_state)
    check_decoded_state(ckpt.id_, state)
    store, store_edit = apply_state_edit(state.get("store") or {}, state_edit)
    ctx = ctx if ctx is not None else Context(workflow)
    requeue = ctx.restore({**state, "store": store})
    for step_name in requeue:
        if step_name not in steps:
            raise StepNotInWorkflow(
                f"checkpoint {ckpt.id_[:8]} has events waiting for step {step_name!r}, which "
                f"{workflow.name} does not have (its steps: {sorted(steps)})")
    first, edited = validate_edit(ckpt, output_event, kwargs)
    refuse_unknown(first, ckpt, "its output event")
    if first is None and not requeue:
        raise InvalidEdit(f"checkpoint {ckpt.id_[:8]} has no output event and nothing in "
                          f"flight, so a run from it would do nothing; pass output_event=...")
    if store_edit is not None:
        edited = {**(edited or {}), "state": store_edit}
    return ctx, requeue, first, edited
