"""Four processes write 200 runs into one store at once: nothing lost, duplicated or torn."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from durability_flows import FanDone, FanItem, fan_checkpoints, find_corrupt
from durability_support import every_checkpoint, every_run, read_line, reap, start_worker
from sqlalchemy import create_engine, text

from flowpoint import Checkpoint, StartEvent, StopEvent, WorkflowCheckpointer
from flowpoint.demo import JokeEvent, JokeFlow

PROCESSES = 4
RUNS_EACH = 50
BATCH = 10  # runs in flight at once inside each process

JOKE_STEPS = [(None, type(None), StartEvent), ("generate_joke", StartEvent, JokeEvent),
              ("critique_joke", JokeEvent, StopEvent)]
FAN_TYPES = {None: (type(None), StartEvent), "spread": (StartEvent, type(None)),
             "square": (FanItem, FanDone), "collect": (FanDone, (type(None), StopEvent))}


def run_all(url: str, tmp_path: Path, workers: list[Any]) -> dict[str, dict[str, Any]]:
    """Start the writers and a reader, release the writers together, collect what each says it
    ran; the reader reads everything over and over meanwhile and reports any torn read."""
    stop = tmp_path / "writers-done"
    reader = start_worker("reader", url, stop, cwd=tmp_path)
    workers.append(reader)
    assert read_line(reader) == {"ready": True}
    procs = []
    for i in range(PROCESSES):
        proc = start_worker("many", url, "joke" if i % 2 == 0 else "fan", RUNS_EACH, BATCH,
                            cwd=tmp_path)
        workers.append(proc)
        procs.append(proc)
    for proc in procs:
        assert read_line(proc) == {"ready": True}
    for proc in [reader, *procs]:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    reported: dict[str, dict[str, Any]] = {}
    for i, proc in enumerate(procs):
        runs = read_line(proc)["runs"]
        assert proc.wait(timeout=300) == 0
        reap(proc)
        for run_id, info in runs.items():
            reported[run_id] = {**info, "flow": "joke" if i % 2 == 0 else "fan"}
    stop.touch()
    seen = read_line(reader)
    assert reader.wait(timeout=120) == 0
    assert seen["problems"] == [], seen
    print(f"reader: {seen}")
    assert seen["reads"] >= 1 and seen["most"] > 0
    return reported


def check_fan(ckpts: list[Checkpoint], count: int) -> None:
    assert len(ckpts) == fan_checkpoints(count)
    steps = [c.last_completed_step for c in ckpts]
    assert steps[:2] == [None, "spread"]
    assert sorted(steps[2:]) == sorted(["square"] * count + ["collect"] * count)
    for c in ckpts:
        ins, outs = FAN_TYPES[c.last_completed_step]
        assert type(c.input_event) is ins and isinstance(c.output_event, outs)
        assert type(c.output_event) in (outs if isinstance(outs, tuple) else (outs,))
    squares = sorted(c.output_event.i for c in ckpts if c.last_completed_step == "square")
    assert squares == list(range(count))
    assert type(ckpts[-1].output_event) is StopEvent


def verify(url: str, reported: dict[str, dict[str, Any]]) -> None:
    """Every reported run and its checkpoints are present, complete, unique and readable."""
    assert len(reported) == PROCESSES * RUNS_EACH
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    try:
        runs = every_run(ckptr)
        assert set(runs) == set(reported)
        by_run = every_checkpoint(ckptr)
        assert set(by_run) == set(reported)
        ids = [c.id_ for cs in by_run.values() for c in cs]
        assert len(ids) == len(set(ids)), "duplicate checkpoint ids"
        for run_id, info in reported.items():
            run, ckpts = runs[run_id], by_run[run_id]
            assert run.status == "completed" and run.result == info["result"], run_id
            assert [c.seq for c in ckpts] == list(range(len(ckpts))), run_id
            assert ckpts[0].parent_id is None
            assert all(b.parent_id == a.id_ for a, b in pairwise(ckpts)), run_id
            assert all(c.problems == [] and c.run_id == run_id for c in ckpts)
            if info["flow"] == "joke":
                assert info["result"].startswith("Critique:")
                got = [(c.last_completed_step, type(c.input_event), type(c.output_event))
                       for c in ckpts]
                assert got == JOKE_STEPS, run_id
                assert ckpts[0].output_event.topic == info["kwargs"]["topic"]
            else:
                count = info["kwargs"]["count"]
                assert info["result"] == [i * i for i in range(count)]
                check_fan(ckpts, count)
        # Every state is whole: read in bulk (one transaction) and checked for placeholders.
        records = ckptr.store.list_checkpoints(None, with_state=True)
        assert len(records) == len(ids)
        for rec in records:
            assert isinstance(rec.ctx_state, dict) and "store" in rec.ctx_state, rec.id
            assert find_corrupt(rec.ctx_state) == [], (rec.id, find_corrupt(rec.ctx_state))
            assert find_corrupt(rec.output_event) == [] and find_corrupt(rec.input_event) == []
            json.dumps(rec.ctx_state)
        # And no (run_id, seq) pair is stored twice, by SQL outside flowpoint.
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                dup = conn.execute(text(
                    "SELECT run_id, seq FROM flowpoint_checkpoints GROUP BY run_id, seq "
                    "HAVING COUNT(*) > 1")).all()
                assert dup == []
                if url.startswith("sqlite"):
                    assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        finally:
            engine.dispose()
    finally:
        ckptr.store.close()


@pytest.mark.slow
def test_four_processes_writing_at_once_lose_and_tear_nothing(
        store_url: str, tmp_path: Path, workers: list[Any]) -> None:
    reported = run_all(store_url, tmp_path, workers)
    verify(store_url, reported)
