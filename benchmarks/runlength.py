"""Targets 1 and 7: time per step over a long run, and the memory that run adds.

A run of 10,000 steps (2,000 with ``--quick``), each appending a 2 KB string to a list in
``ctx.store``, each in a fresh process: time of the first and last 100 steps, the whole run, and
peak RSS with a SQLite checkpointer minus peak RSS of the same run without one. Beside it, the
same 200-step loop in flowpoint and in LangGraph with its SqliteSaver (the step-200/step-10 ratio).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from typing import Any

from .common import Section, Settings, Target, nbytes, table, us
from .longrun import medians, run_in_subprocess
from .peers import Unavailable, langgraph_append, sqlite_saver

ITEM_BYTES = 2048
RATIO_TARGET = 1.5  # median of the last 100 steps / median of the first 100
WHOLE_RUN_TARGET_S = 10.0
RSS_TARGET = 50 * 2**20
SHORT_STEPS = 200


def _langgraph_steps(path: str, steps: int) -> list[float]:
    saver, conn = sqlite_saver(path)
    try:
        graph = langgraph_append(saver)
        config = {"configurable": {"thread_id": str(uuid.uuid4())},
                  "recursion_limit": steps + 10}
        stamps = [time.perf_counter()]
        for _ in graph.stream({"items": [], "target": steps, "size": ITEM_BYTES}, config,
                              stream_mode="updates"):
            stamps.append(time.perf_counter())
    finally:
        conn.close()
    return [b - a for a, b in zip(stamps, stamps[1:], strict=False)]


def _ends(step_s: list[float]) -> tuple[float, float, float]:
    """(median of steps 5-14, median of the last 10, their ratio) for the short runs."""
    first, last = statistics.median(step_s[5:15]), statistics.median(step_s[-10:])
    return first, last, last / first


def run_length(s: Settings) -> Section:
    """Per-step time at the start and end of a long run; the memory it adds."""
    steps = s.long_steps
    url = f"sqlite:///{os.path.join(s.workdir, 'long.db')}"
    timeout = 120.0 if s.quick else 900.0
    fp = run_in_subprocess(steps, ITEM_BYTES, url, timeout)
    bare = run_in_subprocess(steps, ITEM_BYTES, None, timeout)
    rows: list[tuple[Any, ...]] = []
    targets: list[Target] = []
    ratio = whole = added = None
    if isinstance(fp, dict):
        first, last = medians(fp["step_s"], 100)
        ratio, whole = last / first, fp["cpu_s"]
        rows.append((f"flowpoint SQLite, {steps:,} steps", us(first), us(last), f"{ratio:.2f}x",
                     f"{fp['seconds']:,.1f}", f"{whole:,.1f}"))
        if isinstance(bare, dict):
            added = fp["rss_peak"] - bare["rss_peak"]
    else:
        rows.append((f"flowpoint SQLite, {steps:,} steps", fp))
    short = run_in_subprocess(SHORT_STEPS, ITEM_BYTES, url + "-short", 120.0)
    short_ratio = lg_ratio = None
    if isinstance(short, dict):
        first, last, short_ratio = _ends(short["step_s"])
        rows.append((f"flowpoint SQLite, {SHORT_STEPS} steps (steps 5-14 vs last 10)", us(first),
                     us(last), f"{short_ratio:.2f}x", f"{short['seconds']:,.2f}",
                     f"{short['cpu_s']:,.2f}"))
    try:
        lg = _langgraph_steps(os.path.join(s.workdir, "lg-long.db"), SHORT_STEPS)
        first, last, lg_ratio = _ends(lg)
        rows.append((f"LangGraph SqliteSaver, {SHORT_STEPS} steps (same)", us(first), us(last),
                     f"{lg_ratio:.2f}x", f"{sum(lg):,.2f}", "-"))
    except Unavailable as exc:
        rows.append(("LangGraph SqliteSaver", f"not available: {exc}"))
    peer = f"{lg_ratio:.2f}x at {SHORT_STEPS} steps" if lg_ratio else "-"
    targets.append(Target(f"1. last 100 / first 100 steps ({steps:,}-step run, 2 KB/step)",
                          ratio, RATIO_TARGET, "x", peer=peer,
                          profile=_profile_tail(url, steps)))
    targets.append(Target(f"1. whole {steps:,}-step run (CPU time)", whole, WHOLE_RUN_TARGET_S,
                          "s", peer="stores the whole list per step (quadratic)"))
    rss_rows = []
    if isinstance(bare, dict) and isinstance(fp, dict):
        rss_rows = [("without a checkpointer", nbytes(bare["rss_peak"]), "-"),
                    ("with a SQLite checkpointer", nbytes(fp["rss_peak"]), nbytes(added))]
    targets.append(Target(f"7. RSS added by checkpoints, {steps:,}-step run", added, RSS_TARGET,
                          "B"))
    text = table(f"1. Time per step over a run that appends {ITEM_BYTES:,} B per step",
                 ["run", "first us/step", "last us/step", "last/first", "wall s", "CPU s"], rows,
                 [f"targets: last 100 / first 100 <= {RATIO_TARGET}x (medians); whole run < "
                  f"{WHOLE_RUN_TARGET_S:g} s; each run in a fresh process",
                  "the whole-run verdict uses the run's CPU time: on this shared machine the "
                  "wall time mostly measures the other processes (load average in the header)",
                  "step time = time between consecutive checkpoints (runtime + checkpoint)"])
    text += "\n" + table(f"7. Peak RSS of the {steps:,}-step run (fresh processes)",
                         ["run", "peak RSS bytes", "added"], rss_rows or [("-", "n/a", "-")],
                         [f"target: added <= {nbytes(RSS_TARGET)} B"])
    return Section(text, targets)


def _profile_tail(url: str, steps: int) -> Any:
    """Profile a shorter run in this process (the long one ran in a subprocess)."""
    def work() -> None:
        import asyncio

        from flowpoint import WorkflowCheckpointer

        from .chains import AppendFlow

        ckptr = WorkflowCheckpointer(AppendFlow(timeout=None), store=url + "-profile")

        async def go() -> None:
            await ckptr.run(steps=min(steps, 1000), item_bytes=ITEM_BYTES)

        asyncio.run(go())
        ckptr.store.close()

    return work
