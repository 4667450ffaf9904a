"""``flowpoint export`` / ``flowpoint import``: runs move between SQLite and PostgreSQL intact."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

from cli_flows import DoubleFlow
from cli_support import flowpoint

from flowpoint import WorkflowCheckpointer, open_store


def _everything(url):
    """Every run and checkpoint of a store with its state, as plain data (order included)."""
    store = open_store(url)
    try:
        runs = [dataclasses.asdict(r) for r in store.list_runs()]
        ckpts = [dataclasses.asdict(c) for c in store.list_checkpoints(with_state=True)]
        return runs, ckpts
    finally:
        store.close()


def _lines(path: Path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_export_then_import_copies_runs_exactly(filled, tmp_path):
    out = tmp_path / "runs.jsonl"
    res = flowpoint("export", "-o", str(out), store=filled.url)
    assert res.code == 0, res.err
    assert "exported 4 runs (11 checkpoints)" in res.err
    lines = _lines(out)
    assert lines[0]["kind"] == "header" and lines[-1] == {"kind": "end", "runs": 4,
                                                         "checkpoints": 11}
    target = f"sqlite:///{tmp_path}/copy.db"
    res = flowpoint("import", str(out), store=target)
    assert res.code == 0, res.err
    assert "imported 4 runs (11 checkpoints)" in res.out
    assert _everything(target) == _everything(filled.url)


def test_importing_twice_changes_nothing(filled, tmp_path):
    out = tmp_path / "runs.jsonl"
    flowpoint("export", "-o", str(out), store=filled.url)
    target = f"sqlite:///{tmp_path}/copy.db"
    flowpoint("import", str(out), store=target)
    first = _everything(target)
    report = open_store(target).storage_report()
    res = flowpoint("import", str(out), store=target)
    assert res.code == 0, res.err
    assert "imported 0 runs (0 checkpoints)" in res.out
    assert "already there: 4 runs, 11 checkpoints" in res.out
    assert _everything(target) == first
    assert open_store(target).storage_report()["bytes"] == report["bytes"]


def test_export_chosen_runs_by_prefix_and_to_stdout(filled, tmp_path):
    res = flowpoint("export", filled.double_ok[:8], filled.joke_runs[1][:8], store=filled.url)
    assert res.code == 0, res.err
    runs = [json.loads(x)["data"]["run_id"] for x in res.out.splitlines()
            if json.loads(x)["kind"] == "run"]
    assert sorted(runs) == sorted([filled.double_ok, filled.joke_runs[1]])
    res = flowpoint("export", "--status", "failed", store=filled.url)
    kinds = [json.loads(x)["kind"] for x in res.out.splitlines()]
    assert kinds == ["header", "run", "checkpoint", "checkpoint", "end"]


def test_a_changed_line_is_refused_and_nothing_is_written(filled, tmp_path):
    out = tmp_path / "runs.jsonl"
    flowpoint("export", "-o", str(out), store=filled.url)
    text = out.read_text()
    assert '"taken":21' in text
    out.write_text(text.replace('"taken":21', '"taken":22', 1))
    target = f"sqlite:///{tmp_path}/copy.db"
    res = flowpoint("import", str(out), store=target)
    assert res.code == 1 and res.err.count("\n") == 1
    assert "does not match its sha256" in res.err
    assert _everything(target) == ([], [])


def test_a_truncated_or_foreign_file_is_refused(filled, tmp_path):
    out = tmp_path / "runs.jsonl"
    flowpoint("export", "-o", str(out), store=filled.url)
    lines = out.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[:-3]))
    target = f"sqlite:///{tmp_path}/copy.db"
    res = flowpoint("import", str(cut), store=target)
    assert res.code == 1 and "truncated" in res.err
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": "world"}\n')
    res = flowpoint("import", str(other), store=target)
    assert res.code == 1 and "not a flowpoint export" in res.err
    res = flowpoint("import", str(tmp_path / "missing.jsonl"), store=target)
    assert res.code == 2 and res.err.count("\n") == 1
    assert _everything(target) == ([], [])


def test_a_checkpoint_that_differs_from_the_one_already_stored_is_a_conflict(filled, tmp_path):
    out = tmp_path / "runs.jsonl"
    flowpoint("export", "-o", str(out), store=filled.url)
    lines = _lines(out)
    for line in lines:
        if line["kind"] == "checkpoint" and line["data"]["step"] == "take":
            line["data"]["metadata"] = {"changed": True}
            from flowpoint.cli.transfer import content_hash

            line["sha256"] = content_hash(line["data"])
            break
    forged = tmp_path / "forged.jsonl"
    forged.write_text("".join(json.dumps(x) + "\n" for x in lines))
    before = _everything(filled.url)
    res = flowpoint("import", str(forged), store=filled.url)
    assert res.code == 1 and "already in" in res.err and "different content" in res.err
    assert _everything(filled.url) == before


def test_a_run_grown_since_the_last_import_gets_its_new_checkpoints(filled, tmp_path):
    out = tmp_path / "runs.jsonl"
    flowpoint("export", filled.double_failed, "-o", str(out), store=filled.url)
    target = f"sqlite:///{tmp_path}/copy.db"
    flowpoint("import", str(out), store=target)
    lines = _lines(out)
    partial = tmp_path / "partial.jsonl"
    lines = [x for x in lines if not (x["kind"] == "checkpoint" and x["data"]["seq"] == 1)]
    lines[-1]["checkpoints"] = 1
    partial.write_text("".join(json.dumps(x) + "\n" for x in lines))
    other = f"sqlite:///{tmp_path}/other.db"
    assert flowpoint("import", str(partial), store=other).code == 0
    res = flowpoint("import", str(out), store=other)
    assert res.code == 0, res.err
    assert "imported 0 runs (1 checkpoints)" in res.out
    assert _everything(other) == _everything(target)


def test_runs_move_from_sqlite_to_postgresql_and_back(filled, tmp_path, pg_url):
    async def resume_one():
        ckptr = WorkflowCheckpointer(workflow=DoubleFlow(), store=filled.url)
        last = ckptr.last_checkpoint(filled.double_failed)
        await ckptr.run_from(last, output_event={"n": 4})
        ckptr.store.close()

    asyncio.run(resume_one())
    out = tmp_path / "runs.jsonl"
    assert flowpoint("export", "-o", str(out), store=filled.url).code == 0
    res = flowpoint("import", str(out), store=pg_url)
    assert res.code == 0, res.err
    assert "imported 5 runs (12 checkpoints)" in res.out
    assert _everything(pg_url) == _everything(filled.url)
    again = flowpoint("import", str(out), store=pg_url)
    assert "imported 0 runs (0 checkpoints)" in again.out
    assert _everything(pg_url) == _everything(filled.url)
    back = tmp_path / "back.jsonl"
    assert flowpoint("export", "-o", str(back), store=pg_url).code == 0
    assert _lines(back)[1:] == _lines(out)[1:]
    home = f"sqlite:///{tmp_path}/home.db"
    assert flowpoint("import", str(back), store=home).code == 0
    assert _everything(home) == _everything(filled.url)
    resumed = json.loads(flowpoint("runs", "--json", store=home).out)[-1]
    assert resumed["origin_checkpoint_id"] is not None and resumed["edited"] is True
