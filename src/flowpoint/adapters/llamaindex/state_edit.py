"""Editing a 2.x run's ``ctx.store`` state before resuming: dict state by key, typed by field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from workflows.context.state_store import DictState

from ...checkpoints.state_edit import apply_state_edit
from ...errors import InvalidEdit
from .types import TypeRegistry


def edit_state(model: BaseModel, edit: dict[str, Any], registry: TypeRegistry
               ) -> tuple[BaseModel, dict[str, Any] | None]:
    """``model`` with ``edit`` applied and validated, and the record of what changed.

    A DictState takes new values by key; a typed state takes new values of its fields and is
    validated by its own model class.
    """
    if isinstance(model, DictState):
        values, record = apply_state_edit(dict(model._data), _models_read(edit, registry))
        return type(model)(**values), record
    cls = type(model)
    unknown = sorted(set(edit) - set(cls.model_fields))
    if unknown:
        raise InvalidEdit(f"the state {cls.__name__} has no field(s) {unknown}; its fields are "
                          f"{sorted(cls.model_fields)}")
    fields, record = apply_state_edit(model.model_dump(), edit)
    try:
        return cls.model_validate(fields), record
    except ValidationError as exc:
        raise InvalidEdit(f"edited state is not a valid {cls.__name__}: {exc}") from None


def _models_read(edit: dict[str, Any], registry: TypeRegistry) -> dict[str, Any]:
    """New DictState values with pydantic values given in their stored form (``{"__is_pydantic":
    true, "value": ..., "qualified_name": ...}``, as the state shows them) read back as models,
    through loaded classes only."""
    def read() -> dict[str, Any]:
        ser = registry.serializer
        return {k: ser.deserialize_value(v) if isinstance(v, (dict, list)) else v
                for k, v in edit.items()}

    try:
        return registry.reading(read)
    except (ValueError, TypeError, ValidationError) as exc:
        raise InvalidEdit(f"edited state holds a value that cannot be read: {exc}") from None
