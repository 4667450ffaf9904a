"""Running the real ``flowpoint`` entry point in a subprocess, and filling real stores."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_flows import DoubleFlow, JokeFlow

from flowpoint import WorkflowCheckpointer

HERE = Path(__file__).resolve().parent
SCRIPT = Path(sys.executable).with_name("flowpoint")


@dataclass
class Result:
    code: int
    out: str
    err: str


def flowpoint(*args: str, cwd: Path | None = None, store: str | None = None,
              env: dict[str, str] | None = None, module: bool = False,
              timeout: float = 120) -> Result:
    """Run the installed ``flowpoint`` script (or ``python -m flowpoint``) in a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if k != "FLOWPOINT_STORE"}
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), *filter(None, [full_env.get("PYTHONPATH")])])
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "flowpoint"] if module else [str(SCRIPT)]
    if store is not None:
        cmd += ["--store", store]
    proc = subprocess.run([*cmd, *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Filled:
    """A SQLite store with two JokeFlow runs, a completed and a failed DoubleFlow run."""

    url: str
    path: Path
    joke_runs: list[str]
    double_ok: str
    double_failed: str


def fill(url: str) -> Filled:
    async def go() -> Filled:
        jokes = WorkflowCheckpointer(workflow=JokeFlow(), store=url)
        joke_runs = []
        for topic in ("chemistry", "music"):
            handler = jokes.run(topic=topic)
            await handler
            joke_runs.append(handler.run_id)
        doubles = WorkflowCheckpointer(workflow=DoubleFlow(), store=url)
        ok = doubles.run(n=21)
        await ok
        bad = doubles.run(n=-1)
        with pytest.raises(Exception, match="cannot double"):
            await bad
        for ckptr in (jokes, doubles):
            ckptr.store.close()
        return Filled(url, Path(url.removeprefix("sqlite:///")), joke_runs, ok.run_id,
                      bad.run_id)

    return asyncio.run(go())
