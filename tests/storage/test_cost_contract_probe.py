"""What checkpoints cost, checked from outside: bytes stored by value-level dedup, long runs that
stay readable, and the fsyncs each durability level makes (counted by strace on a real file)."""

from __future__ import annotations

import cProfile
import os
import pstats
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flowpoint import Context, Event, StartEvent, StopEvent, Workflow, WorkflowCheckpointer, step

BIG = 1_000_000
ITEM = 2048


class Turn(Event):
    n: int


class BigValue(Workflow):
    """A 1 MB value set once, then ``steps`` steps that change a counter beside it (or not)."""

    def __init__(self, steps: int, counter: bool, **kwargs: object) -> None:
        super().__init__(timeout=None, **kwargs)
        self.n_steps, self.counter = steps, counter

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Turn:
        await ctx.store.set("document", "d" * BIG)
        return Turn(n=1)

    @step
    async def again(self, ev: Turn, ctx: Context) -> Turn | StopEvent:
        if self.counter:
            await ctx.store.set("counter", ev.n)
        return StopEvent(result=ev.n) if ev.n >= self.n_steps - 1 else Turn(n=ev.n + 1)


def item(n: int) -> str:
    return f"{n:08d}".ljust(ITEM, "x")


class Appends(Workflow):
    """``steps`` steps, each appending one 2 KB string to a list in ctx.store."""

    def __init__(self, steps: int, **kwargs: object) -> None:
        super().__init__(timeout=None, **kwargs)
        self.n_steps = steps

    @step
    async def begin(self, ev: StartEvent, ctx: Context) -> Turn:
        await ctx.store.set("items", [])
        return Turn(n=0)

    @step
    async def add(self, ev: Turn, ctx: Context) -> Turn | StopEvent:
        items = await ctx.store.get("items")
        items.append(item(ev.n))
        await ctx.store.set("items", items)
        return StopEvent(result=ev.n) if ev.n >= self.n_steps - 1 else Turn(n=ev.n + 1)


async def stored(tmp_path: Path, flow: Workflow) -> tuple[WorkflowCheckpointer, int, int]:
    """Run ``flow`` once on a fresh SQLite file: (checkpointer, storage_report bytes, size of
    the file once the store is closed)."""
    path = tmp_path / "cost.db"
    ckptr = WorkflowCheckpointer(flow, store=str(path))
    await ckptr.run()
    report = ckptr.storage_report()
    assert report["runs"] == 1
    ckptr.store.close()
    assert not os.path.exists(f"{path}-wal") or os.path.getsize(f"{path}-wal") == 0
    return ckptr, int(report["bytes"]), os.path.getsize(path)


@pytest.mark.parametrize("counter", [True, False], ids=["counter-changing", "untouched"])
async def test_a_1mb_value_over_50_steps_is_stored_about_once(
        tmp_path: Path, counter: bool) -> None:
    ckptr, nbytes, file_bytes = await stored(tmp_path, BigValue(50, counter))
    assert nbytes <= (1_500_000 if counter else 1_100_000), nbytes
    assert file_bytes <= 1_500_000, file_bytes
    (ckpts,) = ckptr.checkpoints.values()
    assert len(ckpts) == 50
    for c in (ckpts[0], ckpts[25], ckpts[-1]):
        want = {"document": "d" * BIG} | ({"counter": c.seq - 1} if counter and c.seq > 1 else {})
        assert c.ctx_state["store"] == want


async def test_200_appends_of_2kb_store_at_most_twice_the_unique_data(tmp_path: Path) -> None:
    ckptr, nbytes, _ = await stored(tmp_path, Appends(200))
    unique = 200 * ITEM
    assert nbytes <= 2 * unique, (nbytes, nbytes / unique)
    (ckpts,) = ckptr.checkpoints.values()
    assert [c.seq for c in ckpts] == list(range(1, 202))
    assert ckpts[-1].ctx_state["store"]["items"] == [item(n) for n in range(200)]
    assert ckpts[100].ctx_state["store"]["items"] == [item(n) for n in range(100)]


async def test_a_10000_step_run_of_2kb_appends_reads_back_every_checkpoint_right(
        tmp_path: Path) -> None:
    """Long runs complete, and what each checkpoint costs does not grow with the run."""
    steps = 10_000
    ckptr, nbytes, _ = await stored(tmp_path, Appends(steps))
    ckptr.store = type(ckptr.store)(ckptr.store.url)  # reopened: read from the file
    (run_id,) = ckptr.runs
    assert ckptr.runs[run_id].status == "completed"
    assert ckptr.runs[run_id].result == steps - 1
    listed = ckptr.filter_checkpoints(run_id=run_id)
    assert [c.seq for c in listed] == list(range(1, steps + 2))
    for seq in (1, 2, 777, 5000, 9999, steps + 1):
        want = [item(n) for n in range(seq - 1)]
        assert listed[seq - 1].ctx_state["store"]["items"] == want, seq
        assert ckptr.get(listed[seq - 1].id_).ctx_state["store"]["items"] == want, seq
    frame = ckptr.to_dataframe()
    assert len(frame) == steps + 2 and frame["seq"].tolist() == list(range(steps + 2))
    # linear: about the data plus a row each, far from a copy of the list per checkpoint
    assert nbytes < 2.5 * steps * ITEM, nbytes
    ckptr.store.close()


async def encoding_calls(tmp_path: Path, steps: int) -> tuple[int, int]:
    """(sha256 hashes, Python function calls) made by a run of ``steps`` 2 KB appends."""
    ckptr = WorkflowCheckpointer(Appends(steps), store=str(tmp_path / f"enc-{steps}.db"))
    profile = cProfile.Profile()
    profile.enable()
    await ckptr.run()
    profile.disable()
    ckptr.store.close()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    hashes = sum(v[1] for (_, _, name), v in stats.items() if "sha256" in name)
    return hashes, sum(v[1] for v in stats.values())


async def test_each_checkpoint_hashes_only_what_is_new_and_costs_the_same(
        tmp_path: Path) -> None:
    """Events, items and finished chunks are hashed once: each step of a run four times as long
    hashes no more, and makes about as many calls, as a step of the short run."""
    short, long = await encoding_calls(tmp_path, 300), await encoding_calls(tmp_path, 1200)
    hashes_added = (long[0] - short[0]) / 900
    assert hashes_added <= 1.1 * short[0] / 300, (short, long)
    assert long[0] / 1200 <= 8, long  # a handful per step: the item, a chunk, index nodes
    calls_added = (long[1] - short[1]) / 900
    assert calls_added <= 1.25 * short[1] / 300, (short, long)


FSYNCS = textwrap.dedent("""
    import asyncio, sys
    from flowpoint import WorkflowCheckpointer
    from flowpoint.demo import JokeFlow

    async def main(path, level, runs, topics, each):
        level = None if level == "-" else level
        ckptrs = [WorkflowCheckpointer(JokeFlow(timeout=None), store=path, durability=level)
                  for _ in range(runs if each else 1)]
        sys.stderr.write("START\\n"); sys.stderr.flush()
        for _ in range(topics):
            await asyncio.gather(*[ckptrs[i % len(ckptrs)].run(topic=f"t{i}")
                                   for i in range(runs)])
        sys.stderr.write("END\\n"); sys.stderr.flush()
        print(ckptrs[0].storage_report()["checkpoints"])

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                     sys.argv[5] == "each"))
""")


def fsyncs(tmp_path: Path, level: str | None, runs: int, rounds: int,
           spec: str | None = None, each: bool = False) -> tuple[int, int]:
    """(fsync/fdatasync calls made while ``rounds`` times ``runs`` runs at once ran,
    checkpoints stored), counted by strace on a real process writing a real SQLite file.
    ``each``: every run has a checkpointer of its own on that file."""
    script = tmp_path / "fsyncs.py"
    script.write_text(FSYNCS)
    trace = tmp_path / f"trace-{level}-{runs}-{each}"
    spec = spec or str(tmp_path / f"f-{level}-{runs}-{each}.db")
    done = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync,write", "-e", "write=2",
         "-o", str(trace), sys.executable, str(script), spec, level or "-", str(runs),
         str(rounds), "each" if each else "one"], capture_output=True, text=True, env=os.environ, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = trace.read_text().splitlines()
    start = next(i for i, x in enumerate(lines) if 'write(2, "START' in x)
    end = next(i for i, x in enumerate(lines) if 'write(2, "END' in x)
    calls = sum(1 for x in lines[start:end] if "fsync(" in x or "fdatasync(" in x)
    return calls, int(done.stdout.split()[-1])


def test_power_fsyncs_every_commit_process_none_and_concurrent_runs_share_them(
        tmp_path: Path) -> None:
    alone_power, ckpts = fsyncs(tmp_path, "power", 1, 10)
    assert ckpts == 30
    assert alone_power >= ckpts, alone_power  # each checkpoint fsynced before it is dispatched
    alone_process, _ = fsyncs(tmp_path, "process", 1, 10)
    assert alone_process <= 2, alone_process  # WAL with synchronous=NORMAL: no fsync per commit
    shared_power, ckpts = fsyncs(tmp_path, "power", 10, 1)
    assert ckpts == 30
    assert shared_power <= alone_power / 2, (shared_power, alone_power)  # one commit, many runs


def test_checkpointers_on_one_file_share_its_writer_and_their_runs_share_fsyncs(
        tmp_path: Path) -> None:
    """A server making a checkpointer per request still commits its runs together."""
    alone_power, _ = fsyncs(tmp_path, "power", 1, 10)
    separate, ckpts = fsyncs(tmp_path, "power", 10, 1, each=True)
    assert ckpts == 30
    assert separate <= alone_power / 2, (separate, alone_power)  # was more than alone_power
    path = str(tmp_path / "one.db")
    first = WorkflowCheckpointer(BigValue(2, False), store=path)
    second = WorkflowCheckpointer(Appends(2), store=f"sqlite:///{path}")
    assert first.store is second.store
    assert WorkflowCheckpointer(Appends(2), store=path, durability="power").store is not first.store
    first.store.close()
    third = WorkflowCheckpointer(Appends(2), store=path)
    assert third.store is not first.store  # a closed store is not handed out again
    third.store.close()


async def test_a_deleted_store_file_is_not_shared_again(tmp_path: Path) -> None:
    """A notebook that deletes its store file and makes a new checkpointer on the same path
    (the old one still referenced) writes to the new file, not to the deleted one."""
    import sqlite3

    path = tmp_path / "gone.db"
    old = WorkflowCheckpointer(Appends(2), store=str(path))
    await old.run()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    new = WorkflowCheckpointer(Appends(2), store=str(path))
    assert new.store is not old.store
    handler = new.run()
    await handler
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT run_id FROM flowpoint_runs").fetchall() == [
            (handler.run_id,)]
    finally:
        conn.close()
    new.store.close()
    old.store.close()


STEPS_MARKED = textwrap.dedent("""
    import asyncio, os, sys
    from flowpoint import Context, Event, StartEvent, StopEvent, Workflow, WorkflowCheckpointer, step

    class Hop(Event):
        n: int

    class Marked(Workflow):
        @step
        async def begin(self, ev: StartEvent, ctx: Context) -> Hop:
            os.write(2, b"STEP\\n")
            return Hop(n=1)

        @step
        async def hop(self, ev: Hop, ctx: Context) -> Hop | StopEvent:
            os.write(2, b"STEP\\n")
            return StopEvent(result=ev.n) if ev.n >= 8 else Hop(n=ev.n + 1)

    async def main(path):
        ckptr = WorkflowCheckpointer(Marked(timeout=None), store=path, durability="power")
        await ckptr.run()
        os.write(2, b"END\\n")

    asyncio.run(main(sys.argv[1]))
""")


def test_power_fsyncs_each_checkpoint_before_the_next_step_starts(tmp_path: Path) -> None:
    """Between one step starting and the next (its output dispatched), an fsync: the step's
    checkpoint reached the disk first."""
    script, trace = tmp_path / "marked.py", tmp_path / "marked.trace"
    script.write_text(STEPS_MARKED)
    done = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync,write", "-e", "write=2",
         "-o", str(trace), sys.executable, str(script), str(tmp_path / "m.db")],
        capture_output=True, text=True, env=os.environ, timeout=300)
    assert done.returncode == 0, done.stderr
    marks = [("step" if 'write(2, "STEP' in x else "end" if 'write(2, "END' in x else "sync")
             for x in trace.read_text().splitlines()
             if 'write(2, "STEP' in x or 'write(2, "END' in x or "sync(" in x]
    steps = [i for i, m in enumerate(marks) if m == "step"]
    assert len(steps) == 9
    for a, b in zip(steps, [*steps[1:], marks.index("end")], strict=True):
        assert "sync" in marks[a:b], marks  # the checkpoint of the step at a, fsynced
