"""Worker process for the durability tests: ``python worker.py COMMAND STORE_URL [ARGS...]``.

Each command writes to or reads from a real store in its own process and prints JSON lines the
test reads back (``slow`` also prints one line per committed checkpoint, for the crash test).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from durability_flows import FanFlow, SlowFlow, find_corrupt
from durability_support import every_checkpoint

from flowpoint import Event, StartEvent, StopEvent, Workflow, WorkflowCheckpointer, step
from flowpoint.demo import FakeLLM, JokeEvent, JokeFlow


def emit(obj: Any) -> None:
    """One JSON line on stdout, flushed so the parent sees it at once."""
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def key(ev: Any) -> str | None:
    return None if ev is None else f"{type(ev).__module__}.{type(ev).__qualname__}"


class BrokenCritic(FakeLLM):
    """Writes jokes but fails to critique them: the bug the reading process has "fixed"."""

    async def acomplete(self, prompt: str) -> str:
        if prompt.startswith("Critique"):
            raise RuntimeError("critic is down")
        return await super().acomplete(prompt)


async def populate(url: str) -> None:
    """Process A of the new-process test: two JokeFlow runs and one that fails in critique."""
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    results = {}
    for topic in ("chemistry", "<script>alert(1)</script>"):
        h = ckptr.run(topic=topic)
        results[h.run_id] = await h
    broken = JokeFlow()
    broken.llm = BrokenCritic()
    ckptr.workflow = broken
    h = ckptr.run(topic="physics")
    try:
        await h
    except RuntimeError:
        pass
    failed = h.run_id
    ckpts = {
        run_id: [{"id": c.id_, "seq": c.seq, "step": c.last_completed_step,
                  "parent_id": c.parent_id, "input": key(c.input_event),
                  "output": key(c.output_event),
                  "output_data": None if c.output_event is None else c.output_event.model_dump(),
                  "store": c.user_state} for c in cs]
        for run_id, cs in every_checkpoint(ckptr).items()
    }
    runs = {r.run_id: r.status for r in ckptr.runs.values()}
    emit({"results": results, "failed": failed, "checkpoints": ckpts, "runs": runs})


async def inspect(url: str, resume: bool) -> None:
    """Process B: reads everything back with a fresh checkpointer; resumes failed runs if asked."""
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    runs = {r.run_id: {"status": r.status, "workflow": r.workflow, "result": r.result,
                       "error": (r.error or {}).get("message")} for r in ckptr.runs.values()}
    ckpts = {}
    for run_id, cs in every_checkpoint(ckptr).items():
        ckpts[run_id] = [{
            "id": c.id_, "seq": c.seq, "step": c.last_completed_step, "parent_id": c.parent_id,
            "input": key(c.input_event), "output": key(c.output_event),
            "output_data": None if c.output_event is None else c.output_event.model_dump(),
            "store": c.user_state, "corrupt": find_corrupt(c.ctx_state),
            "exact_joke": type(c.output_event) is JokeEvent,
            "same_by_get": ckptr.get(c.id_[:12]).id_ == c.id_,
        } for c in cs]
    failed = [r for r, info in runs.items() if info["status"] == "failed" and resume]
    resumed = {}
    for run_id in failed:
        last = ckptr.last_checkpoint(run_id)
        h = ckptr.run_from(last)
        resumed[run_id] = {"from": last.id_, "result": await h, "run_id": h.run_id,
                           "status": ckptr.get_run(h.run_id).status,
                           "origin": ckptr.get_run(h.run_id).origin_checkpoint_id}
    emit({"runs": runs, "checkpoints": ckpts, "resumed": resumed})


async def slow(url: str, seed: int, steps: int, max_sleep_ms: int) -> None:
    """The crash test's victim: a SlowFlow run, one line per committed checkpoint.

    Waits for a line on stdin first, so the test can start it (imports and all) ahead of time.
    """
    emit({"loaded": True})
    sys.stdin.readline()
    ckptr = WorkflowCheckpointer(SlowFlow(seed=seed, max_sleep_ms=max_sleep_ms), store=url)

    def on_change(kind: str, run_id: str, payload: Any) -> None:
        if kind == "checkpoint":
            emit({"run_id": run_id, "seq": payload.seq})

    ckptr.subscribe(on_change)
    emit({"ready": True})
    result = await ckptr.run(steps=steps)
    emit({"done": result})


async def review(url: str) -> None:
    """A ReviewFlow run that stops at its prompt; says so, then waits to be killed."""
    from flowpoint.demo import ReviewFlow

    ckptr = WorkflowCheckpointer(ReviewFlow(), store=url)

    def on_change(kind: str, run_id: str, payload: Any) -> None:
        if kind == "status" and payload == "waiting":
            emit({"waiting": run_id})

    ckptr.subscribe(on_change)
    h = ckptr.run(topic="crashes")
    await asyncio.sleep(120)  # killed long before this
    h.cancel()


async def many(url: str, flow: str, count: int, batch: int) -> None:
    """``count`` runs of JokeFlow or FanFlow, ``batch`` at a time concurrently in this process."""
    wf: Workflow = JokeFlow() if flow == "joke" else FanFlow()
    ckptr = WorkflowCheckpointer(wf, store=url)
    emit({"ready": True})
    sys.stdin.readline()  # every worker starts its runs at the same moment
    done: dict[str, Any] = {}
    for start in range(0, count, batch):
        handlers = []
        for i in range(start, min(count, start + batch)):
            kw = {"topic": f"t{i % 7}"} if flow == "joke" else {"count": 2 + i % 4}
            handlers.append((ckptr.run(**kw), kw))
        for h, kw in handlers:
            done[h.run_id] = {"result": await h, "kwargs": kw}
    emit({"runs": done})


async def slow_many(url: str, count: int, steps: int) -> None:
    """``count`` SlowFlow runs one after another, no sleeps: the same state at every step of
    every run, so consecutive runs share blobs by hash."""
    ckptr = WorkflowCheckpointer(SlowFlow(max_sleep_ms=0), store=url)
    emit({"ready": True})
    sys.stdin.readline()
    results = {}
    for _ in range(count):
        h = ckptr.run(steps=steps)
        results[h.run_id] = await h
    emit({"runs": results})


def delete_while_written(url: str, stop_file: str) -> None:
    """Delete finished runs and prune the rest (garbage-collecting blobs) over and over, until
    ``stop_file`` exists; each round keeps the newest finished run."""
    import time
    from pathlib import Path

    from flowpoint.storage import open_store

    store = open_store(url)
    emit({"ready": True})
    sys.stdin.readline()
    rounds = deleted = pruned = 0
    while rounds < 2000 and not Path(stop_file).exists():
        done = [r.run_id for r in store.list_runs(statuses=("completed",))]
        if len(done) > 1:
            deleted += store.delete_runs(done[:-1])
        pruned += store.prune(keep_last=3)
        rounds += 1
        time.sleep(0.005)
    store.close()
    emit({"rounds": rounds, "deleted": deleted, "pruned": pruned})


def open_store_when_told(url: str) -> None:
    """Open a store (migrating it if it is old) when a line arrives on stdin; report what is in
    it. Says "loaded" first, so the test can time the opening itself."""
    emit({"loaded": True})
    sys.stdin.readline()
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    emit({"checkpoints": ckptr.store.count_checkpoints(),
          "jokes": len(ckptr.filter_checkpoints(output_event_type="JokeEvent"))})
    ckptr.store.close()


def read_while_written(url: str, stop_file: str) -> None:
    """Read the whole store (states too) over and over until ``stop_file`` exists; every read
    must be consistent: each run's checkpoints a prefix 0..n-1, states whole, events decoded."""
    from pathlib import Path

    from flowpoint import Checkpoint, UnknownEvent

    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    emit({"ready": True})
    sys.stdin.readline()  # released with the writers
    reads, most, problems = 0, 0, []
    while reads < 5000:
        done = Path(stop_file).exists()
        recs = ckptr.store.list_checkpoints(None, with_state=True)
        seqs: dict[str, list[int]] = {}
        for rec in recs:
            seqs.setdefault(rec.run_id, []).append(rec.seq)
            if find_corrupt(rec.ctx_state) or not isinstance(rec.ctx_state, dict):
                problems.append(f"torn state {rec.id}: {find_corrupt(rec.ctx_state)}")
            ckpt = Checkpoint.from_record(rec)
            if isinstance(ckpt.output_event, UnknownEvent) or isinstance(ckpt.input_event,
                                                                         UnknownEvent):
                problems.append(f"undecodable event in {rec.id}: {ckpt.problems}")
        problems += [f"run {r} has seqs {s}" for r, s in seqs.items() if s != list(range(len(s)))]
        reads, most = reads + 1, max(most, len(recs))
        if done or problems:
            break
    emit({"reads": reads, "most": most, "problems": problems[:20]})


class WriterOnlyEvent(Event):
    """Defined only in this process: a reader elsewhere has no such class."""

    note: str


class WriterOnlyFlow(Workflow):
    """Passes a WriterOnlyEvent between two steps."""

    @step
    async def first(self, ev: StartEvent) -> WriterOnlyEvent:
        return WriterOnlyEvent(note=f"made here: {ev.get('topic')}")

    @step
    async def second(self, ev: WriterOnlyEvent) -> StopEvent:
        return StopEvent(result=ev.note)


async def writer_only(url: str) -> None:
    """A run whose middle event is of a class only this process defines."""
    ckptr = WorkflowCheckpointer(WriterOnlyFlow(), store=url)
    h = ckptr.run(topic="secrets")
    emit({"run_id": h.run_id, "result": await h, "key": key(WriterOnlyEvent(note="x"))})


def main(argv: list[str]) -> None:
    command, url, *args = argv
    if command == "populate":
        asyncio.run(populate(url))
    elif command == "inspect":
        asyncio.run(inspect(url, resume=args[:1] == ["resume"]))
    elif command == "slow":
        asyncio.run(slow(url, int(args[0]), int(args[1]), int(args[2])))
    elif command == "review":
        asyncio.run(review(url))
    elif command == "many":
        asyncio.run(many(url, args[0], int(args[1]), int(args[2])))
    elif command == "slow_many":
        asyncio.run(slow_many(url, int(args[0]), int(args[1])))
    elif command == "deleter":
        delete_while_written(url, args[0])
    elif command == "open":
        open_store_when_told(url)
    elif command == "reader":
        read_while_written(url, args[0])
    elif command == "writer_only":
        asyncio.run(writer_only(url))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
