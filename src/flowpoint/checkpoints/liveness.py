"""Whether a "running" or "waiting" run still has a live process: a heartbeat lease.

Each run records its owner, ``host:pid:start:scope``, where ``scope`` names the machine boot and
PID namespace the pid belongs to. A reader in the same scope asks the kernel whether that
process still runs (so a crash is seen at once). Any other reader (another machine, container or
PID namespace, even with the same host name) trusts only the lease: the owner renews the run's
``heartbeat_at`` every RENEW_S seconds while the run is live, and a run whose heartbeat is older
than LEASE_S is stale. Clocks of the machines sharing a store must agree within LEASE_S - RENEW_S.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Container
from functools import lru_cache
from typing import Any

from ..errors import StoreError
from ..storage.base import ConditionalRunStore
from ..storage.records import LIVE_STATUSES

LEASE_S = 90.0
RENEW_S = 15.0


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
    return socket.gethostname().replace(":", "_")


def _scope() -> str:
    """This process's machine boot and PID namespace; "?" where the system does not say."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip().replace("-", "")[:16]
    except OSError:
        boot = "?"
    try:
        ns = os.readlink("/proc/self/ns/pid").partition("[")[2].rstrip("]") or "?"
    except OSError:
        ns = "?"
    return f"{boot}.{ns}"


def process_owner() -> str:
    """``host:pid:start:scope`` of this process; the start time guards against pid reuse."""
    return _owner(os.getpid())


@lru_cache(maxsize=4)
def _owner(pid: int) -> str:
    return f"{_host()}:{pid}:{_start_ticks(pid) or '?'}:{_scope()}"


def _local_pid(owner: str | None) -> tuple[int, str] | None:
    """(pid, start) if ``owner`` is a process this one can look up (same boot and namespace)."""
    if not owner:
        return None
    parts = owner.rsplit(":", 3)
    if len(parts) != 4 or parts[0] != _host() or "?" in parts[3] or parts[3] != _scope():
        return None
    try:
        return int(parts[1]), parts[2]
    except ValueError:
        return None


def owner_is_gone(owner: str | None) -> bool:
    """True if ``owner`` names a process of this machine and PID namespace that no longer runs.

    Owners elsewhere (or written before scopes were recorded) are never judged here: only their
    lease can tell (see ``run_is_stale``).
    """
    local = _local_pid(owner)
    if local is None:
        return False
    pid, start = local
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


def run_is_stale(owner: str | None, heartbeat_at: float | None, now: float | None = None) -> bool:
    """True if no live process runs this run: its local owner is gone, or (owner elsewhere)
    its lease lapsed. A run that names no owner (one another runtime reported) is never judged."""
    if not owner:
        return False
    if _local_pid(owner) is not None:
        return owner_is_gone(owner)
    if heartbeat_at is None:
        return True
    return (time.time() if now is None else now) - heartbeat_at > LEASE_S


class LeaseKeeper:
    """Renews the heartbeat of this process's live runs every RENEW_S seconds, on a daemon
    thread (so a busy event loop or a run waiting days for a human keeps its lease)."""

    def __init__(self) -> None:
        self._runs: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def add(self, run_id: str, store: Any) -> None:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's thread is not here
                self._runs, self._thread, self._pid = {}, None, os.getpid()
            self._runs[run_id] = store
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="flowpoint-lease",
                                                daemon=True)
                self._thread.start()

    def renew_now(self) -> None:
        """Renew every lease at once instead of at the end of the current interval."""
        self._wake.set()

    def remove(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)

    def _loop(self) -> None:
        while True:
            if self._wake.wait(RENEW_S):
                self._wake.clear()
            with self._lock:
                if not self._runs or self._pid != os.getpid():
                    self._thread = None
                    return
                runs = list(self._runs.items())
            now = time.time()
            for run_id, store in runs:
                try:
                    store.update_run(run_id, heartbeat_at=now)
                except KeyError:  # the run was deleted
                    self.remove(run_id)
                except Exception:  # a store that cannot be written now: retried next round
                    pass


LEASES = LeaseKeeper()


def is_stale(rec: Any, live_here: Container[str]) -> bool:
    """True if no process runs the stored run ``rec`` (``live_here``: run ids this process runs)."""
    return rec.run_id not in live_here and run_is_stale(rec.owner, rec.heartbeat_at)


def interrupt_if_gone(store: Any, rec: Any, live_here: Container[str]) -> bool:
    """Mark a run "interrupted" if no live process runs it (its owner is gone or its lease
    lapsed), unless it ended or renewed its lease meanwhile; True if it was marked."""
    if not is_stale(rec, live_here):
        return False
    if isinstance(store, ConditionalRunStore):
        return store.interrupt_run(rec.run_id, rec.heartbeat_at)
    store.update_run(rec.run_id, status="interrupted")
    return True


def mark_stale_runs(store: Any, live_here: Container[str]) -> None:
    """Runs whose process died mid-run are marked "interrupted" so they can be resumed."""
    if getattr(store, "read_only", False):
        return
    try:
        for rec in store.list_runs(statuses=LIVE_STATUSES):
            interrupt_if_gone(store, rec, live_here)
    except StoreError:
        pass  # e.g. a full disk: listing and reading must still work
