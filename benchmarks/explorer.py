"""Benchmark 4: tables and the explorer over many checkpoints in one SQLite store.

The store is filled through the store API (``put_run`` / ``put_checkpoint``) with copies of real
JokeFlow checkpoints (small events, a small context), ~3% of runs failed after their first step.
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flowpoint import WorkflowCheckpointer
from flowpoint.demo import JokeFlow
from flowpoint.storage import CheckpointQuery, CheckpointRecord, RunRecord
from flowpoint.storage.records import TABLE_COLUMNS

from .common import Section, Settings, Target, Timing, ms, repeat_sync, table
from .peers import Unavailable, langgraph_chain, sqlite_saver

NEWEST_RUNS = 500
TOPICS = ["chemistry", "pirates", "databases", "cats", "compilers", "weather", "jazz", "tea"]


def _templates() -> list[tuple[RunRecord, list[CheckpointRecord]]]:
    """One real JokeFlow run per topic: its run record and its checkpoints with their state."""
    ckptr = WorkflowCheckpointer(JokeFlow(timeout=None), store="memory")

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
    ckptr = WorkflowCheckpointer(JokeFlow(timeout=None), store=url)
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


def _langgraph_store(path: str, n_checkpoints: int) -> Any:
    """A SqliteSaver file of about ``n_checkpoints``: real runs of the 3-node chain, then copied
    under new thread ids by SQL (doubling) until it holds that many. Returns the saver or why not."""
    try:
        saver, conn = sqlite_saver(path)
        graph = langgraph_chain(checkpointer=saver)
    except Unavailable as exc:
        return f"not available: {exc}"
    for i in range(20):
        graph.invoke({"last": -1}, {"configurable": {"thread_id": f"t{i}"}})
    n, k = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0], 0
    cols = [r[1] for r in conn.execute("PRAGMA table_info(checkpoints)")]
    wcols = [r[1] for r in conn.execute("PRAGMA table_info(writes)")]
    while n < n_checkpoints:
        for table_name, names in (("checkpoints", cols), ("writes", wcols)):
            picked = ", ".join(f"thread_id || '-{k}'" if c == "thread_id" else c for c in names)
            conn.execute(f"INSERT INTO {table_name} ({', '.join(names)}) "
                         f"SELECT {picked} FROM {table_name}")
        conn.commit()
        n, k = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0], k + 1
    return saver, conn, n


def explorer_bench(s: Settings) -> Section:
    """Reads over many checkpoints: listings, a filter, the table, the explorer's data."""
    reps = 3 if s.quick else 5
    url, build_s, n = build_store(os.path.join(s.workdir, "explorer.db"), s.explorer_checkpoints)
    ckptr = WorkflowCheckpointer(JokeFlow(timeout=None), store=url)
    rows: list[tuple[str, Timing, int]] = []
    timings: dict[str, Timing] = {}

    def timed(key: str, label: str, call: Any) -> None:
        found = len(call())
        t = repeat_sync(call, reps)
        rows.append((label, t, found))
        timings[key] = t

    cls = _explorer_class()

    def newest() -> list[Any]:
        if not isinstance(cls, str):  # the explorer widget itself, opening on the newest runs
            total, _shown, _filled = _open_on_loop(lambda: cls(ckptr))
            return [None] * total
        runs = ckptr.runs
        wanted = tuple(list(runs)[-NEWEST_RUNS:])
        return ckptr.store.list_checkpoints(CheckpointQuery(run_ids=wanted))

    def every() -> list[Any]:
        ckptr.runs  # noqa: B018 - the explorer reads the runs, then every checkpoint
        return ckptr.store.list_checkpoints(None)

    # filter_checkpoints lists step checkpoints only: the time after which n // 5 of them lie
    at = TABLE_COLUMNS.index("created_at")
    step_times = sorted(r[at] for r in ckptr.store.table_rows(CheckpointQuery(include_start=False)))
    recent = step_times[-(n // 5)] if len(step_times) >= n // 5 else step_times[0]
    timed("checkpoints", "ckptr.checkpoints", lambda: ckptr.checkpoints)
    timed("filter", f"filter_checkpoints(created_after=<newest {n // 5:,} step checkpoints>)",
          lambda: ckptr.filter_checkpoints(created_after=recent))
    timed("frame", "to_dataframe()", ckptr.to_dataframe)
    timed("narrow", "filter_checkpoints(step=generate_joke, status=failed)",
          lambda: ckptr.filter_checkpoints(last_completed_step="generate_joke",
                                           status="failed"))
    if isinstance(cls, str):
        timed("newest", f"explorer data, newest {NEWEST_RUNS} runs", newest)
    else:  # as in a notebook: on a running loop, the table shown, then the menus filled in
        found = len(newest())  # untimed, as timed() does
        shown, filled = _opening_times(lambda: cls(ckptr), reps)
        rows.append(("CheckpointExplorer(ckptr) opening on the newest runs (table shown)",
                     shown, found))
        rows.append(("  ... and its filter menus filled in (read off the loop)", filled, found))
        timings["newest"] = shown
    timed("records", "every record: ckptr.runs + store.list_checkpoints() (no target)", every)
    every_id: list[str] = []
    if not isinstance(cls, str):  # the widget told to show every run by id: all runs
        every_id = list(ckptr.runs)

        def on_every_run() -> Any:
            return cls(ckptr, run_ids=every_id)

        found = _open_on_loop(on_every_run)[0]
        shown, filled = _opening_times(on_every_run, reps)
        rows.append((f"CheckpointExplorer(ckptr, run_ids=<all {len(every_id):,} runs>) "
                     "(table shown)", shown, found))
        timings["all"] = shown
        rows.append(("  ... and its filter menus filled in", filled, found))
    ckptr.store.close()
    out = [(label, f"{n:,}", f"{found:,}", ms(t.median_s), ms(t.best_s)) for label, t, found
           in rows]
    lg = _langgraph_store(os.path.join(s.workdir, "lg-explorer.db"), n)
    peer: dict[str, str] = {}
    if isinstance(lg, str):
        out.append(("LangGraph SqliteSaver", lg))
    else:
        saver, conn, lg_n = lg
        for key, label, call in (
                ("checkpoints", "LangGraph saver.list(None) (every checkpoint)",
                 lambda: list(saver.list(None))),
                ("filter", "LangGraph saver.list(None, filter={'step': 1})",
                 lambda: list(saver.list(None, filter={"step": 1})))):
            found = len(call())
            t = repeat_sync(call, reps)
            out.append((label, f"{lg_n:,}", f"{found:,}", ms(t.median_s), ms(t.best_s)))
            peer[key] = f"{ms(t.median_s)} ms ({found:,} rows)"
        conn.close()
    targets = [
        Target(f"6. ckptr.checkpoints over {n:,}", timings["checkpoints"].median_s, 2.0, "s",
               peer=peer.get("checkpoints", "-"), profile=lambda: _again(url, "checkpoints")),
        Target(f"6. filter returning {n // 5:,} rows", timings["filter"].median_s, 0.300, "s",
               peer=peer.get("filter", "-"), profile=lambda: _again(url, "filter", recent)),
        Target(f"6. to_dataframe() over {n:,}", timings["frame"].median_s, 0.500, "s",
               peer="no table API", profile=lambda: _again(url, "frame")),
        Target(f"6. explorer opening on the newest runs of {n:,}",
               timings["newest"].median_s, 0.150, "s", peer="no explorer", profile=newest),
        Target(f"6. explorer data for all runs of {n:,}",
               timings["all" if "all" in timings else "records"].median_s, 1.0, "s",
               peer="no explorer", profile=lambda: _again(url, "all", run_ids=every_id)),
    ]
    notes = [f"store built through put_run/put_checkpoint: {n:,} checkpoints in {build_s:.1f} s "
             f"({n / build_s:,.0f} checkpoints/s, each its own committed transaction)",
             "targets (at 100,000 checkpoints): ckptr.checkpoints <= 2 s; a filter returning "
             "20k rows <= 300 ms; to_dataframe() <= 500 ms; explorer newest runs <= 150 ms, all "
             "runs <= 1 s",
             "explorer newest: the widget built on a running loop, as in a notebook (its "
             "first page: a count, table_rows, list_runs of the page's runs, their last seqs, "
             "list_checkpoints for the timeline lanes; over 10,000 checkpoints the filter "
             "menus' values, table_facets, are read in a worker thread afterwards: 'menus "
             "filled in' is the time until they are), then closed; all runs: the widget opened "
             "so on every run by id (what the explorer reads to show all runs: one page); "
             "every record: ckptr.runs + store.list_checkpoints(), every checkpoint record "
             "with its events parsed, which the explorer no longer reads (the target's "
             "measure before the explorer read pages; kept for comparison)",
             f"median and best of {reps} calls after one untimed call"]
    text = table(f"6. Reads over a SQLite store of {n:,} checkpoints",
                 ["operation", "checkpoints", "rows", "median ms", "best ms"], out, notes)
    return Section(text, targets)


def _open_on_loop(make: Callable[[], Any]) -> tuple[int, float, float]:
    """Open an explorer on a running loop as a notebook does, wait for its filter menus, close
    it: (rows matching, seconds until it is built, seconds until its menus are filled in)."""
    async def go() -> tuple[int, float, float]:
        t0 = time.perf_counter()
        widget = make()
        shown = time.perf_counter() - t0
        pending = getattr(getattr(widget, "data", None), "menus_pending", None)
        if pending is not None:
            await pending
        filled = time.perf_counter() - t0
        total = int(getattr(widget, "total", 0) or 0)
        widget.close()
        return total, shown, filled
    return asyncio.run(go())


def _opening_times(make: Callable[[], Any], reps: int) -> tuple[Timing, Timing]:
    """Timings of opening an explorer: until it is built, and until its menus are filled in."""
    shown, filled = [], []
    for _ in range(reps):
        gc.collect()
        _total, s, f = _open_on_loop(make)
        shown.append(s)
        filled.append(f)
    return (Timing(statistics.median(shown), shown, 1),
            Timing(statistics.median(filled), filled, 1))


def _again(url: str, what: str, recent: float = 0.0, run_ids: list[str] | None = None) -> None:
    ckptr = WorkflowCheckpointer(JokeFlow(timeout=None), store=url)
    cls = _explorer_class()
    if what == "all" and run_ids and not isinstance(cls, str):
        _open_on_loop(lambda: cls(ckptr, run_ids=run_ids))
    elif what == "checkpoints":
        ckptr.checkpoints  # noqa: B018
    elif what == "filter":
        ckptr.filter_checkpoints(created_after=recent)
    elif what == "frame":
        ckptr.to_dataframe()
    else:
        ckptr.runs  # noqa: B018
        ckptr.store.list_checkpoints(None)
    ckptr.store.close()
