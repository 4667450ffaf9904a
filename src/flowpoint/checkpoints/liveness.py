"""Which process owns a run, and whether that process is gone (a stale "running" run)."""

from __future__ import annotations

import os
import socket
from functools import lru_cache


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_ticks(pid: int) -> str | None:
    fields = _stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


@lru_cache(maxsize=1)
def _host() -> str:
    return socket.gethostname()


def process_owner() -> str:
    """``host:pid:start`` of this process; the start time guards against pid reuse."""
    return _owner(os.getpid())


@lru_cache(maxsize=4)
def _owner(pid: int) -> str:
    return f"{_host()}:{pid}:{_start_ticks(pid) or '?'}"


def owner_is_gone(owner: str | None) -> bool:
    """True if ``owner`` names a process on this host that no longer runs.

    Runs owned by another host are never judged stale here: only that host can tell.
    """
    if not owner:
        return False
    try:
        host, pid_s, start = owner.rsplit(":", 2)
        pid = int(pid_s)
    except ValueError:
        return False
    if host != _host():
        return False
    if pid == os.getpid():
        return start != (_start_ticks(pid) or "?")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    fields = _stat(pid)
    if fields and fields[0] in ("Z", "X"):
        return True
    now = fields[19] if fields and len(fields) > 19 else None
    return start != "?" and now is not None and now != start
