"""Target 2: bytes stored when only part of the state changes.

A 1 MB value left alone for 50 steps (with and without a counter changing beside it), and 200
steps each appending 2 KB to a list; flowpoint's SQLite store against LangGraph's SqliteSaver.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

from flowpoint import WorkflowCheckpointer

from .chains import AppendFlow, BigValueFlow
from .common import Section, Settings, Target, nbytes, table
from .peers import (
    Unavailable,
    langgraph_append,
    langgraph_big_value,
    saver_bytes,
    sqlite_saver,
)

BIG = 1_000_000
BIG_STEPS = 50
BIG_TARGET = 1_500_000
APPEND_STEPS, APPEND_BYTES = 200, 2048
APPEND_TARGET = 2.0  # stored bytes / unique bytes appended


def _flowpoint(path: str, flow: Any, **kwargs: Any) -> int:
    ckptr = WorkflowCheckpointer(flow, store=f"sqlite:///{path}")

    async def go() -> Any:
        return await ckptr.run(**kwargs)

    asyncio.run(go())
    stored = int(ckptr.storage_report()["bytes"])
    ckptr.store.close()
    return stored


def _langgraph(path: str, graph_of: Any, state: dict[str, Any], steps: int) -> int:
    saver, conn = sqlite_saver(path)
    try:
        graph_of(saver).invoke(state, {"configurable": {"thread_id": str(uuid.uuid4())},
                                       "recursion_limit": steps + 10})
        return saver_bytes(conn)
    finally:
        conn.close()


def dedup_bench(s: Settings) -> Section:
    """Stored bytes of the three shapes, flowpoint and LangGraph."""
    d = s.workdir
    fp_still = _flowpoint(os.path.join(d, "big-still.db"), BigValueFlow(timeout=None),
                          steps=BIG_STEPS, big_bytes=BIG, with_counter=False)
    fp_big = _flowpoint(os.path.join(d, "big-counter.db"), BigValueFlow(timeout=None),
                        steps=BIG_STEPS, big_bytes=BIG)
    unique = APPEND_STEPS * APPEND_BYTES
    fp_append = _flowpoint(os.path.join(d, "append.db"), AppendFlow(timeout=None),
                           steps=APPEND_STEPS, item_bytes=APPEND_BYTES)
    lg: dict[str, int | str] = {}
    try:
        big = {"document": "d" * BIG, "counter": 0, "target": BIG_STEPS}
        lg["still"] = _langgraph(os.path.join(d, "lg-big-still.db"),
                                 lambda sv: langgraph_big_value(sv, False), big, BIG_STEPS)
        lg["big"] = _langgraph(os.path.join(d, "lg-big.db"),
                               lambda sv: langgraph_big_value(sv, True), big, BIG_STEPS)
        lg["append"] = _langgraph(os.path.join(d, "lg-append.db"), langgraph_append,
                                  {"items": [], "target": APPEND_STEPS, "size": APPEND_BYTES},
                                  APPEND_STEPS)
    except Unavailable as exc:
        lg = dict.fromkeys(("still", "big", "append"), f"not available: {exc}")

    def cell(v: int | str | None) -> str:
        return nbytes(v) if isinstance(v, int) else str(v)

    rows = [
        (f"1 MB value untouched, {BIG_STEPS} steps", nbytes(fp_still), cell(lg.get("still")),
         "", ""),
        (f"1 MB value + a counter changing each step, {BIG_STEPS} steps", nbytes(fp_big),
         cell(lg.get("big")), nbytes(BIG_TARGET), "met" if fp_big <= BIG_TARGET else "MISSED"),
        (f"{APPEND_STEPS} steps x {APPEND_BYTES:,} B appended ({nbytes(unique)} B unique)",
         nbytes(fp_append), cell(lg.get("append")), f"{nbytes(int(APPEND_TARGET * unique))}",
         "met" if fp_append <= APPEND_TARGET * unique else "MISSED"),
    ]
    lg_append = lg.get("append")
    targets = [
        Target("2. 1 MB value + changing counter, 50 steps: stored", fp_big, BIG_TARGET, "B",
               peer=cell(lg.get("big")) + " B" if isinstance(lg.get("big"), int) else "-"),
        Target(f"2. {APPEND_STEPS} x 2 KB appended: stored / unique", fp_append / unique,
               APPEND_TARGET, "x",
               peer=f"{lg_append / unique:.2f}x" if isinstance(lg_append, int) else "-"),
    ]
    text = table("2. Bytes stored when part of the state changes (SQLite)",
                 ["run", "flowpoint bytes", "LangGraph SqliteSaver bytes", "target", "verdict"],
                 rows, ["flowpoint: storage_report()['bytes'] (rows + blobs); LangGraph: "
                        "checkpoint + metadata + writes blob lengths"])
    return Section(text, targets)

