"""Stored blobs are untrusted: checked against their hash, never reused when damaged, and their
expansion is bounded (no exponential blow-up, no cycles)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
from faults_support import NoteFlow, sql

from flowpoint import CorruptCheckpoint, WorkflowCheckpointer
from flowpoint.storage import MemoryStore
from flowpoint.storage.contentstore import MAX_EXPANDED, canonical, join_state, split_state

BIG = {f"k{i}": "v" * 40 for i in range(30)}  # canonical JSON over 512 bytes: stored as a blob


def _blob_of(ckptr: WorkflowCheckpointer, url: str) -> str:
    rows = sql(url, "SELECT hash FROM flowpoint_blobs")
    assert len(rows) == 1, rows
    return rows[0][0]


async def test_a_forged_blob_is_reported_and_never_reused(store_url: str) -> None:
    ckptr = WorkflowCheckpointer(NoteFlow(), store=store_url)
    try:
        first = ckptr.run(value=BIG)
        assert await first == BIG
        digest = _blob_of(ckptr, store_url)
        forged = canonical({**BIG, "k0": "forged"}).decode()
        sql(store_url, "UPDATE flowpoint_blobs SET data = :d WHERE hash = :h", d=forged, h=digest)

        damaged = ckptr.checkpoints[first.run_id][0]
        value = damaged.ctx_state["store"]["big"]
        assert set(value) == {"$corrupt"} and digest in value["$corrupt"]
        with pytest.raises(CorruptCheckpoint, match=digest):
            ckptr.run_from(damaged)

        second = ckptr.run(value=BIG)  # same content: the blob's hash is reused
        assert await second == BIG
        fresh = ckptr.checkpoints[second.run_id][0]
        assert fresh.ctx_state["store"]["big"] == BIG
        assert ckptr.get(damaged.id_).ctx_state["store"]["big"] == BIG  # repaired in place
    finally:
        ckptr.store.close()


async def test_a_forged_blob_in_memory_is_not_reused() -> None:
    store = MemoryStore()
    ckptr = WorkflowCheckpointer(NoteFlow(), store=store)
    first = ckptr.run(value=BIG)
    await first
    (digest,) = store._blobs
    store._blobs[digest] = canonical({"forged": True})
    second = ckptr.run(value=BIG)
    await second
    assert ckptr.checkpoints[second.run_id][0].ctx_state["store"]["big"] == BIG


def _chain(depth: int) -> tuple[str, dict[str, bytes]]:
    """Blobs, each with two references to the next: expands to 2**depth copies of the last."""
    blobs: dict[str, bytes] = {}
    data = canonical(["leaf" * 10])
    digest = hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    for _ in range(depth):
        data = canonical([{"$blob": digest}, {"$blob": digest}])
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
    return digest, blobs


def test_exponential_blob_references_are_bounded() -> None:
    top, blobs = _chain(41)
    started = time.process_time()
    value = join_state({"store": {"x": {"$blob": top}}}, blobs.get)
    assert "expands to more than" in value["store"]["x"]["$corrupt"]
    assert time.process_time() - started < 30  # linear in the blobs, not in their expansion


def test_a_blob_that_refers_to_itself_is_reported() -> None:
    digest = hashlib.sha256(b"anything").hexdigest()
    looped = {digest: canonical([{"$blob": digest}, {"$blob": digest}])}
    value = join_state({"x": {"$blob": digest}}, looped.get)
    assert "does not match its hash" in value["x"]["$corrupt"]


def test_an_honest_big_state_reads_back_whole() -> None:
    state = {"store": {f"k{i}": ["x" * 100] * 40 for i in range(50)}}
    manifest, blobs = split_state(state)
    assert join_state(json.loads(json.dumps(manifest)), blobs.get) == state
    assert MAX_EXPANDED > len(canonical(state))


async def test_reading_a_forged_exponential_checkpoint_returns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bomb.db'}"
    ckptr = WorkflowCheckpointer(NoteFlow(), store=url)
    try:
        h = ckptr.run(value="small")
        await h
        top, blobs = _chain(41)
        for digest, data in blobs.items():
            sql(url, "INSERT INTO flowpoint_blobs (hash, data, size) VALUES (:h, :d, :s)",
                h=digest, d=data.decode(), s=len(data))
        ckpt = ckptr.checkpoints[h.run_id][0]
        manifest = {**ckpt.ctx_state, "store": {"big": {"$blob": top}}}
        sql(url, "UPDATE flowpoint_checkpoints SET state_manifest = :m WHERE id = :i",
            m=json.dumps(manifest), i=ckpt.id_)
        with pytest.raises(CorruptCheckpoint, match="expands to more than"):
            ckptr.run_from(ckptr.get(ckpt.id_))
        assert len(ckptr.runs) == 1
    finally:
        ckptr.store.close()
