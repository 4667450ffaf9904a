"""Content-addressed state encoding: exact round trips, shared chunks, reported damage."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flowpoint.storage.contentstore import (
    BLOB_MIN,
    CHUNK,
    CHUNK_BYTES,
    canonical,
    join_state,
    reachable,
    split_state,
)

MARKER_KEYS = st.sampled_from(["$chunks", "$blob", "$esc", "$index", "$corrupt", "a", "b"])
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    scalars | st.builds(lambda xs, n: xs * n, st.lists(scalars, min_size=1, max_size=5), st.integers(1, 120)),
    lambda inner: st.lists(inner, max_size=40)
    | st.dictionaries(st.text(max_size=8) | MARKER_KEYS, inner, max_size=6),
    max_leaves=40,
)
long_mixed_lists = st.builds(
    lambda xs, n: xs * n, st.lists(json_values, min_size=1, max_size=3), st.integers(11, 20)
)


def roundtrip(value: Any) -> tuple[Any, dict[str, bytes]]:
    manifest, blobs = split_state(value)
    json.dumps(manifest)
    return join_state(json.loads(json.dumps(manifest)), blobs.get), blobs


@settings(max_examples=100, deadline=None)
@given(json_values | long_mixed_lists)
def test_any_json_value_round_trips_exactly(value: Any) -> None:
    back, _ = roundtrip(value)
    assert back == value
    assert json.dumps(back, sort_keys=True) == json.dumps(value, sort_keys=True)


@given(st.dictionaries(MARKER_KEYS, scalars | st.lists(scalars, max_size=40), min_size=1))
def test_dicts_using_marker_keys_round_trip(value: dict[str, Any]) -> None:
    assert roundtrip(value)[0] == value
    assert roundtrip({"$chunks": [value]})[0] == {"$chunks": [value]}


def test_small_state_is_its_own_manifest() -> None:
    state = {"store": {"topic": "cats"}, "log": [1, 2, 3]}
    assert split_state(state) == (state, {})


def test_long_list_is_cut_into_fixed_chunks() -> None:
    items = list(range(CHUNK * 3 + 5))
    manifest, blobs = split_state({"log": items})
    assert set(manifest["log"]) == {"$chunks"}
    chunks = [json.loads(blobs[h]) for h in manifest["log"]["$chunks"]]
    assert chunks == [items[0:32], items[32:64], items[64:96], items[96:]]


def test_long_mixed_lists_round_trip() -> None:
    items = [1, "two", None, {"k": [3, 4]}, [5.5, {"$blob": "x"}], {"big": "z" * 700}] * 20
    manifest, blobs = split_state(items)
    assert join_state(manifest, blobs.get) == items


def test_big_dict_is_one_blob_keyed_by_its_canonical_hash() -> None:
    big = {f"key{i}": "x" * 20 for i in range(40)}
    manifest, blobs = split_state({"big": big})
    (digest,) = blobs
    assert manifest == {"big": {"$blob": digest}}
    assert blobs[digest] == canonical(big) and len(canonical(big)) > BLOB_MIN


def test_nested_long_lists_are_chunked_inside_blobs() -> None:
    state = {"outer": [{"inner": list(range(100))}] + ["pad" * 50] * 3}
    manifest, blobs = split_state(state)
    assert any(b"$chunks" in data for data in blobs.values())
    assert join_state(manifest, blobs.get) == state


def event(i: int) -> dict[str, Any]:
    return {"type": "demo.flows.JokeEvent", "data": {"i": i, "joke": f"joke number {i}"}}


def test_appending_to_a_long_list_adds_a_few_small_blobs() -> None:
    log = [event(i) for i in range(1000)]
    _, before = split_state({"log": log})
    manifest, after = split_state({"log": log + [event(1000)]})
    new = {h: d for h, d in after.items() if h not in before}
    assert 1 <= len(new) <= 4
    assert sum(map(len, new.values())) < 2 * CHUNK_BYTES
    assert event(1000) in json.loads(min(new.values(), key=lambda d: b"$index" in d))
    assert len(json.dumps(manifest)) < 1000


def test_chunks_end_after_chunk_items_or_chunk_bytes() -> None:
    big = ["b" * 300] * 10
    manifest, blobs = split_state({"log": big + list(range(CHUNK * 2))})
    sizes = [len(json.loads(blobs[h])) for h in manifest["log"]["$chunks"]]
    assert sizes[:5] == [2, 2, 2, 2, 2]
    assert all(n <= CHUNK for n in sizes) and sum(sizes) == 10 + CHUNK * 2


def test_big_strings_are_blobs_of_their_own() -> None:
    doc = "d" * 10_000
    a, blobs_a = split_state({"doc": doc, "n": 1})
    b, blobs_b = split_state({"doc": doc, "n": 2})
    assert a["doc"] == b["doc"] == {"$blob": next(iter(blobs_a))}
    assert set(blobs_a) == set(blobs_b) and join_state(b, blobs_b.get) == {"doc": doc, "n": 2}


def test_equal_parts_of_different_states_share_blobs() -> None:
    shared = [event(i) for i in range(64)]
    _, a = split_state({"x": 1, "log": shared})
    _, b = split_state({"x": 2, "log": shared})
    assert len(a) > 2 and len(set(a) - set(b)) <= 1  # only the blob holding "x" differs


def test_missing_blob_becomes_a_corrupt_marker_not_an_error() -> None:
    state = {"ok": 1, "log": [event(i) for i in range(100)],
             "big": {f"k{i}": "v" * 20 for i in range(40)}}
    manifest, blobs = split_state(state)
    big_hash = manifest["big"]["$blob"]
    chunk_ref = manifest["log"]["$chunks"][1]
    chunk_hash = chunk_ref if isinstance(chunk_ref, str) else chunk_ref["$index"]
    damaged = {h: d for h, d in blobs.items() if h not in (big_hash, chunk_hash)}
    back = join_state(manifest, damaged.get)
    assert back["ok"] == 1
    assert back["big"] == {"$corrupt": f"missing blob {big_hash}"}
    assert back["log"] == {"$corrupt": f"missing blob {chunk_hash}"}


def test_unparseable_blob_becomes_a_corrupt_marker() -> None:
    manifest, blobs = split_state({"big": {f"k{i}": "v" * 20 for i in range(40)}})
    digest = manifest["big"]["$blob"]
    back = join_state(manifest, {digest: b"{not json"}.get)
    assert back["big"]["$corrupt"].startswith(f"blob {digest}")


def test_reachable_follows_references_inside_blobs() -> None:
    state = {"log": [event(i) for i in range(CHUNK * 20)], "nested": [{"big": "y" * 600}]}
    manifest, blobs = split_state(state)
    got = reachable([manifest], lambda hs: {h: blobs[h] for h in hs if h in blobs})
    assert got == set(blobs)
    assert reachable([{"plain": 1}], lambda hs: {}) == set()


frozen_items = st.text(max_size=30) | st.integers() | st.none() | st.text(min_size=520, max_size=600)
edits = st.lists(st.tuples(st.sampled_from(["append", "replace", "truncate"]),
                           st.integers(0, 200), frozen_items), min_size=1, max_size=60)


def _edit(items: list[Any], op: str, where: int, value: Any, append_only: bool) -> None:
    """Apply one generated edit to ``items`` in place (only appends when ``append_only``)."""
    if op == "append" or append_only:
        items.append(value)
    elif op == "replace" and items:
        items[where % len(items)] = value
    elif op == "truncate":
        del items[where % (len(items) + 1):]


@settings(max_examples=60, deadline=None)
@given(st.lists(frozen_items, max_size=50), edits, st.booleans())
def test_a_list_encoded_again_after_edits_matches_a_fresh_encoding(
        start: list[Any], steps: list[tuple[str, int, Any]], append_only: bool) -> None:
    from flowpoint.storage.chunkedlist import ChunkedList

    kept, items, stored = ChunkedList(), list(start), {}

    def frozen(value: Any) -> bool:
        return True

    for op, where, value in steps:
        _edit(items, op, where, value, append_only)
        blobs: dict[str, bytes] = {}
        touched: set[str] = set()
        ref = kept.encode(items, lambda v: v, frozen, blobs, touched, append_only)
        stored.update(blobs)
        assert touched <= stored.keys()
        fresh_blobs: dict[str, bytes] = {}
        fresh = ChunkedList().encode(items, lambda v: v, frozen, fresh_blobs, set())
        assert ref == fresh
        assert join_state(ref, stored.get) == items


text_items = (frozen_items | st.text(alphabet="é\u2028\ud800\\u\"$", max_size=8)
              | st.fixed_dictionaries({"$blob": st.text(max_size=5)})
              | st.dictionaries(st.text(max_size=3), st.text(min_size=300, max_size=400),
                                min_size=2, max_size=3))


@settings(max_examples=80, deadline=None)
@given(st.lists(text_items, max_size=40), edits, st.booleans(),
       st.lists(st.booleans(), min_size=60, max_size=60))
def test_a_list_encoded_again_as_text_is_the_stored_text_of_a_fresh_encoding(
        start: list[Any], steps: list[tuple[str, int, Any]], append_only: bool,
        as_text: list[bool]) -> None:
    """encode_text (made from kept bytes, without parsing) writes exactly what storing a fresh
    encoding writes, however it is interleaved with encode and whatever the items hold."""
    from flowpoint.storage.chunkedlist import ChunkedList
    from flowpoint.storage.contentstore import compact_text
    from flowpoint.storage.rows import dumps

    kept, items, stored = ChunkedList(), list(start), {}
    for (op, where, value), text in zip(steps, as_text, strict=False):
        _edit(items, op, where, value, append_only)
        blobs: dict[str, bytes] = {}
        touched: set[str] = set()
        if text:
            ref = json.loads(got := kept.encode_text(items, lambda v: v, lambda v: True, blobs,
                                                     touched, append_only))
        else:
            ref = kept.encode(items, lambda v: v, lambda v: True, blobs, touched, append_only)
            got = compact_text(ref)
        stored.update(blobs)
        assert touched <= stored.keys()
        fresh = ChunkedList().encode(items, lambda v: v, lambda v: True, {}, set())
        assert got == dumps(fresh, "state_manifest")
        assert ref == fresh
        assert join_state(ref, stored.get) == items


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.text(max_size=10) | st.text(min_size=500, max_size=600)
                         | st.integers(), min_size=1, max_size=3)
                | st.text(max_size=5) | st.none(), max_size=8))
def test_kept_pair_bytes_are_the_bytes_of_the_item(items: list[Any]) -> None:
    """pair_bytes (kept across runs for [step, event type] entries) gives exactly an item's
    own bytes, and the blobs it needs each time, whatever the item is."""
    from flowpoint.storage.contentstore import _item_bytes
    from flowpoint.storage.statesplitter import pair_bytes

    for item in items + items:
        kept: dict[str, bytes] = {}
        fresh: dict[str, bytes] = {}
        assert pair_bytes(item, kept) == _item_bytes(item, fresh)
        assert kept == fresh
