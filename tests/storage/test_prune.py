"""prune and delete_runs remove what they say, keep each run's start, and drop unused blobs."""

from __future__ import annotations

from typing import Any

import pytest
from storage_helpers import make_ckpt, make_run

from flowpoint.storage import CheckpointQuery
from flowpoint.storage.contentstore import split_state


def big_state(tag: str) -> dict[str, Any]:
    return {"log": [f"{tag} entry {i}" * 3 for i in range(100)], "tag": tag}


@pytest.fixture
def two_runs(store: Any) -> Any:
    """Runs a and b with seq 0..5, created at 10*seq; every checkpoint has its own big state."""
    for run_id, started in (("a", 1.0), ("b", 2.0)):
        store.put_run(make_run(run_id, started_at=started))
        for seq in range(6):
            store.put_checkpoint(make_ckpt(
                run_id, seq, id=f"{run_id}{seq}", created_at=10.0 * seq,
                ctx_state=big_state(f"{run_id}{seq}"),
            ))
    return store


def remaining(store: Any) -> list[str]:
    return [c.id for c in store.list_checkpoints()]


def test_keep_last_keeps_the_newest_and_the_start(two_runs: Any) -> None:
    assert two_runs.prune(keep_last=2) == 6
    assert remaining(two_runs) == ["a0", "a4", "a5", "b0", "b4", "b5"]


def test_keep_last_zero_leaves_only_the_start_checkpoints(two_runs: Any) -> None:
    assert two_runs.prune(keep_last=0) == 10
    assert remaining(two_runs) == ["a0", "b0"]


def test_older_than_deletes_by_creation_time_but_not_the_start(two_runs: Any) -> None:
    assert two_runs.prune(older_than=25.0) == 4
    assert remaining(two_runs) == ["a0", "a3", "a4", "a5", "b0", "b3", "b4", "b5"]


def test_both_limits_delete_only_what_both_select(two_runs: Any) -> None:
    assert two_runs.prune(keep_last=4, older_than=25.0) == 2
    assert remaining(two_runs) == ["a0", "a2", "a3", "a4", "a5", "b0", "b2", "b3", "b4", "b5"]


def test_prune_without_limits_deletes_nothing(two_runs: Any) -> None:
    assert two_runs.prune() == 0
    with pytest.raises(ValueError, match="keep_last"):
        two_runs.prune(keep_last=-1)
    assert len(remaining(two_runs)) == 12


def test_prune_collects_blobs_no_checkpoint_uses(two_runs: Any) -> None:
    before = two_runs.storage_report()
    two_runs.prune(keep_last=0)
    after = two_runs.storage_report()
    assert after["blobs"] == before["blobs"] * 2 // 12
    assert after["bytes"] < before["bytes"] / 4
    for ck in two_runs.list_checkpoints(with_state=True):
        assert ck.ctx_state == big_state(ck.id)


def test_shared_blobs_survive_while_any_checkpoint_uses_them(store: Any) -> None:
    store.put_run(make_run("r"))
    shared = big_state("shared")
    for seq in range(3):
        store.put_checkpoint(make_ckpt("r", seq, id=f"c{seq}", ctx_state=dict(shared, seq=seq)))
    store.prune(keep_last=1)
    assert [c.ctx_state for c in store.list_checkpoints(with_state=True)] == [
        dict(shared, seq=0), dict(shared, seq=2)]


def test_delete_runs_removes_runs_checkpoints_and_their_blobs(two_runs: Any) -> None:
    assert two_runs.delete_runs(["a", "ghost"]) == 6
    assert [r.run_id for r in two_runs.list_runs()] == ["b"]
    assert two_runs.count_checkpoints(CheckpointQuery(run_ids=("a",))) == 0
    report = two_runs.storage_report()
    assert (report["runs"], report["checkpoints"]) == (1, 6)
    assert report["blobs"] == sum(len(split_state(big_state(f"b{seq}"))[1]) for seq in range(6))
    assert two_runs.delete_runs([]) == 0
