"""get_checkpoint by exact id or unique prefix, with errors that say what to do."""

from __future__ import annotations

from typing import Any

import pytest
from storage_helpers import make_ckpt, make_run

from flowpoint.errors import AmbiguousCheckpointId, CheckpointNotFound


@pytest.fixture
def three(store: Any) -> Any:
    store.put_run(make_run("r"))
    for seq, cid in enumerate(["abcd1111-x", "abcd2222-y", "abce3333-z"]):
        store.put_checkpoint(make_ckpt("r", seq, id=cid, ctx_state={"seq": seq}))
    return store


def test_exact_id_returns_the_checkpoint_with_state(three: Any) -> None:
    ck = three.get_checkpoint("abcd2222-y")
    assert (ck.id, ck.ctx_state) == ("abcd2222-y", {"seq": 1})


def test_unique_prefix_finds_the_checkpoint(three: Any) -> None:
    assert three.get_checkpoint("abce").id == "abce3333-z"
    assert three.get_checkpoint("abcd1").ctx_state == {"seq": 0}


def test_ambiguous_prefix_says_how_many_match(three: Any) -> None:
    with pytest.raises(AmbiguousCheckpointId, match="'abcd' matches 2 checkpoints; give more"):
        three.get_checkpoint("abcd")


def test_missing_id_or_prefix_is_not_found(three: Any) -> None:
    with pytest.raises(CheckpointNotFound, match="no checkpoint with id or prefix 'ffff'"):
        three.get_checkpoint("ffff")
    with pytest.raises(KeyError):
        three.get_checkpoint("abcd1111-x-longer")


def test_short_or_empty_prefix_is_refused_clearly(three: Any) -> None:
    for prefix in ("", "a", "abc"):
        with pytest.raises(CheckpointNotFound, match="at least 4 characters"):
            three.get_checkpoint(prefix)


def test_prefix_is_matched_literally_and_case_sensitively(three: Any) -> None:
    with pytest.raises(CheckpointNotFound):
        three.get_checkpoint("ab_d1111")
    with pytest.raises(CheckpointNotFound):
        three.get_checkpoint("ab%")
    with pytest.raises(CheckpointNotFound):
        three.get_checkpoint("ABCD1111")


def test_prefixes_of_any_length_and_with_like_characters_are_plain_text(three: Any) -> None:
    three.put_checkpoint(make_ckpt("r", 3, id="ab%d_444-w", ctx_state={"seq": 3}))
    assert three.get_checkpoint("ab%d").id == "ab%d_444-w"
    with pytest.raises(CheckpointNotFound, match="no checkpoint with id or prefix 'ab_d"):
        three.get_checkpoint("ab_d")  # "_" is no wildcard: abcd... do not match
    huge = "abcd" + "x" * 60_000  # longer than SQLite's LIKE pattern limit
    with pytest.raises(CheckpointNotFound, match="no checkpoint with id or prefix 'abcdxx"):
        three.get_checkpoint(huge)
