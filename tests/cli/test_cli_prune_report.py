"""``flowpoint prune`` (with --dry-run) and ``flowpoint report``."""

from __future__ import annotations

import asyncio
import json

from cli_flows import DoubleFlow
from cli_support import fill, flowpoint

from flowpoint import WorkflowCheckpointer, open_store
from flowpoint.storage import CheckpointQuery


def _seqs(url):
    return sorted((r.run_id, r.seq) for r in open_store(url).list_checkpoints())


def test_dry_run_names_what_prune_then_deletes(filled):
    before = _seqs(filled.url)
    dry = flowpoint("prune", "--keep-last", "1", "--dry-run", store=filled.url)
    assert dry.code == 0, dry.err
    assert "would delete 3 checkpoints from 3 runs" in dry.out
    assert _seqs(filled.url) == before
    res = flowpoint("prune", "--keep-last", "1", store=filled.url)
    assert res.code == 0, res.err
    assert "deleted 3 checkpoints" in res.out
    after = _seqs(filled.url)
    assert len(after) == len(before) - 3
    for run_id in [*filled.joke_runs, filled.double_ok]:
        assert [s for r, s in after if r == run_id] == [0, 2]
    assert [s for r, s in after if r == filled.double_failed] == [0, 1]


def test_older_than_keeps_recent_checkpoints(filled):
    before = _seqs(filled.url)
    res = flowpoint("prune", "--older-than", "7d", store=filled.url)
    assert res.code == 0 and "deleted 0 checkpoints" in res.out
    assert _seqs(filled.url) == before
    dry = flowpoint("prune", "--older-than", "2999-01-01", "--keep-last", "1", "--dry-run",
                    store=filled.url)
    assert "would delete 3 checkpoints" in dry.out
    res = flowpoint("prune", "--older-than", "2999-01-01", store=filled.url)
    assert "deleted 7 checkpoints" in res.out
    assert {s for _, s in _seqs(filled.url)} == {0}


def test_dry_run_agrees_with_prune_on_many_runs(tmp_path):
    url = f"sqlite:///{tmp_path}/many.db"
    for _ in range(3):
        fill(url)
    dry = flowpoint("prune", "--keep-last", "1", "--dry-run", store=url)
    count = int(dry.out.split("dry run: would delete ")[1].split()[0])
    assert count == 9
    assert f"deleted {count} checkpoints" in flowpoint("prune", "--keep-last", "1", store=url).out


def test_prune_needs_an_option_and_a_positive_keep_last(filled):
    res = flowpoint("prune", store=filled.url)
    assert res.code == 1 and "--keep-last N and/or --older-than" in res.err
    res = flowpoint("prune", "--keep-last", "0", store=filled.url)
    assert res.code == 2 and res.err.count("\n") == 1
    res = flowpoint("prune", "--older-than", "soon", store=filled.url)
    assert res.code == 1 and "is not a time" in res.err


def test_report_gives_the_store_sizes(filled):
    res = flowpoint("report", "--json", store=filled.url)
    assert res.code == 0, res.err
    data = json.loads(res.out)
    store = open_store(filled.url)
    expected = store.storage_report()
    for key in ("runs", "checkpoints", "blobs", "bytes"):
        assert data[key] == expected[key]
    assert data["runs_by_status"] == {"completed": 3, "failed": 1}
    assert data["checkpoints"] == store.count_checkpoints(CheckpointQuery())
    table = flowpoint("report", store=filled.url).out
    assert "checkpoints" in table and "11" in table and "file bytes" in table


def test_dry_run_agrees_with_prune_on_an_unfinished_run(tmp_path):
    url = f"sqlite:///{tmp_path}/paused.db"

    async def pause():
        ckptr = WorkflowCheckpointer(workflow=DoubleFlow(), store=url)
        handler = ckptr.run(n=4, pause_before="double")
        await asyncio.gather(handler, return_exceptions=True)
        ckptr.store.close()

    asyncio.run(pause())
    fill(url)
    dry = flowpoint("prune", "--older-than", "2999-01-01", "--dry-run", store=url)
    assert "dry run: would delete 7 checkpoints from 4 runs" in dry.out  # the paused run: none
    res = flowpoint("prune", "--older-than", "2999-01-01", store=url)
    assert "deleted 7 checkpoints" in res.out
    assert flowpoint("runs", "--status", "paused", "--json", store=url).code == 0
