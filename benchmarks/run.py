"""The one entry point: ``python -m benchmarks.run [--quick] [--only NAME ...]``.

Runs every benchmark in this process, prints plain-text tables and a summary of the targets,
profiles the work behind any missed target, and saves the output to benchmarks/results/latest.txt.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .common import Section, Settings, Target, table, us
from .profiling import profile

RESULTS = Path(__file__).parent / "results"


def _sections() -> dict[str, Callable[[Settings], Section]]:
    from .checkpoints import checkpoint_overhead
    from .dedup import dedup_bench
    from .durability import durability_bench
    from .explorer import explorer_bench
    from .fanout import fanout_bench
    from .growth import storage_growth
    from .llamaindex2 import llamaindex_checkpoints
    from .overhead import runtime_overhead
    from .runlength import run_length

    return {"runtime": runtime_overhead, "checkpoints": checkpoint_overhead,
            "fanout": fanout_bench, "durability": durability_bench, "runlength": run_length,
            "dedup": dedup_bench, "growth": storage_growth, "explorer": explorer_bench,
            "llamaindex2": llamaindex_checkpoints}


SECTIONS = ("runtime", "checkpoints", "fanout", "durability", "runlength", "dedup", "growth",
            "explorer", "llamaindex2")


def _value(t: Target) -> str:
    if t.value is None:
        return "n/a"
    if t.unit == "s":
        return f"{us(t.value)} us" if t.value < 0.01 else f"{t.value * 1e3:,.0f} ms"
    if t.unit == "B":
        return f"{t.value:,.0f} B"
    return f"{t.value:,.2f}{t.unit}"


def _limit(t: Target) -> str:
    if t.unit == "s":
        return f"<= {us(t.limit)} us" if t.limit < 0.01 else f"<= {t.limit * 1e3:,.0f} ms"
    if t.unit == "B":
        return f"<= {t.limit:,.0f} B"
    return f"<= {t.limit:g}{t.unit}"


def _summary(targets: list[Target]) -> str:
    rows = [(t.name, _value(t), t.peer or "-", _limit(t),
             {True: "met", False: "MISSED", None: "n/a"}[t.met]) for t in targets]
    return table("Targets (flowpoint, and LangGraph measured in the same run)",
                 ["target", "flowpoint", "LangGraph (same run)", "goal", "verdict"], rows,
                 left=3)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; print and save the tables."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~1 minute version")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these")
    parser.add_argument("--no-profile", action="store_true", help="skip profiling misses")
    parser.add_argument("--output", default=str(RESULTS / "latest.txt"),
                        help="where to save the output (default: %(default)s)")
    args = parser.parse_args(argv)

    lines: list[str] = []

    def emit(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="flowpoint-bench-") as workdir:
        settings = Settings.make(args.quick, workdir)
        emit(f"flowpoint benchmarks ({'quick' if args.quick else 'full'}) - "
             f"{time.strftime('%Y-%m-%d %H:%M:%S')}, Python {platform.python_version()}, "
             f"{platform.machine()}, {os.cpu_count()} CPUs, load average "
             f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
        targets: list[Target] = []
        for name, bench in _sections().items():
            if args.only and name not in args.only:
                continue
            t0 = time.perf_counter()
            section = bench(settings)
            emit(section.text)
            emit(f"  ({name}: {time.perf_counter() - t0:.1f} s)\n")
            targets += section.targets
        emit(_summary(targets))
        missed = [t for t in targets if t.met is False and t.profile is not None]
        if missed and not args.no_profile:
            emit("Profiles of missed targets (cProfile, CPU time)")
            emit("===============================================")
            for t in missed:
                emit(f"  {t.name}:")
                emit(profile(t.profile))  # type: ignore[arg-type]
                emit("")
    emit(f"total time {time.perf_counter() - started:.0f} s")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"saved to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
