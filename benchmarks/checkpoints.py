"""Benchmark 2: what a checkpoint after every step costs, per step, on the 10-step chain.

flowpoint without a checkpointer / in memory / SQLite file / PostgreSQL, against the floor of one
raw INSERT + COMMIT of the same bytes, and against LangGraph's SqliteSaver and PostgresSaver.
Overhead = (time per run with the store - time per run without, same framework) / 10 steps.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any

from flowpoint import WorkflowCheckpointer

from .chains import CHAIN_STEPS, ChainFlow, writing_chain
from .common import (
    Section,
    Settings,
    Target,
    Timing,
    fresh_pg_database,
    ratio,
    table,
    time_async,
    time_sync,
    us,
    verdict,
)
from .floors import SqliteFloorWriter, postgres_floor, sqlite_floor
from .overhead import per_step, replay
from .peers import Unavailable, langgraph_chain, postgres_saver, sqlite_saver
from .storecalls import store_call_rows

SQLITE_FLOOR_TARGET = 2.5  # checkpoint overhead per step / the raw sqlite3 floor
PG_FLOOR_TARGET = 1.5  # ... / the raw psycopg floor


@dataclass
class Row:
    """One line of the table: a timing per run (or per insert for a floor) and what to subtract."""

    name: str
    timing: Timing | None = None
    base: Timing | None = None  # the same framework without a checkpointer
    floor: Timing | None = None  # the raw write it is compared with
    is_floor: bool = False
    limit: float | None = None  # of overhead / floor
    why: str = ""

    def overhead(self, best: bool = False) -> float | None:
        """Seconds added per step by checkpointing."""
        if self.is_floor and self.timing:
            return self.timing.best_s if best else self.timing.median_s
        if self.timing is None or self.base is None:
            return None
        if best:
            return (self.timing.best_s - self.base.best_s) / CHAIN_STEPS
        return (self.timing.median_s - self.base.median_s) / CHAIN_STEPS

    def cells(self) -> tuple[str, ...]:
        """The table cells of this row."""
        if self.timing is None:
            return (self.name, self.why)
        step_s = self.timing.median_s if self.is_floor else per_step(self.timing.median_s)
        over = self.overhead()
        has_base = self.base is not None or self.is_floor
        return (self.name, us(step_s), us(over) if has_base else "-",
                us(self.overhead(best=True)) if has_base else "-",
                ratio(over, self.floor.median_s) if self.floor and over is not None else "-",
                f"<= {self.limit:g}x" if self.limit else "",
                verdict(over / self.floor.median_s, self.limit)
                if self.limit and self.floor and over is not None else "")


def _avg_bytes(ckptr: WorkflowCheckpointer) -> int:
    report = ckptr.storage_report()
    return int(report["bytes"] // max(report["checkpoints"], 1))


class _Bench:
    """Collects the rows and targets of benchmark 2."""

    def __init__(self, s: Settings) -> None:
        self.s = s
        self.rows: list[Row] = []
        self.targets: list[Target] = []
        self.notes: list[str] = []
        self.calls: list[tuple[str, ...]] = []

    def flowpoint(self, label: str, store: Any, base: Timing,
                  limit: float | None) -> tuple[Row, WorkflowCheckpointer]:
        ckptr = WorkflowCheckpointer(ChainFlow(timeout=None), store=store)
        row = Row(label, time_async(ckptr.run, self.s.budget_s, self.s.repeats), base,
                  limit=limit)
        self.rows.append(row)
        return row, ckptr

    def target(self, name: str, row: Row, ckptr: WorkflowCheckpointer, peer: Row | None) -> None:
        """The overhead/floor target of a row whose floor is known."""
        over = row.overhead()
        value = over / row.floor.median_s if over is not None and row.floor else None
        peer_over = peer.overhead() if peer is not None else None
        peer_cell = (f"{ratio(peer_over, peer.floor.median_s)} ({us(peer_over)} us/step)"
                     if peer is not None and peer.floor and peer_over is not None else "-")
        self.targets.append(Target(name, value, row.limit or 0.0, "x", peer=peer_cell,
                                   profile=replay(ckptr.run, row.timing.units if row.timing
                                                  else 10)))

    def langgraph(self, label: str, make_saver: Any, base: Timing,
                  floor: Timing | None) -> Row | None:
        try:
            saver, conn = make_saver()
        except Unavailable as exc:
            self.rows.append(Row(label, why=f"not available: {exc}"))
            return None
        graph = langgraph_chain(checkpointer=saver)

        def one() -> None:
            graph.invoke({"last": -1}, {"configurable": {"thread_id": str(uuid.uuid4())}})

        try:
            row = Row(label, time_sync(one, self.s.budget_s, self.s.repeats), base, floor)
            self.rows.append(row)
            return row
        finally:
            conn.close()


def _floor_in_chain(b: _Bench, s: Settings, base: Timing, size: int, lite_row: Row) -> None:
    """The floor's own write made inside each step of the running chain (no checkpointer):
    between steps, the chain's code and data have evicted the caches a loop of writes keeps
    warm, so the same write costs more there. Printed beside the target, not instead of it."""
    write = SqliteFloorWriter(os.path.join(s.workdir, "floor-in-chain.db"), size)
    try:
        row = Row("  the floor's write inside each step of the chain (no checkpointer)",
                  time_async(writing_chain(write).run, s.budget_s, s.repeats), base,
                  lite_row.floor)
    finally:
        write.close()
    b.rows.append(row)
    inside, alone, over = row.overhead(), lite_row.floor, lite_row.overhead()
    if inside is None or alone is None or over is None:
        return
    b.notes.append(f"made between the chain's steps, the floor's write costs {us(inside)} "
                   f"us, {ratio(inside, alone.median_s)} the {us(alone.median_s)} us it takes "
                   f"in a loop of its own; flowpoint's SQLite overhead is "
                   f"{ratio(over, inside)} that in-chain write")


def checkpoint_overhead(s: Settings) -> Section:
    """Per-step cost of flowpoint's stores against raw-write floors and LangGraph's savers."""
    b = _Bench(s)
    base = time_async(ChainFlow(timeout=None).run, s.budget_s, s.repeats)
    b.rows.append(Row("flowpoint, no checkpointer", base))
    b.flowpoint('flowpoint, store="memory"', "memory", base, None)
    lite_row, lite = b.flowpoint("flowpoint, SQLite file (WAL, NORMAL)",
                                 f"sqlite:///{os.path.join(s.workdir, 'overhead.db')}", base,
                                 SQLITE_FLOOR_TARGET)
    lite_bytes = _avg_bytes(lite)
    b.calls += store_call_rows(s, "SQLite file", lite)
    lite.store.close()
    lite_floor = sqlite_floor(os.path.join(s.workdir, "floor.db"), lite_bytes, s.budget_s,
                              s.repeats)
    lite_row.floor = lite_floor
    b.rows.append(Row(f"  floor: sqlite3 INSERT+COMMIT {lite_bytes:,} B (WAL, NORMAL)",
                      lite_floor, is_floor=True, floor=lite_floor))
    _floor_in_chain(b, s, base, lite_bytes, lite_row)
    b.notes.append(f"flowpoint writes {lite_bytes:,} bytes per checkpoint on average "
                   f"(storage_report()['bytes'] / checkpoints) and 11 checkpoints per run "
                   f"(start + {CHAIN_STEPS} steps); the floors insert that many bytes per step")
    pg_floor = pg_row = pg = None
    if s.pg_url:
        url = fresh_pg_database(s.pg_url, "flowpoint_bench")
        pg_row, pg = b.flowpoint("flowpoint, PostgreSQL 127.0.0.1", url, base, PG_FLOOR_TARGET)
        pg_bytes = _avg_bytes(pg)
        b.calls += store_call_rows(s, "PostgreSQL", pg)
        pg.store.close()
        pg_floor = postgres_floor(url, pg_bytes, s.budget_s, s.repeats)
        pg_row.floor = pg_floor
        b.rows.append(Row(f"  floor: psycopg INSERT+COMMIT {pg_bytes:,} B", pg_floor,
                          is_floor=True, floor=pg_floor))
        _postgres_without_fsync(b, s, base, pg_bytes)
    else:
        b.rows.append(Row("flowpoint, PostgreSQL", why="not available: FLOWPOINT_TEST_PG is not "
                          "set (source scripts/postgres.sh)"))
    lg_lite = lg_pg = None
    try:
        graph = langgraph_chain()
        lg_base = time_sync(lambda: graph.invoke({"last": -1}), s.budget_s, s.repeats)
        b.rows.append(Row("LangGraph invoke, no checkpointer", lg_base))
        lg_path = os.path.join(s.workdir, "langgraph-overhead.db")
        lg_lite = b.langgraph("LangGraph SqliteSaver file (its defaults)",
                              lambda: sqlite_saver(lg_path), lg_base, lite_floor)
        pg_url = fresh_pg_database(s.pg_url, "flowpoint_bench_langgraph") if s.pg_url else None
        lg_pg = b.langgraph("LangGraph PostgresSaver 127.0.0.1", lambda: postgres_saver(pg_url),
                            lg_base, pg_floor)
        b.notes.append(_sqlite_saver_settings(lg_path))
    except Unavailable as exc:
        b.rows.append(Row("LangGraph", why=f"not available: {exc}"))
    b.target("3. SQLite overhead / raw floor, 10-step chain", lite_row, lite, lg_lite)
    if pg_row is not None and pg is not None:
        b.target("5. PostgreSQL overhead / raw floor, 10-step chain", pg_row, pg, lg_pg)
    else:
        b.targets.append(Target("5. PostgreSQL overhead / raw floor", None, PG_FLOOR_TARGET, "x"))
    notes = [*b.notes,
             "overhead = (us/run with the store - us/run without, same framework) / 10; best = "
             "the same from the fastest repeats; floor rows: one raw write per step",
             "LangGraph rows use the sync invoke() (SqliteSaver has no async API); their "
             "baseline is LangGraph invoke() without a checkpointer"]
    text = table(
        f"2. Checkpoint overhead per step, same {CHAIN_STEPS}-step chain (median of "
        f"{s.repeats} repeats)",
        ["configuration", "us/step", "overhead us/step", "best", "overhead vs floor",
         "target", "verdict"], [r.cells() for r in b.rows], notes)
    text += "\n" + table(
        "2b. The store calls behind a checkpointed run, each timed alone",
        ["store", "call", "calls per run", "us/call", "best"], b.calls,
        ["a run of the chain makes these calls; its checkpoint overhead is roughly their sum "
         "plus taking the context snapshot"], left=2)
    return Section(text, b.targets)


def _postgres_without_fsync(b: _Bench, s: Settings, base: Timing, size: int) -> None:
    """The same on a database with synchronous_commit=off: flowpoint's cost without the fsync."""
    url = fresh_pg_database(s.pg_url or "", "flowpoint_bench_nosync",
                            {"synchronous_commit": "off"})
    row, ckptr = b.flowpoint("flowpoint, PostgreSQL, synchronous_commit=off", url, base, None)
    ckptr.store.close()
    row.floor = postgres_floor(url, size, s.budget_s, s.repeats)
    b.rows.append(Row(f"  floor: psycopg INSERT+COMMIT {size:,} B, synchronous_commit=off",
                      row.floor, is_floor=True, floor=row.floor))
    b.notes.append("synchronous_commit=off rows (no target): the server does not wait for its "
                   "WAL fsync at COMMIT, which shows what flowpoint itself adds per step")


def _sqlite_saver_settings(path: str) -> str:
    import sqlite3

    if not os.path.exists(path):
        return "LangGraph SqliteSaver: no file written"
    conn = sqlite3.connect(path)
    try:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    finally:
        conn.close()
    name = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(sync, sync)
    return (f"LangGraph SqliteSaver keeps the package's settings: journal_mode={mode}, "
            f"synchronous={name} (sqlite3's default, which it does not change)")
