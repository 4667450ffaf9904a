"""Benchmark 4: tables and the explorer over many checkpoints in one SQLite store.

The store is filled through the store API (``put_run`` / ``put_checkpoint``) with copies of real
JokeFlow checkpoints (small events, a small context), ~3% of runs failed after their first step.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import replace
from typing import Any

from flowpoint import WorkflowCheckpointer
from flowpoint.demo import JokeFlow
from flowpoint.storage import CheckpointQuery, CheckpointRecord, RunRecord

from .common import Section, Settings, Target, Timing, ms, repeat_sync, table

FILTER_TARGET_S = 0.100
TOPICS = ["chemistry", "pirates", "databases", "cats", "compilers", "weather", "jazz", "tea"]


def _templates() -> list[tuple[RunRecord, list[CheckpointRecord]]]:
    """One real JokeFlow run per topic: its run record and its checkpoints with their state."""
    ckptr = WorkflowCheckpointer(JokeFlow(), store="memory")

    async def go() -> list[str]:
        ids = []
        for topic in TOPICS:
            handler = ckptr.run(topic=topic)
            await handler
            ids.append(handler.run_id)
        return ids

    out = []
    for run_id in asyncio.run(go()):
        recs = ckptr.store.list_checkpoints(CheckpointQuery(run_ids=(run_id,)), with_state=True)
        out.append((ckptr.store.get_run(run_id), recs))
    return out


def build_store(path: str, n_checkpoints: int) -> tuple[str, float, int]:
    """Fill a new SQLite file with about ``n_checkpoints``; (url, seconds taken, written)."""
    url = f"sqlite:///{path}"
    templates = _templates()
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    store = ckptr.store
    t0 = time.perf_counter()
    written, i = 0, 0
    start = time.time() - n_checkpoints
    while written < n_checkpoints:
        run, recs = templates[i % len(templates)]
        failed = i % 33 == 7
        run_id = str(uuid.uuid4())
        at = start + written
        recs = recs[:2] if failed else recs
        store.put_run(replace(
            run, run_id=run_id, started_at=at, ended_at=at + 0.01 * len(recs),
            status="failed" if failed else "completed", owner=None, heartbeat_at=None,
            error={"type": "RuntimeError", "message": "LLM timed out", "traceback": ""}
            if failed else None))
        parent = None
        for k, rec in enumerate(recs):
            ckpt_id = str(uuid.uuid4())
            store.put_checkpoint(replace(rec, id=ckpt_id, run_id=run_id, parent_id=parent,
                                         created_at=at + 0.01 * k,
                                         step_duration_s=None if k == 0 else 0.2 + (i % 7) / 10))
            parent = ckpt_id
        written += len(recs)
        i += 1
    elapsed = time.perf_counter() - t0
    store.close()
    return url, elapsed, written


def _explorer_class() -> Any:
    try:
        from flowpoint.notebook.explorer import CheckpointExplorer
    except ImportError as exc:
        return f"explorer: not available yet ({type(exc).__name__}: {exc})"
    return CheckpointExplorer


def _open_explorer(cls: Any, ckptr: WorkflowCheckpointer, **kwargs: Any) -> Any:
    widget = cls(ckptr, **kwargs)
    widget.close()
    return widget


def explorer_bench(s: Settings) -> Section:
    """to_dataframe / filter_checkpoints over many checkpoints, and opening the explorer."""
    reps = 3 if s.quick else 5
    url, build_s, n = build_store(os.path.join(s.workdir, "explorer.db"), s.explorer_checkpoints)
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    rows: list[tuple[str, Timing, int]] = []
    targets: list[Target] = []

    def timed(label: str, call: Any, target: bool = False) -> None:
        found = len(call())
        t = repeat_sync(call, reps)
        rows.append((label, t, found))
        if target:
            targets.append(Target(f"{label} over {n:,}", t.median_s, FILTER_TARGET_S, "s",
                                  profile=call))

    step_type = {"last_completed_step": "critique_joke", "output_event_type": "StopEvent"}
    timed("to_dataframe()", ckptr.to_dataframe)
    timed("to_dataframe(step=critique_joke, output=StopEvent)",
          lambda: ckptr.to_dataframe(**step_type), target=True)
    timed("filter_checkpoints(step=critique_joke, output=StopEvent)",
          lambda: ckptr.filter_checkpoints(**step_type), target=True)
    timed("filter_checkpoints(step=generate_joke, status=failed)",
          lambda: ckptr.filter_checkpoints(last_completed_step="generate_joke",
                                           status="failed"), target=True)
    one_run = next(iter(ckptr.store.list_runs(statuses=("failed",)))).run_id
    timed("filter_checkpoints(run_id=<one run>)",
          lambda: ckptr.filter_checkpoints(run_id=one_run), target=True)
    ckptr.store.close()
    out = [(label, f"{n:,}", f"{found:,}", ms(t.median_s), ms(t.best_s)) for label, t, found
           in rows]
    notes = [f"store built through put_run/put_checkpoint: {n:,} checkpoints in {build_s:.1f} s "
             f"({n / build_s:,.0f} checkpoints/s, each its own committed transaction)",
             f"target: a filter over {n:,} checkpoints < {FILTER_TARGET_S * 1e3:.0f} ms",
             f"median and best of {reps} calls after one untimed call"]
    explorer = _explorer_rows(s, reps, out, notes)
    text = table(f"4. Tables and explorer over a SQLite store of {n:,} checkpoints",
                 ["operation", "checkpoints", "rows", "median ms", "best ms"], out, notes)
    return Section(text + explorer, targets)


def _explorer_rows(s: Settings, reps: int, out: list[Any], notes: list[str]) -> str:
    cls = _explorer_class()
    if isinstance(cls, str):
        return cls + "\n"
    url, _, n = build_store(os.path.join(s.workdir, "explorer-widget.db"),
                            s.explorer_widget_checkpoints)
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    n_runs = len(ckptr.runs)
    for label, kwargs in (("CheckpointExplorer(ckptr) (default max_runs)", {}),
                          (f"CheckpointExplorer(ckptr, max_runs={n_runs:,}) (every run)",
                           {"max_runs": n_runs})):
        t = repeat_sync(lambda kw=kwargs: _open_explorer(cls, ckptr, **kw), reps)
        shown = len(_open_explorer(cls, ckptr, **kwargs)._loaded.records)
        out.append((label, f"{n:,}", f"{shown:,}", ms(t.median_s), ms(t.best_s)))
    notes.append(f"explorer rows: a second store of {n:,} checkpoints in {n_runs:,} runs; "
                 f"'rows' = checkpoint records it loaded; the widget is built, then closed")
    ckptr.store.close()
    return ""
