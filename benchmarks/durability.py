"""Target 4: what ``durability="power"`` (fsync before dispatch) costs with 4 concurrent runs.

Four 10-step chains run at once on one checkpointer; overhead per step = (time of the four with
the store - without) / 40 steps, against a raw sqlite3 INSERT+COMMIT with synchronous=FULL
(and, for ``"process"``, NORMAL). LangGraph's AsyncSqliteSaver runs the same four at once.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

from flowpoint import WorkflowCheckpointer

from .chains import CHAIN_STEPS, ChainFlow
from .common import Section, Settings, Target, Timing, ratio, table, time_async, timed_async, us
from .floors import sqlite_floor
from .peers import Unavailable, async_sqlite_saver, langgraph_chain

RUNS = 4
POWER_TARGET = 1.5  # overhead per step / the FULL floor


def _four(start: Any) -> Any:
    async def go() -> None:
        await asyncio.gather(*(start() for _ in range(RUNS)))
    return go


def _checkpointer(s: Settings, name: str, durability: str) -> WorkflowCheckpointer | str:
    url = f"sqlite:///{os.path.join(s.workdir, name)}"
    try:
        return WorkflowCheckpointer(ChainFlow(timeout=None), store=url, durability=durability)
    except TypeError as exc:
        return f"not available: {exc}"


def _avg_bytes(ckptr: WorkflowCheckpointer) -> int:
    report = ckptr.storage_report()
    return int(report["bytes"] // max(report["checkpoints"], 1))


async def _langgraph(s: Settings) -> Timing | str:
    try:
        saver, conn = await async_sqlite_saver(os.path.join(s.workdir, "lg-durable.db"))
    except Unavailable as exc:
        return f"not available: {exc}"
    try:
        graph = langgraph_chain(checkpointer=saver)

        async def go() -> None:
            await asyncio.gather(*(graph.ainvoke(
                {"last": -1}, {"configurable": {"thread_id": str(uuid.uuid4())}})
                for _ in range(RUNS)))

        return await timed_async(go, s.budget_s, s.repeats)
    finally:
        await conn.close()


def durability_bench(s: Settings) -> Section:
    """Per-step overhead of 4 concurrent checkpointed chains, "process" and "power"."""
    steps = RUNS * CHAIN_STEPS
    base = time_async(_four(ChainFlow(timeout=None).run), s.budget_s, s.repeats)
    rows: list[tuple[Any, ...]] = [(f"flowpoint, {RUNS} runs at once, no checkpointer",
                                    us(base.median_s / steps), "-", "-", "-", "")]
    targets = []
    size = 0
    measured: dict[str, float | None] = {}
    for mode, db in (("process", "durable-process.db"), ("power", "durable-power.db")):
        ckptr = _checkpointer(s, db, mode)
        if isinstance(ckptr, str):
            rows.append((f'flowpoint durability="{mode}"', ckptr))
            measured[mode] = None
            continue
        t = time_async(_four(ckptr.run), s.budget_s, s.repeats)
        size = _avg_bytes(ckptr)
        ckptr.store.close()
        measured[mode] = (t.median_s - base.median_s) / steps
        rows.append((f'flowpoint durability="{mode}", {RUNS} runs at once', us(t.median_s / steps),
                     us(measured[mode]), "", "", mode))
    floors = {}
    for sync in ("NORMAL", "FULL"):
        floors[sync] = sqlite_floor(os.path.join(s.workdir, f"floor-{sync}.db"), max(size, 100),
                                    s.budget_s, s.repeats, synchronous=sync)
        rows.append((f"  floor: sqlite3 INSERT+COMMIT {size:,} B (WAL, {sync})",
                     us(floors[sync].median_s), us(floors[sync].median_s), "", "", ""))
    out = []
    for r in rows:
        if len(r) == 6 and r[5] in ("process", "power"):
            floor = floors["FULL" if r[5] == "power" else "NORMAL"]
            over = measured[r[5]]
            out.append((*r[:3], ratio(over, floor.median_s),
                        f"<= {POWER_TARGET}x FULL" if r[5] == "power" else ""))
        else:
            out.append(r[:5] if len(r) == 6 else r)
    lg = asyncio.run(_langgraph(s))
    lg_cell = "-"
    if isinstance(lg, Timing):
        lg_cell = f"{us(lg.median_s / steps)} us/step total"
        out.append((f"LangGraph AsyncSqliteSaver, {RUNS} runs at once (its defaults)",
                    us(lg.median_s / steps), "-", "-", ""))
    else:
        out.append(("LangGraph AsyncSqliteSaver", lg))
    power = measured.get("power")
    targets.append(Target(f'4. durability="power", {RUNS} runs: overhead / FULL floor',
                          power / floors["FULL"].median_s if power is not None else None,
                          POWER_TARGET, "x", peer=lg_cell))
    text = table(f"4. Durability with {RUNS} concurrent {CHAIN_STEPS}-step chains (SQLite file)",
                 ["configuration", "us/step", "overhead us/step", "vs floor", "target"], out,
                 ['"process": committed before dispatch, survives a process crash (WAL, '
                  'synchronous=NORMAL); "power": also fsynced before dispatch, survives an OS '
                  'crash or power loss (synchronous=FULL)',
                  "us/step = time of the four runs / 40 steps; overhead = the same minus the "
                  "runs without a checkpointer"])
    return Section(text, targets)
