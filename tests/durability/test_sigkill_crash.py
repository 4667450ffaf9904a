"""SIGKILL a process mid-run: the store stays intact, the run is "interrupted", and resumes.

Each kill lands after a random number of committed checkpoints plus a random delay inside the
next step or commit. Set FLOWPOINT_CRASH_SEED to replay a failing sequence (the seed is printed
in every failure message).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from durability_flows import (
    Finished,
    SlowFlow,
    Tick,
    find_corrupt,
    slow_output_types,
    slow_result,
)
from durability_support import every_checkpoint, read_line, reap, sqlite_url, start_worker

from flowpoint import (
    CheckpointNotFound,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    WorkflowCheckpointer,
)
from flowpoint.demo import ReviewFlow

STEPS = 30
INPUT_TYPES = {None: type(None), "begin": StartEvent, "work": Tick, "finish": Finished}


def crash_seed() -> int:
    """FLOWPOINT_CRASH_SEED if set, else a fresh random seed."""
    env = os.environ.get("FLOWPOINT_CRASH_SEED")
    return int(env) if env else random.SystemRandom().randrange(2**32)


@contextlib.contextmanager
def seed_on_failure(seed: int, i: int, plan: Any) -> Iterator[None]:
    """Re-raise any failure with the seed, iteration and kill plan that produced it."""
    try:
        yield
    except BaseException as exc:
        raise AssertionError(f"FLOWPOINT_CRASH_SEED={seed} iteration {i} plan {plan}: "
                             f"{type(exc).__name__}: {exc}") from exc


def sqlite_integrity(url: str) -> None:
    """PRAGMA integrity_check and foreign_key_check on the file, outside flowpoint."""
    path = url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def check_chain(ckpts: list[Any], steps: int) -> None:
    """seq contiguous from 0, parents chained, events of the exact classes, state intact."""
    assert [c.seq for c in ckpts] == list(range(len(ckpts)))
    assert all(b.parent_id == a.id_ for a, b in pairwise(ckpts))
    assert ckpts[0].parent_id is None and ckpts[0].last_completed_step is None
    expected_steps = [None, "begin"] + ["work"] * steps + ["finish"]
    assert [c.last_completed_step for c in ckpts] == expected_steps[: len(ckpts)]
    for c in ckpts:
        step = c.last_completed_step
        assert type(c.input_event) is INPUT_TYPES[step], (c.seq, c.input_event)
        assert type(c.output_event) in slow_output_types(step), (c.seq, c.output_event)
        assert c.problems == []
        state = c.ctx_state
        assert find_corrupt(state) == [], (c.seq, find_corrupt(state))
        if c.seq >= 1:
            done = c.seq - 1 if step != "finish" else steps
            items = c.user_state["items"]
            assert len(items) == done and c.user_state["total"] == sum(n * n for n in range(done))
            assert all(item.startswith(f"{n}:") for n, item in enumerate(items))
        if step == "work":
            assert c.output_event.n == c.input_event.n + 1


async def verify(url: str, known: set[str], seen_ckpts: int, steps: int) -> str:
    """Check the store after a kill and resume the killed run; returns what the kill hit."""
    ckptr = WorkflowCheckpointer(SlowFlow(max_sleep_ms=0), store=url)
    try:
        runs = ckptr.runs
        new = [r for r in runs if r not in known]
        known.update(runs)
        all_ckpts = every_checkpoint(ckptr)
        assert len(new) <= 1, f"one killed process made {len(new)} runs"
        if not new:
            assert seen_ckpts == 0
            return "before the run"
        run_id = new[0]
        run = runs[run_id]
        assert run.status in ("interrupted", "completed"), f"run left {run.status!r}"
        assert ckptr.get_run(run_id).status == run.status
        ckpts = all_ckpts.get(run_id, [])
        assert len(ckpts) >= seen_ckpts, "a checkpoint reported as committed was lost"
        if ckpts:
            check_chain(ckpts, steps)
        if run.status == "completed":
            assert len(ckpts) == steps + 3 and run.result == slow_result(steps)
            return "after the end"
        if not ckpts:
            with pytest.raises(CheckpointNotFound):
                ckptr.last_checkpoint(run_id)
            return "before the first checkpoint"
        last = ckptr.last_checkpoint(run_id)
        assert last.id_ == ckpts[-1].id_
        handler = ckptr.run_from(last)
        assert await handler == slow_result(steps)
        known.add(handler.run_id)
        assert ckptr.runs[handler.run_id].status == "completed"
        assert ckptr.runs[run_id].status == "interrupted"
        if last.last_completed_step == "finish":
            # Killed after the last checkpoint but before "completed" was written: resuming
            # re-emits the stored StopEvent; no step runs, so no checkpoint is taken.
            assert handler.run_id not in every_checkpoint(ckptr)
            return "after the last checkpoint"
        resumed = every_checkpoint(ckptr)[handler.run_id]
        # From a start checkpoint (killed before the first step's) the new run is a fresh one
        # with the same inputs: its own start checkpoint is seq 0.
        first = 0 if last.last_completed_step is None else last.seq + 1
        assert resumed[0].parent_id == last.id_ and resumed[0].seq == first
        assert [c.seq for c in resumed] == list(range(first, first + len(resumed)))
        assert resumed[-1].last_completed_step == "finish"
        return f"after {len(ckpts)} checkpoints"
    finally:
        ckptr.store.close()


def kill_once(proc: subprocess.Popen[str], after_ckpts: int, delay_s: float) -> int:
    """Let the worker commit ``after_ckpts`` checkpoints, wait ``delay_s``, SIGKILL, reap."""
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert read_line(proc) == {"ready": True}
    seen = 0
    while seen < after_ckpts:
        line = read_line(proc)
        if "done" in line:
            break
        seen += 1
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)  # reaped: its pid no longer names a live process
    return seen


def crash_many(url: str, tmp_path: Path, kills: int, workers: list[Any]) -> list[str]:
    """``kills`` rounds of start, kill at a random moment, verify; the next worker preloads."""
    seed = crash_seed()
    rng = random.Random(seed)
    known: set[str] = set()
    outcomes = []

    def spawn() -> subprocess.Popen[str]:
        # Steps sleep 1-20 ms, or (one run in three) not at all, so kills also land in commits.
        max_sleep_ms = rng.choice([20, 20, 0])
        proc = start_worker("slow", url, rng.randrange(10**6), STEPS, max_sleep_ms, cwd=tmp_path)
        workers.append(proc)
        return proc

    nxt = spawn()
    for i in range(kills):
        proc = nxt
        plan = {"after_ckpts": rng.randint(0, STEPS + 2), "delay_ms": round(rng.uniform(0, 15), 2)}
        with seed_on_failure(seed, i, plan):
            assert read_line(proc) == {"loaded": True}
            seen = kill_once(proc, plan["after_ckpts"], plan["delay_ms"] / 1000)
            reap(proc)
            nxt = spawn() if i + 1 < kills else None
            if url.startswith("sqlite"):
                sqlite_integrity(url)
            outcomes.append(asyncio.run(verify(url, known, seen, STEPS)))
    print(f"FLOWPOINT_CRASH_SEED={seed}: {outcomes}")
    return outcomes


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_a_sqlite_store_intact_and_resumable(
        tmp_path: Path, workers: list[Any]) -> None:
    outcomes = crash_many(sqlite_url(tmp_path), tmp_path, kills=20, workers=workers)
    assert len(outcomes) == 20


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_a_postgresql_store_intact_and_resumable(
        pg_url: str, tmp_path: Path, workers: list[Any]) -> None:
    outcomes = crash_many(pg_url, tmp_path, kills=5, workers=workers)
    assert len(outcomes) == 5


@pytest.mark.slow
async def test_a_run_killed_while_waiting_for_a_human_is_interrupted_and_asks_again(
        store_url: str, tmp_path: Path, workers: list[Any]) -> None:
    proc = start_worker("review", store_url, cwd=tmp_path)
    workers.append(proc)
    run_id = read_line(proc)["waiting"]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    ckptr = WorkflowCheckpointer(ReviewFlow(), store=store_url)
    try:
        assert ckptr.runs[run_id].status == "interrupted"
        last = ckptr.last_checkpoint(run_id)
        assert last.last_completed_step == "draft"
        assert type(last.output_event) is InputRequiredEvent
        assert last.output_event.prefix.startswith("Publish this joke?")
        assert last.user_state["draft"] in last.output_event.prefix
        handler = ckptr.run_from(last)
        prompt = None
        async for ev in handler.stream_events():
            if isinstance(ev, InputRequiredEvent):
                prompt = ev
                break
        assert prompt is not None and prompt.prefix == last.output_event.prefix
        assert ckptr.get_run(handler.run_id).status == "waiting"
        ckptr.respond(handler.run_id, HumanResponseEvent(response="yes"))
        assert await handler == f"published: {last.user_state['draft']}"
        assert ckptr.runs[handler.run_id].status == "completed"
        assert ckptr.runs[run_id].status == "interrupted"
    finally:
        ckptr.store.close()


@pytest.mark.slow
async def test_get_run_on_an_open_checkpointer_sees_the_owner_die(
        tmp_path: Path, workers: list[Any]) -> None:
    url = sqlite_url(tmp_path)
    ckptr = WorkflowCheckpointer(ReviewFlow(), store=url)  # opened before the run even starts
    try:
        proc = start_worker("review", url, cwd=tmp_path)
        workers.append(proc)
        run_id = read_line(proc)["waiting"]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert ckptr.get_run(run_id).status == "interrupted"
    finally:
        ckptr.store.close()
