"""Benchmark 3: how storage grows with run length when every step appends to a list in state.

flowpoint stores unchanged parts of ``ctx_state`` once (content-addressed chunks), so a run of N
steps should cost O(N) bytes; a saver that copies the whole state per step grows as O(N^2).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import uuid
from typing import Any

from flowpoint import WorkflowCheckpointer

from .chains import GrowthFlow
from .common import Section, Settings, Target, nbytes, table
from .peers import Unavailable, langgraph_growth, sqlite_saver

GROWTH_TARGET = 12.0  # bytes(1000 steps) / bytes(100 steps)


def _vacuumed_size(path: str) -> int:
    """The SQLite file size after folding the WAL in and VACUUM (what the data really takes)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def _flowpoint_run(path: str, steps: int) -> dict[str, Any]:
    ckptr = WorkflowCheckpointer(GrowthFlow(), store=f"sqlite:///{path}")

    async def go() -> Any:
        return await ckptr.run(steps=steps)

    t0 = time.perf_counter()
    result = asyncio.run(go())
    elapsed = time.perf_counter() - t0
    assert result == steps, result
    report = ckptr.storage_report()
    ckptr.store.close()
    return {"steps": steps, "checkpoints": report["checkpoints"], "bytes": report["bytes"],
            "file": _vacuumed_size(path), "seconds": elapsed}


def _langgraph_run(path: str, steps: int) -> dict[str, Any]:
    saver, conn = sqlite_saver(path)
    graph = langgraph_growth(saver)
    config = {"configurable": {"thread_id": str(uuid.uuid4())}, "recursion_limit": steps + 10}
    t0 = time.perf_counter()
    state = graph.invoke({"items": [], "target": steps}, config)
    elapsed = time.perf_counter() - t0
    assert len(state["items"]) == steps, len(state["items"])
    n_ckpt, b_ckpt = conn.execute(
        "SELECT count(*), sum(length(checkpoint)) + sum(length(metadata)) FROM checkpoints"
    ).fetchone()
    b_writes = conn.execute("SELECT coalesce(sum(length(value)), 0) FROM writes").fetchone()[0]
    conn.close()
    return {"steps": steps, "checkpoints": n_ckpt, "bytes": (b_ckpt or 0) + b_writes,
            "file": _vacuumed_size(path), "seconds": elapsed}


def _rows(label: str, results: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    out = []
    for r in results:
        out.append((label, r["steps"], r["checkpoints"], nbytes(r["bytes"]),
                    nbytes(r["bytes"] // r["steps"]), nbytes(r["file"]),
                    f"{r['seconds'] * 1e3:,.0f}", f"{r['seconds'] / r['steps'] * 1e6:,.0f}"))
    return out


def _ratio(results: list[dict[str, Any]], key: str) -> float | None:
    by = {r["steps"]: r[key] for r in results}
    return by[1000] / by[100] if 1000 in by and 100 in by and by[100] else None


def storage_growth(s: Settings) -> Section:
    """Bytes stored for runs of 10, 100 and 1000 list-appending steps, flowpoint vs LangGraph."""
    fp = [_flowpoint_run(os.path.join(s.workdir, f"growth-{n}.db"), n) for n in s.growth_steps]
    rows = _rows("flowpoint SQLite", fp)
    notes = []
    fp_ratio = _ratio(fp, "bytes")
    fp_file_ratio = _ratio(fp, "file")
    try:
        lg = [_langgraph_run(os.path.join(s.workdir, f"lg-growth-{n}.db"), n)
              for n in s.growth_steps]
        rows += _rows("LangGraph SqliteSaver", lg)
        lg_ratio, lg_file_ratio = _ratio(lg, "bytes"), _ratio(lg, "file")
        notes.append(f"LangGraph bytes(1000)/bytes(100) = {lg_ratio:.1f}x "
                     f"(file {lg_file_ratio:.1f}x); vs flowpoint at 1000 steps: "
                     f"{lg[-1]['bytes'] / fp[-1]['bytes']:.1f}x the bytes")
    except Unavailable as exc:
        rows.append(("LangGraph SqliteSaver", f"not available: {exc}"))
    notes.insert(0, f"flowpoint bytes(1000)/bytes(100) = {fp_ratio:.1f}x (file {fp_file_ratio:.1f}x)"
                    f"; target <= {GROWTH_TARGET:g}x (linear growth is 10x)")
    notes += ["bytes: flowpoint storage_report()['bytes'] (rows + content-addressed blobs); "
              "LangGraph: checkpoint + metadata + writes blob lengths",
              "file: SQLite file size after wal_checkpoint(TRUNCATE) + VACUUM (page overhead "
              "included)",
              "each step appends one ~100-byte item to a list in state; flowpoint's event log "
              "grows by one event per step too"]
    text = table("3. Storage growth: one ~100-byte item appended per step (SQLite file)",
                 ["store", "steps", "checkpoints", "bytes", "bytes/step", "file bytes",
                  "run ms", "us/step"], rows, notes)
    target = Target("storage growth bytes(1000)/bytes(100)", fp_ratio, GROWTH_TARGET, "x")
    return Section(text, [target])
