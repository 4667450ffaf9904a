"""Hostile and corrupt rows for the fuzz tests: a template store, mutations, and the read battery.

The template is a real SQLite store (JokeFlow runs, a failed run, a long SlowFlow run whose state
lives in chunked blobs). Each example copies it and overwrites rows behind flowpoint's back.
"""

from __future__ import annotations

import asyncio
import html
import json
import shutil
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from durability_flows import SlowFlow
from durability_support import every_checkpoint, every_run

from flowpoint import UnknownEvent, WorkflowCheckpointer, diff
from flowpoint.demo import FakeLLM, JokeFlow

XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')
HOSTILE_MODULES = ("antigravity", "this", "fp_hostile_sidefx")
HOSTILE_TYPES = ("antigravity.Fly", "this.X", "os.system", "fp_hostile_sidefx.Evil",
                 "builtins.eval", *XSS, "", ".", "a" * 300)
HUGE = "H" * 1_000_000
EVENT_COLUMNS = ("input_event", "output_event")
CKPT_JSON_COLUMNS = (*EVENT_COLUMNS, "state_manifest", "metadata")
CKPT_TEXT_COLUMNS = ("step", "input_type", "output_type", "parent_id")
RUN_JSON_COLUMNS = ("result", "error", "edited")
NUMBER_COLUMNS = (("flowpoint_checkpoints", "seq"), ("flowpoint_checkpoints", "created_at"),
                  ("flowpoint_checkpoints", "step_duration_s"), ("flowpoint_runs", "started_at"),
                  ("flowpoint_runs", "ended_at"), ("flowpoint_runs", "heartbeat_at"))
RUN_TEXT_COLUMNS = ("workflow", "status", "owner", "origin_checkpoint_id")


class _NoCritic(FakeLLM):
    async def acomplete(self, prompt: str) -> str:
        if prompt.startswith("Critique"):
            raise RuntimeError("critic is down")
        return await super().acomplete(prompt)


async def _fill(url: str) -> None:
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    for topic in ("chemistry", "cats"):
        await ckptr.run(topic=topic)
    broken = JokeFlow()
    broken.llm = _NoCritic()
    ckptr.workflow = broken
    try:
        await ckptr.run(topic="physics")
    except RuntimeError:
        pass
    ckptr.store.close()
    slow = WorkflowCheckpointer(SlowFlow(max_sleep_ms=0), store=url)
    await slow.run(steps=40)
    slow.store.close()


def build_template(directory: Path) -> Path:
    """A closed SQLite store file with real runs in it."""
    path = directory / "template.db"
    asyncio.run(_fill(f"sqlite:///{path}"))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


def copy_store(template: Path, directory: Path) -> Path:
    """A private copy of the template store (WAL and all)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "store.db"
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{template}{suffix}")
        dst = Path(f"{target}{suffix}")
        if src.exists():
            shutil.copyfile(src, dst)
        elif dst.exists():
            dst.unlink()
    return target


@dataclass
class Mutation:
    """Overwrite one column of one row (``table``, ``column``, row index) with ``value``.

    ``expect_unknown``: the event read from this cell must be an UnknownEvent placeholder.
    """

    table: str
    column: str
    row: int
    value: Any
    expect_unknown: bool = False

    def apply(self, conn: sqlite3.Connection) -> str | None:
        """Write it; returns the id of the checkpoint changed (None for runs and blobs)."""
        key = {"flowpoint_checkpoints": "id", "flowpoint_runs": "run_id",
               "flowpoint_blobs": "hash"}[self.table]
        ids = [r[0] for r in conn.execute(f"SELECT {key} FROM {self.table} ORDER BY {key}")]
        target = ids[self.row % len(ids)]
        value = self.value(conn, target) if callable(self.value) else self.value
        conn.execute(f"UPDATE {self.table} SET {self.column} = ? WHERE {key} = ?",
                     (value, target))
        return target if self.table == "flowpoint_checkpoints" else None


def current(table: str, column: str, key: str) -> Callable[[sqlite3.Connection, str], Any]:
    """The cell's stored text, for mutations that build on it."""
    def read(conn: sqlite3.Connection, target: str) -> Any:
        return conn.execute(f"SELECT {column} FROM {table} WHERE {key} = ?", (target,)).fetchone()[0]
    return read


def insert_hostile_run(conn: sqlite3.Connection, text: str, row: int) -> str:
    """A new run with a hostile id and workflow, holding a copy of an existing checkpoint."""
    cols = [r[1] for r in conn.execute("PRAGMA table_info(flowpoint_checkpoints)")]
    src = conn.execute("SELECT * FROM flowpoint_checkpoints ORDER BY id").fetchall()
    values = dict(zip(cols, src[row % len(src)], strict=True))
    n = conn.execute("SELECT COUNT(*) FROM flowpoint_runs").fetchone()[0]
    run_id = f"{text}-{row}-{n}"
    conn.execute("INSERT INTO flowpoint_runs (run_id, workflow, status, started_at, error) "
                 "VALUES (?, ?, 'failed', 1.0, ?)",
                 (run_id, text, json.dumps({"type": text, "message": text, "traceback": text})))
    values.update(id=f"{text}-ckpt-{row}-{n}", run_id=run_id, seq=0, step=text,
                  metadata=json.dumps({text: text, "k": [text]}))
    conn.execute(f"INSERT INTO flowpoint_checkpoints ({', '.join(cols)}) VALUES "
                 f"({', '.join('?' for _ in cols)})", [values[c] for c in cols])
    return values["id"]


def hostile_html(pages: list[str]) -> list[str]:
    """The pages holding raw (unescaped) markup an attacker planted."""
    return [p[:200] for p in pages if "<script" in p.lower() or "<img" in p.lower()]


def read_everything(url: str, explorer: Callable[[Any], list[str]] | None = None
                    ) -> tuple[WorkflowCheckpointer, dict[str, Any], list[str]]:
    """Every read path over the whole store; returns (checkpointer, checkpoints by id, HTML)."""
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    pages: list[str] = []
    runs = every_run(ckptr)
    every = sorted({r.workflow for r in runs.values()})
    pages += [r._repr_html_() for r in runs.values()]
    for r in runs.values():
        repr(r)
    by_run = every_checkpoint(ckptr)
    flat = {c.id_: c for cs in by_run.values() for c in cs}
    for c in flat.values():
        ckptr.get(c.id_)
        assert isinstance(c.problems, list)
        c.ctx_state, c.user_state, repr(c)  # noqa: B018 - loading must not raise
        pages.append(c._repr_html_())
    for cs in by_run.values():
        for a, b in pairwise(cs):
            d = diff(a, b)
            pages.append(d._repr_html_())
            d.to_dataframe()
            repr(d)
    frame = ckptr.to_dataframe(workflow=every)
    assert len(frame) == len(flat)
    for kw in ({"last_completed_step": "generate_joke"}, {"output_event_type": "JokeEvent"},
               {"status": "failed"}, {"text": "alert"}, {"last_completed_step": XSS[0]},
               {"input_event_type": "antigravity.Fly"}):
        ckptr.filter_checkpoints(**kw, workflow=every)
        ckptr.to_dataframe(**kw, workflow=every)
    if explorer is not None:
        pages += explorer(ckptr)
    return ckptr, flat, pages


def visible(ckpt: Any, page: str, column: str) -> None:
    """The user can tell the checkpoint is bad, and why: the reason is in its HTML."""
    if column in EVENT_COLUMNS:
        ev = ckpt.input_event if column == "input_event" else ckpt.output_event
        assert isinstance(ev, UnknownEvent), (column, ev)
        assert ev.reason and ckpt.problems, ckpt.problems
        assert all(html.escape(p) in page for p in ckpt.problems)
    elif column == "metadata":
        assert set(ckpt.metadata) == {"$corrupt"}, ckpt.metadata
        reason = ckpt.metadata["$corrupt"]
        assert "$corrupt" in page and html.escape(reason.split(":")[0]) in page


def imported_hostile_modules() -> list[str]:
    """Modules named in hostile rows that are now imported (there must be none)."""
    return [m for m in HOSTILE_MODULES if m in sys.modules]
