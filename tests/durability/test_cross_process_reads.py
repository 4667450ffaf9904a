"""A store written by one process is read back whole, with exact event classes, by another."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from durability_support import run_worker

JOKE = "flowpoint.demo.JokeEvent"
START = "flowpoint.runtime.events.StartEvent"
STOP = "flowpoint.runtime.events.StopEvent"


@pytest.mark.slow
def test_a_new_process_sees_every_run_and_checkpoint_and_resumes_the_failed_run(
        store_url: str, tmp_path: Path) -> None:
    (written,) = run_worker("populate", store_url, cwd=tmp_path)
    (seen,) = run_worker("inspect", store_url, "resume", cwd=tmp_path)

    failed = written["failed"]
    assert set(written["runs"]) == set(written["results"]) | {failed}
    # Every run, with the status, workflow, result and error the writer left.
    assert set(seen["runs"]) >= set(written["runs"])
    for run_id, status in written["runs"].items():
        assert seen["runs"][run_id]["status"] == status, run_id
        assert seen["runs"][run_id]["workflow"] == "JokeFlow"
    for run_id, result in written["results"].items():
        assert seen["runs"][run_id]["result"] == result
        assert result.startswith("Critique:")
    assert seen["runs"][failed]["status"] == "failed"
    assert "critic is down" in seen["runs"][failed]["error"]

    # Every checkpoint, in order, with the same ids, parents, exact classes, data and state.
    for run_id, expected in written["checkpoints"].items():
        got = seen["checkpoints"][run_id]
        assert [c["id"] for c in got] == [c["id"] for c in expected]
        for g, e in zip(got, expected, strict=True):
            for field in ("seq", "step", "parent_id", "input", "output", "output_data", "store"):
                assert g[field] == e[field], (run_id, g["seq"], field)
            assert g["corrupt"] == [] and g["same_by_get"]
        assert [c["seq"] for c in got] == list(range(len(got)))
        assert got[0]["parent_id"] is None and got[0]["output"] == START
        assert all(b["parent_id"] == a["id"] for a, b in pairwise(got))
        assert got[1]["output"] == JOKE and got[1]["exact_joke"] is True
        assert got[1]["output_data"]["joke"]
    for run_id in written["results"]:
        steps = [(c["step"], c["input"], c["output"]) for c in seen["checkpoints"][run_id]]
        assert steps == [(None, None, START), ("generate_joke", START, JOKE),
                         ("critique_joke", JOKE, STOP)]
    assert len(seen["checkpoints"][failed]) == 2  # start + generate_joke; critique failed

    # The reader resumed the failed run from its last checkpoint with a working critic.
    resumed = seen["resumed"][failed]
    assert resumed["from"] == written["checkpoints"][failed][-1]["id"]
    assert resumed["status"] == "completed" and resumed["origin"] == resumed["from"]
    assert resumed["result"].startswith("Critique:")
    assert set(seen["resumed"]) == {failed}

    # A third process sees the resumed run too, continuing the chain from the failed checkpoint.
    (again,) = run_worker("inspect", store_url, cwd=tmp_path)
    new_run = resumed["run_id"]
    assert again["runs"][new_run]["status"] == "completed"
    assert again["runs"][new_run]["result"] == resumed["result"]
    chain = again["checkpoints"][new_run]
    assert chain[0]["seq"] == 2 and chain[0]["parent_id"] == resumed["from"]
    assert chain[0]["step"] == "critique_joke" and chain[0]["output"] == STOP
    assert again["runs"][failed]["status"] == "failed"  # the stored run is never changed
