"""A run's liveness is a heartbeat lease: readers in other PID namespaces (containers, machines
with the same host name) never mark a live run interrupted, and marking is a compare-and-set."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from faults_support import sql

from flowpoint import InputRequiredEvent, WorkflowCheckpointer
from flowpoint.checkpoints import liveness
from flowpoint.demo import ReviewFlow
from flowpoint.storage import RunRecord, SQLStore

WAITER = """
import asyncio, json, os, sys
from flowpoint import InputRequiredEvent, WorkflowCheckpointer
from flowpoint.demo import ReviewFlow

async def main():
    ckptr = WorkflowCheckpointer(ReviewFlow(), store=sys.argv[1])
    h = ckptr.run(topic="namespaces")
    async for ev in h.stream_events():
        if isinstance(ev, InputRequiredEvent):
            print(json.dumps({"run_id": h.run_id, "pid": os.getpid()}), flush=True)
            await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_a_run_in_another_pid_namespace_stays_live_until_its_lease_lapses(
        store_url: str, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", sys.executable, "-c",
         WAITER, store_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        started = json.loads(line)
        assert started["pid"] < 10  # its own PID namespace: the pid means another process here
        reader = WorkflowCheckpointer(ReviewFlow(), store=store_url)
        try:
            assert reader.runs[started["run_id"]].status == "waiting"
            assert reader.get_run(started["run_id"]).status == "waiting"
            proc.kill()
            proc.wait(timeout=30)
            assert reader.runs[started["run_id"]].status == "waiting"  # lease still valid
            lapsed = time.time() - liveness.LEASE_S - 1
            sql(store_url, "UPDATE flowpoint_runs SET heartbeat_at = :t", t=lapsed)
            assert reader.runs[started["run_id"]].status == "interrupted"
        finally:
            reader.store.close()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


async def test_a_waiting_run_renews_its_lease(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setattr(liveness, "RENEW_S", 0.05)
    ckptr = WorkflowCheckpointer(ReviewFlow(), store=f"sqlite:///{tmp_path / 'lease.db'}")
    try:
        h = ckptr.run(topic="leases")
        async for ev in h.stream_events():
            if isinstance(ev, InputRequiredEvent):
                liveness.LEASES.renew_now()
                first = ckptr.store.get_run(h.run_id).heartbeat_at
                for _ in range(100):
                    await asyncio.sleep(0.05)
                    if ckptr.store.get_run(h.run_id).heartbeat_at > first:
                        break
                assert ckptr.store.get_run(h.run_id).heartbeat_at > first
                ckptr.respond(h.run_id, "yes")
        assert (await h).startswith("published")
    finally:
        ckptr.store.close()


class _CompletesWhileJudged:
    """The real store, with the owner's final write landing right after a reader listed runs."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def list_runs(self, *args: Any, **kwargs: Any) -> list[RunRecord]:
        runs = self._store.list_runs(*args, **kwargs)
        for run in runs:
            if run.status == "running":
                self._store.update_run(run.run_id, status="completed", result={"done": True},
                                       ended_at=time.time())
        return runs


def _dead_owner() -> str:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    parts = liveness.process_owner().split(":")
    return ":".join([parts[0], str(child.pid), "1", parts[3]])


def test_a_run_that_ends_while_judged_stale_keeps_its_end(store_url: str) -> None:
    real = SQLStore(store_url)
    try:
        real.put_run(RunRecord(run_id="r-ends", workflow="ReviewFlow", status="running",
                               started_at=time.time(), owner=_dead_owner(),
                               heartbeat_at=time.time()))
        assert liveness.owner_is_gone(real.get_run("r-ends").owner)
        WorkflowCheckpointer(ReviewFlow(), store=_CompletesWhileJudged(real))
        run = real.get_run("r-ends")
        assert (run.status, run.result) == ("completed", {"done": True})
    finally:
        real.close()


def test_a_dead_local_owner_is_interrupted_at_once(store_url: str) -> None:
    store = SQLStore(store_url)
    try:
        store.put_run(RunRecord(run_id="r-dead", workflow="ReviewFlow", status="waiting",
                                started_at=time.time(), owner=_dead_owner(),
                                heartbeat_at=time.time()))
        ckptr = WorkflowCheckpointer(ReviewFlow(), store=store)
        assert ckptr.get_run("r-dead").status == "interrupted"
    finally:
        store.close()
