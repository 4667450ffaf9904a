"""One long run in a fresh process, so its time per step and its memory are its own.

``python -m benchmarks.longrun --steps N --item-bytes B [--store URL]`` runs AppendFlow for N
steps (each appends a B-byte string to ``ctx.store["items"]``) and prints one JSON line: the
whole run's seconds, the time of each step (between consecutive checkpoints) summarised, and the
process's peak RSS before and after. Without ``--store`` it runs with no checkpointer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

from .chains import AppendFlow


def _peak_rss_bytes() -> int:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it does not carry the image the process
    had before exec, i.e. the parent's)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def _run(steps: int, item_bytes: int, store: str | None) -> dict[str, Any]:
    stamps: list[float] = []
    flow = AppendFlow(timeout=None)
    cpu0 = time.process_time()
    if store is None:
        t0 = time.perf_counter()
        result = await flow.run(steps=steps, item_bytes=item_bytes)
        elapsed = time.perf_counter() - t0
    else:
        from flowpoint import WorkflowCheckpointer

        ckptr = WorkflowCheckpointer(flow, store=store)
        ckptr.subscribe(lambda kind, _run, _p: stamps.append(time.perf_counter())
                        if kind == "checkpoint" else None)
        t0 = time.perf_counter()
        result = await ckptr.run(steps=steps, item_bytes=item_bytes)
        elapsed = time.perf_counter() - t0
        ckptr.store.close()
    assert result == steps, result
    cpu = time.process_time() - cpu0
    step_s = [b - a for a, b in zip(stamps[1:], stamps[2:], strict=False)]  # the grow steps
    return {"seconds": elapsed, "cpu_s": cpu, "step_s": step_s}


def main(argv: list[str] | None = None) -> int:
    """Run once and print the JSON summary."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.longrun")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--item-bytes", type=int, required=True)
    parser.add_argument("--store", default=None)
    args = parser.parse_args(argv)
    before = _peak_rss_bytes()
    out = asyncio.run(_run(args.steps, args.item_bytes, args.store))
    out.update(rss_before=before, rss_peak=_peak_rss_bytes())
    print(json.dumps(out))
    return 0


def run_in_subprocess(steps: int, item_bytes: int, store: str | None,
                      timeout_s: float) -> dict[str, Any] | str:
    """The summary of one long run in a fresh interpreter, or why it did not finish."""
    cmd = [sys.executable, "-m", "benchmarks.longrun", "--steps", str(steps),
           "--item-bytes", str(item_bytes)] + (["--store", store] if store else [])
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                              check=False)
    except subprocess.TimeoutExpired:
        return f"did not finish in {timeout_s:.0f} s"
    if done.returncode != 0:
        return f"failed: {done.stderr.strip().splitlines()[-1] if done.stderr else done.returncode}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def medians(step_s: list[float], n: int) -> tuple[float, float]:
    """(median of the first n steps, median of the last n)."""
    return statistics.median(step_s[:n]), statistics.median(step_s[-n:])


if __name__ == "__main__":
    sys.exit(main())
