"""Where the time goes when a target is missed: cProfile of the measured work, summarised."""

from __future__ import annotations

import cProfile
import os
import pstats
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

_SITE = os.sep + "site-packages" + os.sep


def _where(filename: str) -> str:
    """A short name for a source file: the package path, or the stdlib module, or a builtin."""
    if filename.startswith("~") or filename.startswith("<"):
        return "(builtins)"
    if _SITE in filename:
        return filename.split(_SITE, 1)[1]
    if os.sep + "src" + os.sep + "flowpoint" + os.sep in filename:
        return "flowpoint/" + filename.split(os.sep + "src" + os.sep + "flowpoint" + os.sep, 1)[1]
    parts = filename.split(os.sep)
    return "/".join(parts[-2:])


def profile(work: Callable[[], Any], top: int = 12) -> str:
    """Run ``work`` under cProfile; the top files and functions by own time, as text.

    The profiler counts this process's CPU time, so other load on the machine does not land on
    whatever function happened to be running; time spent waiting (disk, server) shows as the gap
    between wall and CPU time.
    """
    prof = cProfile.Profile(time.process_time)
    wall = time.perf_counter()
    prof.enable()
    try:
        work()
    finally:
        prof.disable()
    wall = time.perf_counter() - wall
    stats = pstats.Stats(prof)
    total = stats.total_tt or 1e-12  # type: ignore[attr-defined]
    by_file: dict[str, float] = defaultdict(float)
    funcs = []
    for (filename, line, name), (_cc, ncalls, tottime, cumtime, _callers) in \
            stats.stats.items():  # type: ignore[attr-defined]
        where = _where(filename)
        by_file[where] += tottime
        label = f"{where}:{line}({name})" if where != "(builtins)" else name
        funcs.append((tottime, cumtime, ncalls, label))
    lines = [f"    CPU {total:.3f} s in {wall:.3f} s wall (the rest: waiting for disk, server or "
             f"other processes; the profiler inflates both)", "    own CPU time by file:"]
    for where, t in sorted(by_file.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"      {t / total:6.1%}  {where}")
    lines.append("    top functions by own CPU time (own%, cumulative%, calls):")
    for tottime, cumtime, ncalls, label in sorted(funcs, reverse=True)[:top]:
        lines.append(f"      {tottime / total:6.1%} {cumtime / total:7.1%} {ncalls:>9,}  {label}")
    flowpoint_funcs = sorted((f for f in funcs if "flowpoint/" in f[3]), key=lambda f: -f[1])
    lines.append("    flowpoint functions by cumulative CPU time:")
    for _own, cumtime, ncalls, label in flowpoint_funcs[:top]:
        lines.append(f"      {cumtime / total:6.1%} {ncalls:>9,}  {label}")
    return "\n".join(lines)
