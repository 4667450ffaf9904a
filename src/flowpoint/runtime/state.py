"""``ctx.store``: the user's state of a run — a key/value dict, or a typed pydantic model.

``Context[MyState]`` in a step signature makes the store typed: it is created from ``MyState()``'s
defaults on first use and read or replaced whole with ``get_state`` / ``set_state`` /
``edit_state``. Keys of ``get``/``set`` may be dotted paths (``"user.name"``) into nested values.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import ContextSerdeError, FlowpointError

_MISSING = object()
MAX_DEPTH = 1000


class MissingStateKey(FlowpointError, KeyError, ValueError):
    """``ctx.store.get`` of a key that was never set, with no default given."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DictState(BaseModel):
    """The untyped state as ``get_state()`` returns it: attributes and items of a dict."""

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)

    def __getitem__(self, key: str) -> Any:
        return (self.__pydantic_extra__ or {})[key]

    def __setitem__(self, key: str, value: Any) -> None:
        setattr(self, key, value)

    def __contains__(self, key: object) -> bool:
        return key in (self.__pydantic_extra__ or {})

    def get(self, key: str, default: Any = None) -> Any:
        """A value by key, like ``dict.get``."""
        return (self.__pydantic_extra__ or {}).get(key, default)

    def to_dict(self) -> dict[str, Any]:
        """The state's keys and values (a copy)."""
        return dict(self.__pydantic_extra__ or {})


class StateStore:
    """The user's state of a run (``ctx.store``); values must be serializable to be checkpointed."""

    def __init__(self, data: dict[str, Any] | None = None, *,
                 model: BaseModel | None = None) -> None:
        self._data: dict[str, Any] = dict(data or {})
        self._model = model
        self._lock: asyncio.Lock | None = None

    @classmethod
    def typed(cls, state_type: type[BaseModel], data: dict[str, Any] | None = None) -> StateStore:
        """A typed store: ``state_type`` built from ``data`` (or from its defaults)."""
        try:
            model = state_type.model_validate(data or {})
        except ValidationError as exc:
            hint = ("does it define defaults for all fields?" if not data
                    else "the stored values do not fit it")
            raise ContextSerdeError(
                f"cannot build the context state {state_type.__name__}: {hint} "
                f"({str(exc).splitlines()[0]})") from None
        return cls(model=model)

    @property
    def state_type(self) -> type[BaseModel] | None:
        """The typed state's model class, or None for the untyped key/value store."""
        return type(self._model) if self._model is not None else None

    @property
    def lock(self) -> asyncio.Lock:
        """Held by ``edit_state`` while a step edits the state."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    # --- key / path access -----------------------------------------------------------------------
    async def get(self, path: str, default: Any = _MISSING) -> Any:
        """The value at ``path`` (a key, or a dotted path into nested values); ``default`` if
        given and it is absent, else an error."""
        if self._model is None and path in self._data:
            return self._data[path]
        segments = path.split(".") if path else []
        if len(segments) > MAX_DEPTH:
            raise ValueError(f"path has more than {MAX_DEPTH} segments")
        try:
            value: Any = self._model if self._model is not None else self._data
            for seg in segments:
                value = _step_into(value, seg)
            return value
        except (KeyError, AttributeError, IndexError, TypeError):
            if default is not _MISSING:
                return default
        known = sorted(self.to_dict())
        raise MissingStateKey(f"key {path!r} not found in the context store; known keys: {known}")

    async def set(self, path: str, value: Any) -> None:
        """Set the value at ``path`` (taken into the next checkpoint); a dotted path creates the
        dicts it goes through. A typed state validates the value if its model says so."""
        if not path:
            raise ValueError("ctx.store.set needs a non-empty key")
        if self._model is None and ("." not in path or path in self._data):
            self._data[path] = value
            return
        segments = path.split(".")
        if len(segments) > MAX_DEPTH:
            raise ValueError(f"path has more than {MAX_DEPTH} segments")
        current: Any = self._model if self._model is not None else self._data
        for seg in segments[:-1]:
            try:
                current = _step_into(current, seg)
            except (KeyError, AttributeError, IndexError, TypeError):
                created: dict[str, Any] = {}
                _assign(current, seg, created)
                current = created
        _assign(current, segments[-1], value)

    async def delete(self, key: str) -> None:
        """Remove ``key`` if present (an untyped store's key)."""
        self._data.pop(key, None)

    async def clear(self) -> None:
        """Empty the store; a typed state goes back to its model's defaults."""
        if self._model is None:
            self._data.clear()
            return
        try:
            self._model = type(self._model)()
        except ValidationError:
            raise ValueError(f"cannot clear the state: {type(self._model).__name__} must have "
                             f"defaults for all fields") from None

    # --- whole state -----------------------------------------------------------------------------
    async def get_state(self) -> Any:
        """A copy of the whole state: the typed model, or a ``DictState`` of the keys."""
        if self._model is not None:
            return self._model.model_copy()
        return DictState(**self._data)

    async def set_state(self, state: Any) -> None:
        """Replace the whole state with ``state`` (of the state's model type)."""
        async with self.lock:
            self._put_state(state)

    @asynccontextmanager
    async def edit_state(self) -> AsyncIterator[Any]:
        """``async with ctx.store.edit_state() as s:`` — edit the state under a lock; the edits
        are kept when the block ends (also if other steps edit it concurrently)."""
        async with self.lock:
            state = self._model if self._model is not None else DictState(**self._data)
            yield state
            self._put_state(state)

    def _put_state(self, state: Any) -> None:
        if self._model is not None:
            if not isinstance(state, type(self._model)):
                raise ValueError(f"State must be of type {type(self._model).__name__}, got "
                                 f"{type(state).__name__}")
            self._model = state
        elif isinstance(state, DictState):
            self._data = state.to_dict()
        elif isinstance(state, dict):
            self._data = dict(state)
        else:
            raise ValueError(f"this context's state is untyped (a DictState); got a "
                             f"{type(state).__name__}. Annotate the steps' context as "
                             f"Context[{type(state).__name__}] to use a typed state")

    def to_dict(self) -> dict[str, Any]:
        """The whole store as a dict (a shallow copy); a typed state as its fields' JSON data."""
        if self._model is None:
            return dict(self._data)
        try:
            return self._model.model_dump(mode="json")
        except Exception:  # values JSON cannot hold: the codec names them (or pickles them)
            return {k: getattr(self._model, k) for k in type(self._model).model_fields}

    def is_empty(self) -> bool:
        return self._model is None and not self._data


def _step_into(obj: Any, segment: str) -> Any:
    if isinstance(obj, dict):
        return obj[segment]
    if isinstance(obj, (list, tuple)):
        return obj[int(segment)]
    if isinstance(obj, BaseModel):
        extra = obj.__pydantic_extra__ or {}
        if segment in type(obj).model_fields:
            return getattr(obj, segment)
        if segment in extra:
            return extra[segment]
        raise AttributeError(segment)
    return getattr(obj, segment)


def _assign(obj: Any, segment: str, value: Any) -> None:
    if isinstance(obj, dict):
        obj[segment] = value
    elif isinstance(obj, list):
        obj[int(segment)] = value
    elif isinstance(obj, BaseModel) and segment not in type(obj).model_fields and (
            obj.model_config.get("extra") != "allow"):
        raise AttributeError(f"{type(obj).__name__} has no field {segment!r}")
    else:
        setattr(obj, segment, value)


#: Typed state models named by ``Context[...]`` in loaded workflows, by "module.QualName".
#: A stored typed state is decoded only through this map (or the workflow's own model).
STATE_TYPES: dict[str, type[BaseModel]] = {}


def state_key(cls: type) -> str:
    """The stored name of a typed state model: ``module.QualName``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def register_state_type(cls: type[BaseModel]) -> None:
    """Make ``cls`` decodable from stored data (done for every ``Context[cls]`` a step names)."""
    STATE_TYPES[state_key(cls)] = cls


def lookup_state_type(key: str, preferred: type[BaseModel] | None = None) -> type[BaseModel] | None:
    """The registered model for a stored key (``preferred`` first), or None; never imports.

    As for events, a key from another module (``__main__`` vs a script) matches a model whose
    qualified name is the same and unique.
    """
    def tail(k: str) -> str:
        return k.split(".<locals>.")[-1] if "<locals>" in k else k.rsplit(".", 1)[-1]

    if preferred is not None and (state_key(preferred) == key or
                                  tail(state_key(preferred)) == tail(key)):
        return preferred
    cls = STATE_TYPES.get(key)
    if cls is not None:
        return cls
    matches = {c for k, c in STATE_TYPES.items() if tail(k) == tail(key)}
    return matches.pop() if len(matches) == 1 else None
