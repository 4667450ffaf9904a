"""Content-addressed encoding of ctx_state, so that unchanged parts are stored once, by hash.

A state is split into a small *manifest* (the state with big parts replaced by references) and
*blobs* (canonical JSON keyed by its sha256). References are single-key dicts:

- ``{"$chunks": L}``: a list cut into chunks (a chunk ends after CHUNK items or once it holds
  CHUNK_BYTES bytes, so where it ends depends only on its own items); each chunk is one blob and
  ``L`` lists the chunk hashes. Past FLAT chunks, the hashes of the finished chunks are folded
  into perfect binary trees of index blobs ``{"$index": h}`` (a Merkle mountain range) and only
  the partial last chunk stays loose, so appending to a long list stores one small chunk and a
  short list of tree roots, never the whole hash list again.
- ``{"$blob": h}``: any other dict, list or string whose canonical JSON exceeds BLOB_MIN bytes.
- ``{"$esc": d}``: a user dict that has a key of its own named like a reference marker.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

CHUNK = 32
CHUNK_BYTES = 512
FLAT = 8
BLOB_MIN = 512
MAX_EXPANDED = 256 * 1024 * 1024  # bytes of blob text one state may expand to, repeats counted
MAX_BLOB_DEPTH = 200  # blobs referring to blobs: deeper than any value flowpoint writes
CHUNKS, BLOB, ESC, INDEX, CORRUPT = "$chunks", "$blob", "$esc", "$index", "$corrupt"
_MARKERS = frozenset((CHUNKS, BLOB, ESC))

Blobs = dict[str, bytes]
GetBlob = Callable[[str], "bytes | str | None"]
GetBlobs = Callable[[list[str]], Mapping[str, "bytes | str"]]


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_COMPACT_ASCII = json.JSONEncoder(separators=(",", ":"))
try:  # the C encoder json.dumps builds on every call, built once: same output, half the time
    from json.encoder import c_make_encoder, encode_basestring, encode_basestring_ascii

    _C_CANONICAL = c_make_encoder(
        None, _CANONICAL.default, encode_basestring_ascii, None, ":", ",", True, False, True
    )
    _C_COMPACT = c_make_encoder(
        None, _COMPACT.default, encode_basestring, None, ":", ",", False, False, True
    )
except (ImportError, TypeError):
    _C_CANONICAL = _C_COMPACT = None


def compact_text(value: Any) -> str:
    """The JSON text a store writes: compact, keys in their order, non-ASCII text as is (so
    that SQL can search it) unless it holds lone surrogates, which only escapes can carry.
    Raises TypeError or ValueError for a value JSON cannot hold."""
    if _C_COMPACT is None:
        text = _COMPACT.encode(value)
    else:
        try:
            text = "".join(_C_COMPACT(value, 0))
        except RecursionError:
            raise ValueError("value is too deeply nested or refers to itself") from None
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _COMPACT_ASCII.encode(value)
    return text


def text_of_canonical(data: bytes) -> str:
    """compact_text of the value whose canonical bytes are ``data``, without parsing them when
    they hold no escape (then both spellings are the same)."""
    if b"\\u" not in data:
        return data.decode("ascii")
    return compact_text(json.loads(data))


def joined_text(text: str) -> str:
    """compact_text of the value whose parts' compact texts were joined into ``text``: the same
    text, unless a part had to escape a lone surrogate, which the whole value's text escapes
    all non-ASCII text for (rare: then it is parsed and written again)."""
    return text if "\\ud" not in text else compact_text(json.loads(text))


def canonical(value: Any) -> bytes:
    """The one byte encoding a value is hashed and stored under (sorted keys, no spaces, ASCII)."""
    if _C_CANONICAL is None:
        return _CANONICAL.encode(value).encode()
    try:
        return "".join(_C_CANONICAL(value, 0)).encode()
    except RecursionError:
        raise ValueError("value is too deeply nested or refers to itself") from None


def _put(data: bytes, blobs: Blobs) -> str:
    digest = hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return digest


def _item_bytes(value: Any, blobs: Blobs) -> bytes:
    if isinstance(value, dict):
        data = canonical(value)
        if len(data) <= BLOB_MIN and data.count(b",") < CHUNK and b'"$' not in data:
            return data
        return _encode(value, blobs)[1]
    if isinstance(value, (list, tuple)):
        return _encode(value, blobs)[1]
    return canonical(value)


def _node_pair(pair: list[Any], blobs: Blobs) -> dict[str, str]:
    return {INDEX: _put(canonical(pair), blobs)}


class ChunkedList:
    """The chunks of one list, with the finished ones remembered for the next encoding.

    A run checkpoints the same lists again and again, mostly grown at the end. Finished chunks
    whose items are all immutable (``frozen``) are kept by hash along with those items; the next
    encoding checks the list still starts with them (a C-level comparison that short-cuts on
    identity) and only encodes what follows. A list that changed before its end is encoded anew.
    """

    __slots__ = ("_src", "_hashes", "_nodes", "_tail", "_tail_bytes", "_tail_size",
                 "_tail_values", "_tail_texts")

    def __init__(self) -> None:
        self._src: list[Any] = []
        self._hashes: list[str] = []
        self._nodes: dict[tuple[int, int], Any] = {}
        self._tail: list[Any] = []  # frozen items after the finished chunks, last time
        self._tail_bytes: list[bytes] = []  # and their bytes (none refers to a blob)
        self._tail_size = 0  # bytes those take in a chunk, a comma each counted
        self._tail_values: list[Any] = []  # and those bytes parsed, when the list was small
        self._tail_texts: list[str] = []  # or their stored text, when the list was small

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
            return joined_text("[" + ",".join(texts) + "]")
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
            return joined_text("[" + ",".join(texts) + "]")
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
        texts.extend(map(text_of_canonical, datas))
        self._tail_size, self._tail_values = size, []
        return joined_text("[" + ",".join(texts) + "]")

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


def _never(_value: Any) -> bool:
    return False


def _same(value: Any) -> Any:
    return value


def _chunked(items: Sequence[Any], blobs: Blobs) -> Any:
    touched: set[str] = set()
    return ChunkedList().encode(items, _same, _never, blobs, touched)


def _plain(value: Any) -> bool:
    """True if encoding leaves value as it is apart from size: no long list, no marker key."""
    if isinstance(value, dict):
        return _MARKERS.isdisjoint(value) and all(map(_plain, value.values()))
    if isinstance(value, (list, tuple)):
        return len(value) <= CHUNK and all(map(_plain, value))
    return True


def _sized(encoded: Any, blobs: Blobs) -> tuple[Any, bytes]:
    data = canonical(encoded)
    if len(data) > BLOB_MIN:
        ref = {BLOB: _put(data, blobs)}
        return ref, canonical(ref)
    return encoded, data


def _encode(value: Any, blobs: Blobs) -> tuple[Any, bytes]:
    """(encoded value, its canonical bytes); big parts go to blobs."""
    if isinstance(value, (dict, list, tuple)):
        if not isinstance(value, dict) and len(value) > CHUNK:
            ref = _chunked(value, blobs)
            return ref, canonical(ref)
        data = canonical(value)
        if len(data) <= BLOB_MIN and (
            (data.count(b",") < CHUNK and b'"$' not in data) or _plain(value)
        ):
            return value, data
        if isinstance(value, dict):
            encoded: Any = {k: _encode(v, blobs)[0] for k, v in value.items()}
            if not _MARKERS.isdisjoint(encoded):
                encoded = {ESC: encoded}
        else:
            encoded = [_encode(v, blobs)[0] for v in value]
        return _sized(encoded, blobs)
    if isinstance(value, str) and len(value) > BLOB_MIN:
        return _sized(value, blobs)
    return value, b""


def split_state(state: Any) -> tuple[Any, Blobs]:
    """Encode a JSON-able value as (manifest, {sha256 hex: canonical JSON bytes})."""
    blobs: Blobs = {}
    return _encode(state, blobs)[0], blobs


class _Missing(Exception):
    """A referenced blob is absent or unreadable; the value holding it is reported as corrupt."""


def _checked(digest: Any, data: bytes | str | None) -> bytes:
    """The bytes of a blob, only if they hash to the digest that names them."""
    if data is None or not isinstance(digest, str):
        raise _Missing(f"missing blob {str(digest)[:80]}")
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if hashlib.sha256(raw).hexdigest() != digest:
        raise _Missing(f"blob {digest} does not match its hash (damaged or forged)")
    return raw


def _load(digest: str, get_blob: GetBlob) -> Any:
    data = _checked(digest, get_blob(digest) if isinstance(digest, str) else None)
    try:
        return json.loads(data)
    except (ValueError, TypeError, RecursionError) as exc:
        raise _Missing(f"blob {digest}: {str(exc)[:120]}") from None


class _Reader:
    """Expands the blobs of one state: each verified and parsed once, cycles refused, and the
    total expansion (repeats counted) bounded by MAX_EXPANDED bytes and MAX_BLOB_DEPTH links."""

    def __init__(self, get_blob: GetBlob) -> None:
        self._get = get_blob
        self._parsed: dict[str, tuple[Any, int]] = {}
        self._sizes: dict[str, int] = {}
        self._active: set[str] = set()
        self._spent = 0
        self._inside = 0

    def load(self, digest: Any) -> Any:
        if not isinstance(digest, str):
            raise _Missing(f"bad blob reference {str(digest)[:60]}")
        hit = self._parsed.get(digest)
        if hit is None:
            data = _checked(digest, self._get(digest))
            try:
                hit = (json.loads(data), len(data))
            except (ValueError, TypeError, RecursionError) as exc:
                raise _Missing(f"blob {digest}: {str(exc)[:120]}") from None
            self._parsed[digest] = hit
        return hit[0]

    def _size(self, digest: Any, is_index: bool, depth: int) -> int:
        """Bytes the blob expands to, counting every repeat of the blobs it refers to."""
        if isinstance(digest, str) and digest in self._sizes:
            return self._sizes[digest]
        if digest in self._active:
            raise _Missing(f"blob {digest} refers to itself")
        if depth > MAX_BLOB_DEPTH:
            raise _Missing(f"blobs refer to blobs more than {MAX_BLOB_DEPTH} levels deep")
        content = self.load(digest)
        total = self._parsed[digest][1]
        self._active.add(digest)
        try:
            for ref, index in _chunk_refs(content) if is_index else references(content):
                total += self._size(ref, index, depth + 1)
                if total > MAX_EXPANDED:
                    raise _Missing(f"blob {digest} expands to more than {MAX_EXPANDED} bytes")
        finally:
            self._active.discard(digest)
        self._sizes[digest] = total
        return total

    def _charge(self, refs: Iterable[tuple[str, bool]]) -> None:
        """Refuse a reference whose expansion would take the state past MAX_EXPANDED."""
        if self._inside:
            return
        need = sum(self._size(ref, index, 0) for ref, index in refs)
        if self._spent + need > MAX_EXPANDED:
            raise _Missing(f"the state expands to more than {MAX_EXPANDED} bytes")
        self._spent += need

    def _leaves(self, entries: Any) -> list[str]:
        if not isinstance(entries, list):
            raise _Missing(f"bad chunk list {str(entries)[:60]}")
        out: list[str] = []
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get(INDEX), str):
                out.extend(self._leaves(self.load(entry[INDEX])))
            elif isinstance(entry, str):
                out.append(entry)
            else:
                raise _Missing(f"bad chunk entry {str(entry)[:60]}")
        return out

    def _chunk(self, digest: str) -> list[Any]:
        items = self.load(digest)
        if not isinstance(items, list):
            raise _Missing(f"blob {digest}: a chunk that is not a list")
        return items

    def _expand(self, key: str, inner: Any) -> Any:
        if key == BLOB:
            self._charge([(inner, False)])
            content = self.load(inner)
            self._inside += 1
            try:
                return self.decode(content)
            finally:
                self._inside -= 1
        self._charge(_chunk_refs(inner))
        chunks = [self._chunk(h) for h in self._leaves(inner)]
        self._inside += 1
        try:
            return [self.decode(item) for chunk in chunks for item in chunk]
        finally:
            self._inside -= 1

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key in (BLOB, CHUNKS):
                try:
                    return self._expand(key, inner)
                except _Missing as exc:
                    return {CORRUPT: str(exc)}
                except (TypeError, ValueError) as exc:
                    return {CORRUPT: f"bad reference: {exc}"}
            if key == ESC and isinstance(inner, dict):
                return {k: self.decode(v) for k, v in inner.items()}
        return {k: self.decode(v) for k, v in value.items()}


def join_state(manifest: Any, get_blob: GetBlob) -> Any:
    """Rebuild the value split_state encoded. A blob that is missing, does not match its hash,
    refers to itself or expands past the bounds becomes {"$corrupt": reason}; so does a value
    nested too deeply to rebuild."""
    try:
        return _Reader(get_blob).decode(manifest)
    except RecursionError:
        return {CORRUPT: "state is nested too deeply to read"}


def _chunk_refs(entries: Any) -> Iterator[tuple[str, bool]]:
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, str):
            yield entry, False
        elif isinstance(entry, dict) and isinstance(entry.get(INDEX), str):
            yield entry[INDEX], True


def references(value: Any) -> Iterator[tuple[str, bool]]:
    """(hash, is_index) of the blobs a manifest or a decoded value blob refers to directly."""
    if isinstance(value, list):
        for v in value:
            yield from references(v)
    elif isinstance(value, dict):
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == BLOB and isinstance(inner, str):
                yield inner, False
                return
            if key == CHUNKS:
                yield from _chunk_refs(inner)
                return
            if key == ESC and isinstance(inner, dict):
                value = inner
        for v in value.values():
            yield from references(v)


def reachable(manifests: Iterable[Any], get_blobs: GetBlobs) -> set[str]:
    """Every blob hash reachable from the manifests, following references inside blobs.

    ``get_blobs(hashes)`` returns the stored data of those it has; fetched level by level.
    """
    seen: set[str] = set()
    frontier = {ref for m in manifests for ref in references(m)}
    while frontier:
        seen.update(h for h, _ in frontier)
        found = get_blobs(sorted({h for h, _ in frontier}))
        children: set[tuple[str, bool]] = set()
        for digest, is_index in frontier:
            try:
                content = _load(digest, found.get)
            except _Missing:
                continue
            children.update(_chunk_refs(content) if is_index else references(content))
        frontier = {ref for ref in children if ref[0] not in seen}
    return seen
