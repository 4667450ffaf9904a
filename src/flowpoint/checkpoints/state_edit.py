"""Validating a human's edit of a checkpoint's ``ctx.store`` values before resuming with them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import InvalidEdit
from .codec import UnknownEvent, encode_value


def _plain(value: Any) -> Any:
    """JSON-able form of a value for the run's ``edited`` record (repr when it has none)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    try:
        return encode_value(value, "edited state")
    except Exception:  # the record is for people to read; an odd value must not block the edit
        return {"__repr__": repr(value)[:2000]}


def _validated(key: str, old: Any, new: Any) -> Any:
    """``new`` as the value of ``key``: a typed (pydantic) state is validated by its model."""
    if isinstance(old, UnknownEvent):
        raise InvalidEdit(f"ctx.store[{key!r}] holds an event of type {old.type_key!r}, which is "
                          f"not loaded; it cannot be edited")
    if isinstance(old, BaseModel):
        model = type(old)
        if isinstance(new, model):
            new = new.model_dump()
        elif isinstance(new, BaseModel):
            raise InvalidEdit(f"ctx.store[{key!r}] is a {model.__name__}; got a "
                              f"{type(new).__name__} (pass a {model.__name__} or a dict of its "
                              f"fields)")
        if not isinstance(new, dict):
            raise InvalidEdit(f"ctx.store[{key!r}] is a {model.__name__}; pass a dict of its "
                              f"fields (or a {model.__name__}), not a {type(new).__name__}")
        try:
            return model.model_validate({**old.model_dump(), **new})
        except ValidationError as exc:
            raise InvalidEdit(f"edited ctx.store[{key!r}] is not a valid {model.__name__}: "
                              f"{exc}") from None
    return new


def apply_state_edit(store: dict[str, Any], state: dict[str, Any] | None
                     ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The store with ``state``'s keys set (validated), and the record of what changed.

    ``state`` maps keys of ``ctx.store`` to new values; keys not named keep their value. A
    typed state (a pydantic model) takes a dict of the fields to change and is re-validated.
    """
    if state is None:
        return store, None
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise InvalidEdit(f"state must be a dict of ctx.store keys to new values, got "
                          f"{type(state).__name__}")
    out = dict(store)
    changes: dict[str, Any] = {}
    for key, new in state.items():
        old = store.get(key)
        value = _validated(key, old, new)
        before, after = _plain(old) if key in store else None, _plain(value)
        if key in store and before == after:
            continue
        _check_storable(key, value)
        out[key] = value
        changes[key] = {"before": before, "after": after}
    return out, ({"changes": changes} if changes else None)


def _check_storable(key: str, value: Any) -> None:
    if isinstance(value, BaseModel):
        return
    try:
        encode_value(value, f"ctx.store[{key!r}]")
    except Exception as exc:
        raise InvalidEdit(f"edited ctx.store[{key!r}] cannot be stored: {exc}") from None
