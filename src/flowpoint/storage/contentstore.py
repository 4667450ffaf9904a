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


def _never(_value: Any) -> bool:
    return False


def _same(value: Any) -> Any:
    return value


def _chunked(items: Sequence[Any], blobs: Blobs) -> Any:
    from .chunkedlist import ChunkedList  # it encodes its items with _item_bytes, from here

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
