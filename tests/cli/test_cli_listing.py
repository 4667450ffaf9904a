"""``flowpoint runs`` and ``flowpoint checkpoints``: tables, filters, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time

from cli_support import flowpoint

from flowpoint import open_store
from flowpoint.checkpoints.liveness import process_owner


def test_runs_table_shows_each_run_with_its_status_and_error(filled):
    res = flowpoint("runs", store=filled.url)
    assert res.code == 0, res.err
    for run_id in [*filled.joke_runs, filled.double_ok, filled.double_failed]:
        assert run_id[:8] in res.out
    assert "failed" in res.out and "StepFailed: cannot double -1" in res.out


def test_runs_filters_by_status_and_workflow(filled):
    res = flowpoint("runs", "--status", "failed", "--json", store=filled.url)
    assert [r["run_id"] for r in json.loads(res.out)] == [filled.double_failed]
    res = flowpoint("runs", "--workflow", "JokeFlow", "--json", store=filled.url)
    assert [r["run_id"] for r in json.loads(res.out)] == filled.joke_runs
    res = flowpoint("runs", "--status", "completed,failed", "--workflow", "DoubleFlow", "--csv",
                    store=filled.url)
    rows = list(csv.DictReader(io.StringIO(res.out)))
    assert [r["run_id"] for r in rows] == [filled.double_ok, filled.double_failed]
    assert rows[1]["error_type"] == "StepFailed"


def test_runs_refuses_an_unknown_status(filled):
    res = flowpoint("runs", "--status", "finished", store=filled.url)
    assert res.code == 1
    assert "unknown status 'finished'" in res.err and "completed" in res.err


def test_checkpoints_lists_every_checkpoint_including_start_ones(filled):
    res = flowpoint("checkpoints", "--json", store=filled.url)
    assert res.code == 0, res.err
    rows = json.loads(res.out)
    assert len(rows) == open_store(filled.url).count_checkpoints()
    assert len(rows) == 3 + 3 + 3 + 2
    starts = [r for r in rows if r["seq"] == 0]
    assert len(starts) == 4 and all(r["step"] is None for r in starts)
    table = flowpoint("checkpoints", store=filled.url).out
    assert "(start)" in table and "generate_joke" in table and "11 checkpoints" in table


def test_checkpoints_filters_are_those_of_filter_checkpoints(filled):
    def ids(*args):
        res = flowpoint("checkpoints", *args, "--json", store=filled.url)
        assert res.code == 0, res.err
        return [(r["run_id"], r["seq"]) for r in json.loads(res.out)]

    assert ids("--step", "start") == [(r, 0) for r in [*filled.joke_runs, filled.double_ok,
                                                       filled.double_failed]]
    assert ids("--last-completed-step", "generate_joke") == [(r, 1) for r in filled.joke_runs]
    assert ids("--output-type", "JokeEvent") == [(r, 1) for r in filled.joke_runs]
    assert ids("--input-type", "NumberEvent") == [(filled.double_ok, 2)]
    assert ids("--output-event-type", "cli_flows.NumberEvent", "--status", "failed") == [
        (filled.double_failed, 1)]
    assert ids("--run", filled.double_ok[:8]) == [(filled.double_ok, s) for s in (0, 1, 2)]
    assert ids("--workflow", "DoubleFlow", "--step", "double") == [(filled.double_ok, 2)]
    assert ids("--search", "chemistry", "--step", "start") == [(filled.joke_runs[0], 0)]
    assert ids("--since", "1h", "--until", "2999-01-01", "--step", "take") == [
        (filled.double_ok, 1), (filled.double_failed, 1)]
    assert ids("--since", "2999-01-01") == []
    assert len(ids("--limit", "2")) == 2
    assert ids("--newest-first", "--limit", "1") == [(filled.double_failed, 1)]


def test_checkpoints_csv_has_a_header_and_a_row_per_checkpoint(filled):
    res = flowpoint("checkpoints", "--csv", "--step", "critique_joke", store=filled.url)
    rows = list(csv.DictReader(io.StringIO(res.out)))
    assert [r["run_id"] for r in rows] == filled.joke_runs
    assert {r["output_type"] for r in rows} == {"flowpoint.runtime.events.StopEvent"}
    assert all(r["created_at"].endswith("+00:00") for r in rows)


def test_checkpoints_reports_bad_filters_in_one_line(filled):
    for args, needle in [(("--since", "last tuesday"), "is not a time"),
                         (("--run", "ffffffff"), "no run with id"),
                         (("--json", "--csv"), "one of --json and --csv"),
                         (("--limit", "0"), "--limit")]:
        res = flowpoint("checkpoints", *args, store=filled.url)
        assert res.code != 0, args
        assert needle in res.err and res.err.count("\n") == 1, (args, res.err)


def test_a_run_whose_process_died_lists_as_interrupted(filled):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    store = open_store(filled.url)
    host, _pid, _start, scope = process_owner().rsplit(":", 3)
    store.update_run(filled.double_ok, status="running", owner=f"{host}:{proc.pid}:1:{scope}")
    store.close()
    res = flowpoint("runs", "--status", "interrupted", "--json", store=filled.url)
    assert [r["run_id"] for r in json.loads(res.out)] == [filled.double_ok]


def test_a_run_of_another_machine_whose_lease_lapsed_lists_as_interrupted(filled):
    store = open_store(filled.url)
    store.update_run(filled.double_ok, status="running", owner="elsewhere:1:1:boot.ns",
                     heartbeat_at=time.time() - 86400)
    store.update_run(filled.joke_runs[0], status="running", owner="elsewhere:2:1:boot.ns",
                     heartbeat_at=time.time() + 60)
    store.close()
    res = flowpoint("runs", "--json", store=filled.url)
    status = {r["run_id"]: r["status"] for r in json.loads(res.out)}
    assert status[filled.double_ok] == "interrupted"
    assert status[filled.joke_runs[0]] == "running"
