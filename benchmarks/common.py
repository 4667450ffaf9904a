"""Shared helpers: settings for full/quick runs, median timing with warm-up, plain-text tables."""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Settings:
    """How much work each benchmark does; ``quick`` shrinks everything for a ~1 minute run."""

    quick: bool = False
    repeats: int = 7  # timed repetitions; the median is reported
    budget_s: float = 0.4  # wall time of one repetition; sets how many runs it holds
    growth_steps: tuple[int, ...] = (10, 100, 1000)
    explorer_checkpoints: int = 100_000
    explorer_widget_checkpoints: int = 10_000
    long_steps: int = 10_000  # the long run of target 1
    workdir: str = ""
    pg_url: str | None = None
    notes: list[str] = field(default_factory=list)

    @classmethod
    def make(cls, quick: bool, workdir: str) -> Settings:
        """Full settings, or the reduced ones for ``--quick``."""
        pg = os.environ.get("FLOWPOINT_TEST_PG") or None
        if quick:
            return cls(quick=True, repeats=3, budget_s=0.1, growth_steps=(10, 100, 1000),
                       explorer_checkpoints=10_000, explorer_widget_checkpoints=2_000,
                       long_steps=2_000,
                       workdir=workdir, pg_url=pg)
        return cls(workdir=workdir, pg_url=pg)


@dataclass
class Timing:
    """Seconds per unit of work: median (and best) over several timed repetitions."""

    median_s: float
    samples: list[float]
    units: int  # units of work per repetition

    @property
    def best_s(self) -> float:
        """The fastest repetition: the least disturbed by other load on the machine."""
        return min(self.samples)

    @property
    def spread(self) -> float:
        """(max - min) / median: how noisy the repetitions were."""
        return (max(self.samples) - min(self.samples)) / self.median_s if self.median_s else 0.0


def _units_for(per_unit_s: float, budget_s: float) -> int:
    return max(3, min(100_000, round(budget_s / max(per_unit_s, 1e-9))))


def time_sync(call: Callable[[], Any], budget_s: float, repeats: int) -> Timing:
    """Seconds per ``call()``: warm up (which also sizes a repetition to ~budget_s), then the
    median of ``repeats`` repetitions."""
    t0, k = time.perf_counter(), 0
    while k < 3 or (time.perf_counter() - t0 < budget_s / 4 and k < 100_000):
        call()
        k += 1
    n = _units_for((time.perf_counter() - t0) / k, budget_s)
    samples = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(n):
            call()
        samples.append((time.perf_counter() - t0) / n)
    return Timing(statistics.median(samples), samples, n)


async def timed_async(start: Callable[[], Awaitable[Any]], budget_s: float,
                      repeats: int) -> Timing:
    """Like time_sync for ``await start()``, on the running event loop."""
    t0, k = time.perf_counter(), 0
    while k < 3 or (time.perf_counter() - t0 < budget_s / 4 and k < 100_000):
        await start()
        k += 1
    n = _units_for((time.perf_counter() - t0) / k, budget_s)
    samples = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(n):
            await start()
        samples.append((time.perf_counter() - t0) / n)
    return Timing(statistics.median(samples), samples, n)


def time_async(start: Callable[[], Awaitable[Any]], budget_s: float, repeats: int) -> Timing:
    """timed_async all on one event loop of its own (one ``asyncio.run``)."""
    return asyncio.run(timed_async(start, budget_s, repeats))


def repeat_sync(call: Callable[[], Any], repeats: int, warmup: int = 1) -> Timing:
    """Seconds per ``call()`` for slow calls: ``warmup`` untimed calls, then ``repeats`` timed."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    return Timing(statistics.median(samples), samples, 1)


def us(seconds: float | None) -> str:
    """Microseconds, formatted for a table cell."""
    if seconds is None:
        return "-"
    value = seconds * 1e6
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def ms(seconds: float | None) -> str:
    """Milliseconds, formatted for a table cell."""
    return "-" if seconds is None else f"{seconds * 1e3:,.1f}"


def ratio(value: float | None, base: float | None) -> str:
    """value / base as ``1.23x``; ``-`` when either is missing."""
    if value is None or not base:
        return "-"
    return f"{value / base:,.2f}x"


def nbytes(n: int | None) -> str:
    """A byte count with thousands separators."""
    return "-" if n is None else f"{n:,}"


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]],
          notes: Sequence[str] = (), left: int = 1) -> str:
    """A plain-text table: the first ``left`` columns left-aligned, the others right-aligned."""
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    full = [r for r in cells if len(r) == len(header)]
    widths = [max(len(r[i]) for r in full) for i in range(len(header))]
    widths[0] = max(widths[0], *(len(r[0]) for r in cells))

    def line(r: list[str]) -> str:
        if len(r) != len(header):  # a message instead of numbers, e.g. "not available: ..."
            return "  ".join([r[0].ljust(widths[0]), *r[1:]]).rstrip()
        parts = [c.ljust(w) if i < left else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        return "  ".join(parts).rstrip()

    rule = "-" * len(line(cells[0]))
    out = [title, "=" * len(title), line(cells[0]), rule] + [line(r) for r in cells[1:]]
    out += [f"  * {n}" for n in notes]
    return "\n".join(out) + "\n"


def verdict(value: float | None, limit: float) -> str:
    """'met' / 'MISSED' for a lower-is-better target."""
    if value is None:
        return "n/a"
    return "met" if value <= limit else "MISSED"


def fresh_pg_database(url: str, name: str, settings: dict[str, str] | None = None) -> str:
    """Drop and re-create database ``name`` on the server of ``url``; returns its URL.

    The benchmarks write to their own databases so they never touch what the tests use;
    ``settings`` become that database's defaults (``ALTER DATABASE ... SET``).
    """
    import psycopg

    base, _, _ = url.rpartition("/")
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        for key, value in (settings or {}).items():
            conn.execute(f'ALTER DATABASE "{name}" SET {key} = {value}')
    return f"{base}/{name}"


@dataclass
class Target:
    """One goal from the issue: a measured value against a lower-is-better limit."""

    name: str
    value: float | None
    limit: float
    unit: str
    profile: Callable[[], Any] | None = None  # re-runs the measured work under the profiler
    note: str = ""
    peer: str = ""  # LangGraph's figure for the same row, measured in the same run

    @property
    def met(self) -> bool | None:
        """True/False, or None when it could not be measured."""
        return None if self.value is None else self.value <= self.limit


@dataclass
class Section:
    """What one benchmark hands back: its printed tables and the targets it checked."""

    text: str
    targets: list[Target] = field(default_factory=list)
