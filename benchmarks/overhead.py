"""Benchmark 1: runtime overhead of a 10-step no-op chain, without any checkpointer.

Every framework runs the same chain in the same process; each figure is the median of several
timed repetitions after a warm-up. Per-step figures are the time of a whole run divided by 10.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from .chains import CHAIN_STEPS, ChainFlow
from .common import Section, Settings, Target, Timing, ratio, table, time_async, time_sync, us
from .common import verdict as _verdict
from .peers import Unavailable, langgraph_chain, langgraph_version, llama_chain, llama_version

RUNTIME_TARGET_S = 50e-6  # per step, no checkpointer


def per_step(seconds: float | None) -> float | None:
    """Seconds per step of the chain from seconds per run."""
    return None if seconds is None else seconds / CHAIN_STEPS


def replay(start: Callable[[], Awaitable[Any]], runs: int) -> Callable[[], None]:
    """The measured async work again, 4 x ``runs`` times on a fresh loop (for the profiler)."""
    async def main() -> None:
        for _ in range(4 * runs):
            await start()

    return lambda: asyncio.run(main())


def runtime_overhead(s: Settings) -> Section:
    """Runs/s and us/step of the chain: flowpoint, llama-index-workflows, LangGraph."""
    rows: list[tuple[str, Timing | None, str]] = []
    flow = ChainFlow(timeout=None)
    fp = time_async(flow.run, s.budget_s, s.repeats)
    rows.append(("flowpoint Workflow", fp, ""))
    try:
        llama = llama_chain()
        rows.append((f"llama-index-workflows {llama_version()}",
                     time_async(llama.run, s.budget_s, s.repeats), ""))
    except Unavailable as exc:
        rows.append(("llama-index-workflows", None, f"not available: {exc}"))
    try:
        graph = langgraph_chain()
        name = f"LangGraph {langgraph_version()} StateGraph"
        rows.append((f"{name} ainvoke",
                     time_async(lambda: graph.ainvoke({"last": -1}), s.budget_s, s.repeats), ""))
        rows.append((f"{name} invoke (sync)",
                     time_sync(lambda: graph.invoke({"last": -1}), s.budget_s, s.repeats), ""))
    except Unavailable as exc:
        rows.append(("LangGraph StateGraph", None, f"not available: {exc}"))

    out = []
    for name, t, why in rows:
        if t is None:
            out.append((name, why))
            continue
        out.append((name, f"{1 / t.median_s:,.0f}", us(t.median_s), us(per_step(t.median_s)),
                    us(per_step(t.best_s)), ratio(t.median_s, fp.median_s),
                    f"{t.units}x{len(t.samples)}", f"{t.spread:.0%}"))
    step_s = per_step(fp.median_s)
    text = table(
        f"1. Runtime overhead: {CHAIN_STEPS}-step no-op chain, no checkpointer (median of "
        f"{s.repeats} repeats)",
        ["framework", "runs/s", "us/run", "us/step", "best us/step", "time vs flowpoint",
         "runs x repeats", "spread"], out,
        notes=[f"target: flowpoint <= {us(RUNTIME_TARGET_S)} us/step -> {us(step_s)} us/step "
               f"(best repeat {us(per_step(fp.best_s))}): {_verdict(step_s, RUNTIME_TARGET_S)}",
               "us/step = time of a whole run / 10 (starting the run included); best = the "
               "fastest repeat; spread = (max-min)/median of the repeats"])
    target = Target("flowpoint runtime, us/step (no checkpointer)", step_s, RUNTIME_TARGET_S,
                    "s", profile=replay(flow.run, fp.units))
    return Section(text, [target])
