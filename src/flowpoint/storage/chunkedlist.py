"""ChunkedList: one list's chunks, kept between the encodings of a run's checkpoints.

A list is cut into chunks as ``contentstore`` describes; a run checkpoints the same lists again
and again, mostly grown at their end, so the finished chunks are remembered by hash and only
what follows them is encoded again.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any

from .contentstore import (
    BLOB_MIN,
    CHUNK,
    CHUNK_BYTES,
    CHUNKS,
    FLAT,
    INDEX,
    Blobs,
    _item_bytes,
    _node_pair,
    _put,
    joined_text,
    text_of_canonical,
)


class ChunkedList:
    """The chunks of one list, with the finished ones remembered for the next encoding.

    A run checkpoints the same lists again and again, mostly grown at the end. Finished chunks
    whose items are all immutable (``frozen``) are kept by hash along with those items; the next
    encoding checks the list still starts with them (a C-level comparison that short-cuts on
    identity) and only encodes what follows. A list that changed before its end is encoded anew.
    """

    __slots__ = ("_src", "_hashes", "_nodes", "_tail", "_tail_bytes", "_tail_size",
                 "_tail_values", "_tail_texts", "_text")

    def __init__(self) -> None:
        self._src: list[Any] = []
        self._hashes: list[str] = []
        self._nodes: dict[tuple[int, int], Any] = {}
        self._tail: list[Any] = []  # frozen items after the finished chunks, last time
        self._tail_bytes: list[bytes] = []  # and their bytes (none refers to a blob)
        self._tail_size = 0  # bytes those take in a chunk, a comma each counted
        self._tail_values: list[Any] = []  # and those bytes parsed, when the list was small
        self._tail_texts: list[str] = []  # or their stored text, when the list was small
        self._text = "[]"  # and the list's stored text then

    def encode(self, items: Sequence[Any], to_json: Callable[[Any], Any],
               frozen: Callable[[Any], bool], blobs: Blobs, touched: set[str],
               append_only: bool = False,
               item_bytes: Callable[[Any, Blobs], bytes] | None = None) -> Any:
        """The reference for ``items`` (or the items, when small); new blobs go to ``blobs``
        and the older ones the reference relies on to ``touched``. ``append_only``: the list is
        only ever appended to (the runtime's own logs), so checking its last known item suffices.
        ``item_bytes(item, blobs)``: the canonical bytes of an item (default: of ``to_json(item)``),
        for a caller that keeps them."""
        hashes, part, kept = self._cut(items, to_json, frozen, blobs, append_only, item_bytes)
        self._tail_texts = []
        if hashes is None:
            if not part:
                self._tail_values = []
                return []
            kept = min(len(self._tail_values), kept)
            values = self._tail_values[:kept] + json.loads(b"[" + b",".join(part[kept:]) + b"]")
            self._tail_values = values if self._tail else []
            return list(values)
        self._tail_values = []
        return {CHUNKS: self._refs(hashes, part, blobs, touched)}

    def encode_text(self, items: Sequence[Any], to_json: Callable[[Any], Any],
                    frozen: Callable[[Any], bool], blobs: Blobs, touched: set[str],
                    append_only: bool = False,
                    item_bytes: Callable[[Any, Blobs], bytes] | None = None) -> str:
        """``compact_text(encode(...))``, made from the items' bytes without parsing them."""
        if append_only:
            text = self._grown_inline(items, to_json, frozen, blobs, item_bytes)
            if text is not None:
                return text
        hashes, part, kept = self._cut(items, to_json, frozen, blobs, append_only, item_bytes)
        self._tail_values = []
        if hashes is None:
            if not part:
                self._tail_texts = []
                return "[]"
            kept = min(len(self._tail_texts), kept)
            texts = self._tail_texts[:kept]
            texts.extend(map(text_of_canonical, part[kept:]))
            self._tail_texts = texts if self._tail else []
            self._text = joined_text("[" + ",".join(texts) + "]")
            return self._text
        self._tail_texts = []
        entries = self._refs(hashes, part, blobs, touched)
        return '{"$chunks":[' + ",".join(
            f'"{e}"' if type(e) is str else f'{{"$index":"{e[INDEX]}"}}' for e in entries) + "]}"

    def _grown_inline(self, items: Sequence[Any], to_json: Callable[[Any], Any],
                      frozen: Callable[[Any], bool], blobs: Blobs,
                      item_bytes: Callable[[Any, Blobs], bytes] | None) -> str | None:
        """``encode_text`` of an append-only list that was small enough to stay inline last
        time and still is, encoding only its new items; None when that does not hold (a chunk
        would end, an item refers to a blob or may change, or nothing was kept)."""
        tail, texts = self._tail, self._tail_texts
        k = len(tail)
        if self._src or len(texts) != k or len(items) < k or (k and items[k - 1] is not tail[-1]):
            return None
        if len(items) == k:
            self._tail_values = []
            return self._text if k else "[]"
        size, count = self._tail_size, k
        new = items[k:]
        datas = []
        for item in new:
            data = _item_bytes(to_json(item), blobs) if item_bytes is None else item_bytes(item,
                                                                                          blobs)
            count += 1
            size += len(data) + 1
            if (count >= CHUNK or size >= CHUNK_BYTES or size > BLOB_MIN or b'"$' in data
                    or not frozen(item)):
                return None
            datas.append(data)
        tail.extend(new)
        self._tail_bytes.extend(datas)
        added = list(map(text_of_canonical, datas))
        texts.extend(added)
        self._tail_size, self._tail_values = size, []
        grown = ",".join(added)
        self._text = joined_text(f"{self._text[:-1]},{grown}]" if k else f"[{grown}]")
        return self._text

    def _cut(self, items: Sequence[Any], to_json: Callable[[Any], Any],
             frozen: Callable[[Any], bool], blobs: Blobs, append_only: bool,
             item_bytes: Callable[[Any, Blobs], bytes] | None
             ) -> tuple[list[str] | None, list[bytes], int]:
        """(hashes of the finished chunks, or None when the list stays inline; the bytes of the
        items after them; how many of those are the tail kept from last time, unchanged)."""
        n = len(self._src)
        if n and (len(items) < n or (items[n - 1] is not self._src[-1] if append_only
                                     else not self._starts(items))):
            self._src, self._hashes, self._nodes = [], [], {}
            self._tail, self._tail_bytes, self._tail_values, self._tail_texts = [], [], [], []
            self._tail_size = n = 0
        hashes = self._hashes  # a copy only once a chunk cannot be kept
        caching = True
        part = self._kept_tail(items, n, append_only)
        reused = len(part)
        size, start = (self._tail_size if part else 0), n
        tail_ok = True  # every item of ``part`` is frozen and refers to no blob
        for i in range(n + len(part), len(items)):
            data = (_item_bytes(to_json(items[i]), blobs) if item_bytes is None
                    else item_bytes(items[i], blobs))
            tail_ok = tail_ok and b'"$' not in data and frozen(items[i])
            part.append(data)
            size += len(data) + 1
            if len(part) < CHUNK and size < CHUNK_BYTES:
                continue
            digest = _put(b"[" + b",".join(part) + b"]", blobs)
            if caching and all(map(frozen, items[start : i + 1])):
                self._hashes.append(digest)
                self._src.extend(items[start : i + 1])
            else:
                if caching:
                    hashes, caching = list(self._hashes), False
                hashes.append(digest)
            part, size, start, tail_ok, reused = [], 0, i + 1, True, 0
        if caching and tail_ok:
            self._tail, self._tail_bytes, self._tail_size = list(items[start:]), list(part), size
        else:
            self._tail, self._tail_bytes, self._tail_size, reused = [], [], 0, 0
        if not hashes and len(part) <= CHUNK and size <= BLOB_MIN:
            return None, part, reused
        return hashes, part, 0

    def _refs(self, hashes: list[str], part: list[bytes], blobs: Blobs,
              touched: set[str]) -> list[Any]:
        entries = self._entries(hashes, blobs, touched)
        if part:
            entries.append(_put(b"[" + b",".join(part) + b"]", blobs))
        return entries

    def _kept_tail(self, items: Sequence[Any], n: int, append_only: bool) -> list[bytes]:
        """The bytes of the items after the finished chunks, if they are still those encoded
        last time (a copy, to append to)."""
        tail = self._tail
        k = len(tail)
        if not k or len(items) < n + k:
            return []
        if append_only:
            return list(self._tail_bytes) if items[n + k - 1] is tail[-1] else []
        for a, b in zip(tail, itertools.islice(items, n, n + k), strict=True):
            if a is not b:
                return []
        return list(self._tail_bytes)

    def _starts(self, items: Sequence[Any]) -> bool:
        """Whether ``items`` still starts with the kept items. Comparing whole lists stays on
        pointers for identical items, where slicing ``items`` would touch every item."""
        n = len(self._src)
        self._src.extend(items[n:])
        try:
            return self._src == items
        finally:
            del self._src[n:]

    def _entries(self, hashes: list[str], blobs: Blobs, touched: set[str]) -> list[Any]:
        if len(hashes) <= FLAT:
            touched.update(h for h in hashes if h not in blobs)
            return list(hashes)
        peaks, start = [], 0
        while start < len(hashes):
            size = 1 << ((len(hashes) - start).bit_length() - 1)
            peaks.append(self._node(hashes, start, size, blobs, touched))
            start += size
        return peaks

    def _node(self, hashes: list[str], start: int, size: int, blobs: Blobs,
              touched: set[str]) -> Any:
        if size == 1:
            if hashes[start] not in blobs:
                touched.add(hashes[start])
            return hashes[start]
        hit = self._nodes.get((start, size))
        if hit is not None:
            touched.add(hit[INDEX])
            return hit
        half = size // 2
        entry = _node_pair([self._node(hashes, start, half, blobs, touched),
                            self._node(hashes, start + half, half, blobs, touched)], blobs)
        if start + size <= len(self._hashes):
            self._nodes[(start, size)] = entry
        return entry
