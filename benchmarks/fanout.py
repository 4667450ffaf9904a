"""Target 3 (second half): a fan-out of 100 items with a checkpoint per step.

flowpoint's FanFlow (100 items sent to a 4-worker step, collected by a third) on a SQLite file,
against LangGraph's same shape (100 ``Send``s to one node, then a join) with AsyncSqliteSaver,
both on their async APIs in one event loop; each also without checkpoints.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

from flowpoint import WorkflowCheckpointer

from .chains import FAN_ITEMS, FAN_WORKERS, FanFlow
from .common import Section, Settings, Target, Timing, ms, ratio, table, timed_async
from .overhead import replay
from .peers import Unavailable, async_sqlite_saver, langgraph_fanout


async def _measure(s: Settings) -> dict[str, Timing | str]:
    out: dict[str, Timing | str] = {}
    budget = max(s.budget_s, 0.5)
    out["fp_bare"] = await timed_async(FanFlow(timeout=None).run, budget, s.repeats)
    ckptr = WorkflowCheckpointer(FanFlow(timeout=None),
                                 store=f"sqlite:///{os.path.join(s.workdir, 'fanout.db')}")
    out["fp"] = await timed_async(ckptr.run, budget, s.repeats)
    ckptr.store.close()
    try:
        graph = langgraph_fanout(None)
        state = {"results": [], "total": 0}
        out["lg_bare"] = await timed_async(lambda: graph.ainvoke(state), budget, s.repeats)
        saver, conn = await async_sqlite_saver(os.path.join(s.workdir, "lg-fanout.db"))
        try:
            saved = langgraph_fanout(saver)
            out["lg"] = await timed_async(lambda: saved.ainvoke(
                state, {"configurable": {"thread_id": str(uuid.uuid4())}}), budget, s.repeats)
        finally:
            await conn.close()
    except Unavailable as exc:
        out["lg_bare"] = out["lg"] = f"not available: {exc}"
    return out


def fanout_bench(s: Settings) -> Section:
    """ms per fan-out run, flowpoint and LangGraph, with and without checkpoints."""
    t = asyncio.run(_measure(s))

    def row(label: str, key: str) -> tuple[str, ...]:
        v = t[key]
        if isinstance(v, str):
            return (label, v)
        return (label, ms(v.median_s), ms(v.best_s), ratio(v.median_s, _s(t.get("lg"))))

    rows = [row("flowpoint, no checkpointer", "fp_bare"),
            row("flowpoint, SQLite file (defaults)", "fp"),
            row("LangGraph ainvoke, no checkpointer", "lg_bare"),
            row("LangGraph ainvoke, AsyncSqliteSaver file (its defaults)", "lg")]
    fp, lg = _s(t["fp"]), _s(t.get("lg"))
    target = Target(f"3. fan-out of {FAN_ITEMS} with checkpoints: flowpoint / LangGraph",
                    fp / lg if fp and lg else None, 1.0, "x",
                    peer=f"LangGraph+AsyncSqliteSaver {ms(lg)} ms, flowpoint {ms(fp)} ms",
                    profile=_profile(s))
    text = table(f"3b. Fan-out of {FAN_ITEMS} items ({FAN_WORKERS} workers), ms per run",
                 ["configuration", "median ms", "best ms", "vs LangGraph+saver"], rows,
                 ["target: flowpoint with checkpoints no slower than LangGraph + "
                  "AsyncSqliteSaver (ratio <= 1.0x)",
                  f"flowpoint takes {2 * FAN_ITEMS + 1} checkpoints per run (one per step "
                  "completion); LangGraph one per superstep plus pending writes"])
    return Section(text, [target])


def _s(v: Any) -> float | None:
    return v.median_s if isinstance(v, Timing) else None


def _profile(s: Settings) -> Any:
    ckptr = WorkflowCheckpointer(FanFlow(timeout=None),
                                 store=f"sqlite:///{os.path.join(s.workdir, 'fanout-prof.db')}")
    return replay(ckptr.run, 2)
