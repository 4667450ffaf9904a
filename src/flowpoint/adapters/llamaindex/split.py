"""A 2.x checkpoint's state split for the store as it is taken, through the run's StateSplitter.

``ctx.store`` is what grows in a long run: its lists are kept in chunks (a list grown at its end
costs only its new items), long texts by identity, and while the run writes no state the whole
part is the previous checkpoint's. The work in flight and the runtime snapshot are small and
encoded each time. It reads back exactly as the whole state would (the store splits that the
same way). A state with no list or long text is cheaper stored whole, so it is.
"""

from __future__ import annotations

from typing import Any

from workflows.context.state_store import DictState
from workflows.events import Event

from ...checkpoints.codec import MARKERS, encode_value
from ...storage.contentstore import BLOB_MIN
from ...storage.records import EncodedState
from ...storage.statesplitter import SplitPass, StateSplitter
from .snapshot import dict_data, escaped
from .types import TypeRegistry


def worth_splitting(model: Any, registry: TypeRegistry) -> bool:
    """True for a state the splitter saves work on: a DictState holding a list (kept in chunks)
    or a long text (kept by identity). Other states cost less encoded whole."""
    if not isinstance(model, DictState):
        return False
    cached = registry.state_cache.of(model)
    if cached.split is None:
        cached.split = any(type(v) is list or (type(v) is str and len(v) > BLOB_MIN)
                           for v in dict_data(model).values())
    return cached.split


class StoreSplit:
    """The ``store`` part of one run's checkpoints, split incrementally."""

    def __init__(self, splitter: StateSplitter, registry: TypeRegistry) -> None:
        self.splitter = splitter
        self.registry = registry
        self._last: tuple[Any, Any, frozenset[str]] | None = None  # model, piece, its blobs

    def reset(self) -> None:
        self._last = None
        self.splitter.reset()

    def piece(self, model: DictState, work: SplitPass) -> Any:
        """The manifest piece of the DictState ``model``, key by key from its values (a list
        through its chunks)."""
        last = self._last
        if last is not None and last[0] is model:  # a write makes a new model: nothing changed
            work.touched.update(last[2])
            return last[1]
        own = SplitPass()
        splitter = self.splitter
        pieces: dict[str, Any] = {}
        for key, value in dict_data(model).items():
            to_json = self._to_json(key)
            if type(value) is list:
                pieces[key] = splitter.list(("store", key), value, to_json, _frozen, own)
            else:
                pieces[key] = splitter.value(("store", key), value, to_json, own)
        piece = escaped(pieces) if MARKERS.intersection(pieces) else splitter.mapping(pieces)
        work.blobs.update(own.blobs)
        work.touched.update(own.touched)
        self._last = (model, piece, frozenset(own.blobs.keys() | own.touched))
        return piece

    def _to_json(self, key: str) -> Any:
        ser = self.registry.serializer
        path = f"ctx.store[{key!r}]"

        def to_json(value: Any) -> Any:
            return encode_value(ser.serialize_value(value), path)

        return to_json


def split_snapshot(parts: dict[str, Any], model: DictState, store: StoreSplit) -> EncodedState:
    """The EncodedState of a snapshot: ``parts`` (JSON-able; its ``store`` entry a placeholder)
    with the state ``model`` as its ``store``. Reads back as the whole snapshot would."""
    work = SplitPass()
    small = store.splitter.small
    rest = {k: v for k, v in parts.items() if k != "store"}
    kept = small(rest, work)  # small enough to stay as it is, most of the time: one pass
    if kept is not rest:
        kept = {k: small(v, work) for k, v in rest.items()}
    manifest = {"store": store.piece(model, work), **kept}

    def rebuild() -> EncodedState:
        store.reset()
        return split_snapshot(parts, model, store)

    return store.splitter.finish(manifest, work, rebuild)


def _frozen(value: Any) -> bool:
    """Items of a stored list whose encoding can be kept by identity: they cannot change."""
    return type(value) in _IMMUTABLE or isinstance(value, Event)


_IMMUTABLE = frozenset((str, int, float, bool, type(None)))
