"""Split the successive states of one run into manifests and blobs, encoding only what changed.

``split_state`` encodes a whole state every time. A run's checkpoints mostly repeat the one before
plus a little: lists grown at their end (the event log, lists in ``ctx.store``) and values left
alone. A StateSplitter lives as long as its run: it keeps each list's finished chunks by hash
(ChunkedList) and the reference of each large immutable value, and knows which blobs earlier
checkpoints of the run stored, so a checkpoint carries only its new blobs. What it produces
decodes with ``join_state`` exactly like ``split_state``'s output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .chunkedlist import ChunkedList
from .contentstore import _MARKERS, ESC, Blobs, _encode, _item_bytes, compact_text
from .records import EncodedState

ToJson = Callable[[Any], Any]


def _always(_value: Any) -> bool:
    return True


_PAIRS: dict[tuple[str, str], bytes] = {}


def pair_bytes(item: Any, blobs: Blobs) -> bytes:
    """Canonical bytes of a ``[text, text]`` list (the runtime's accepted-events entries:
    step, event type), kept across runs, in which the same few pairs recur."""
    if type(item) is not list or len(item) != 2 or type(item[0]) is not str \
            or type(item[1]) is not str:
        return _item_bytes(item, blobs)
    key = (item[0], item[1])
    data = _PAIRS.get(key)
    if data is None:
        before = len(blobs)
        data = _item_bytes(item, blobs)
        if len(blobs) != before:  # a part stored apart: not kept
            return data
        if len(_PAIRS) > 4096:
            _PAIRS.clear()
        _PAIRS[key] = data
    return data


class SplitPass:
    """The blobs made and the older blobs relied on while encoding one checkpoint."""

    __slots__ = ("blobs", "touched")

    def __init__(self) -> None:
        self.blobs: Blobs = {}
        self.touched: set[str] = set()


class StateSplitter:
    """Per-run memory of how earlier checkpoints were split (see the module docstring)."""

    def __init__(self) -> None:
        self._lists: dict[Any, ChunkedList] = {}
        self._values: dict[Any, tuple[str, Any, frozenset[str]]] = {}
        self._stored: set[str] = set()
        self._bytes: dict[int, tuple[Any, bytes]] = {}

    def reset(self) -> None:
        """Forget everything: the next checkpoint is encoded whole, with all its blobs."""
        self._lists.clear()
        self._values.clear()
        self._stored.clear()
        self._bytes.clear()

    def kept_bytes(self, to_json: ToJson) -> Callable[[Any, Blobs], bytes]:
        """Canonical bytes of immutable items (events), kept by identity: events waiting in
        queues and buffers are written again at every checkpoint until they are consumed."""
        cache = self._bytes

        def item_bytes(item: Any, blobs: Blobs) -> bytes:
            hit = cache.get(id(item))
            if hit is not None and hit[0] is item:
                return hit[1]
            before = len(blobs)
            data = _item_bytes(to_json(item), blobs)
            if len(blobs) == before:  # nothing of it stored apart: safe to reuse as is
                if len(cache) > 65536:
                    cache.clear()
                cache[id(item)] = (item, data)
            return data

        return item_bytes

    def events(self, key: Any, groups: dict[str, Any], to_json: ToJson, work: SplitPass) -> Any:
        """A dict of lists of events (queues, work in progress; one level deeper for collect
        buffers), each list encoded from the kept bytes of its events."""
        item_bytes = self.kept_bytes(to_json)
        out: dict[str, Any] = {}
        for name, value in groups.items():
            if isinstance(value, dict):
                out[name] = self.events((*key, name), value, to_json, work)
                continue
            chunks = self._lists.get((*key, name))
            if chunks is None:
                chunks = self._lists[(*key, name)] = ChunkedList()
            out[name] = chunks.encode(value, to_json, _always, work.blobs, work.touched,
                                      item_bytes=item_bytes)
        return self.mapping(out)

    def list(self, key: Any, items: Sequence[Any], to_json: ToJson,
             frozen: Callable[[Any], bool], work: SplitPass, append_only: bool = False) -> Any:
        """The manifest piece of a list; ``frozen(item)`` says an item can never change,
        ``append_only`` that the list is only ever appended to (see ChunkedList.encode)."""
        chunks = self._lists.get(key)
        if chunks is None:
            chunks = self._lists[key] = ChunkedList()
        return chunks.encode(items, to_json, frozen, work.blobs, work.touched, append_only,
                             self.kept_bytes(to_json) if frozen is _always else None)

    def list_text(self, key: Any, items: Sequence[Any], to_json: ToJson,
                  frozen: Callable[[Any], bool], work: SplitPass, append_only: bool = False,
                  item_bytes: Callable[[Any, Blobs], bytes] | None = None) -> str:
        """``list``'s piece as the stored JSON text, made from the items' kept bytes
        (``item_bytes``, if given, makes those of an item)."""
        chunks = self._lists.get(key)
        if chunks is None:
            chunks = self._lists[key] = ChunkedList()
        if item_bytes is None and frozen is _always:
            item_bytes = self.kept_bytes(to_json)
        return chunks.encode_text(items, to_json, frozen, work.blobs, work.touched, append_only,
                                  item_bytes)

    def events_text(self, key: Any, groups: dict[str, Any], to_json: ToJson,
                    work: SplitPass) -> str:
        """``events``' piece as the stored JSON text."""
        if not groups:
            return "{}"
        return compact_text(self.events(key, groups, to_json, work))

    def value(self, key: Any, value: Any, to_json: ToJson, work: SplitPass) -> Any:
        """The manifest piece of any other value; a string seen before costs nothing."""
        hit = self._values.get(key)
        if hit is not None and hit[0] is value:
            work.touched.update(hit[2])
            return hit[1]
        own: Blobs = {}
        piece = _encode(to_json(value), own)[0]
        work.blobs.update(own)
        if type(value) is str:
            self._values[key] = (value, piece, frozenset(own))
        return piece

    @staticmethod
    def mapping(pieces: dict[str, Any]) -> Any:
        """A dict of manifest pieces, escaped if one of its keys looks like a reference."""
        return pieces if _MARKERS.isdisjoint(pieces) else {ESC: pieces}

    @staticmethod
    def small(value: Any, work: SplitPass) -> Any:
        """A part that is re-encoded each time (queues, buffers: small and short-lived)."""
        return _encode(value, work.blobs)[0]

    def finish(self, manifest: Any, work: SplitPass,
               rebuild: Callable[[], EncodedState]) -> EncodedState:
        """The encoded state: blobs stored by earlier checkpoints become references."""
        return EncodedState(manifest, *self._new_blobs(work), rebuild)

    def finish_text(self, text: str, work: SplitPass,
                    rebuild: Callable[[], EncodedState]) -> EncodedState:
        """``finish`` of a manifest already written as its stored JSON ``text``."""
        return EncodedState.of_text(text, *self._new_blobs(work), rebuild)

    def _new_blobs(self, work: SplitPass) -> tuple[Blobs, frozenset[str]]:
        """(the blobs of this pass no earlier checkpoint stored, the stored ones it relies on)."""
        if not work.blobs:
            return {}, frozenset(work.touched)
        stored = self._stored
        new = {h: d for h, d in work.blobs.items() if h not in stored}
        refs = (work.touched | (work.blobs.keys() - new.keys())) - new.keys()
        return new, frozenset(refs)

    def committed(self, state: EncodedState) -> None:
        """The checkpoint holding ``state`` is stored: its blobs are there for the next ones."""
        if state.blobs:
            self._stored.update(state.blobs)
