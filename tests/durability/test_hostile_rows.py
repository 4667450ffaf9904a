"""Corrupt and hostile rows written straight into SQLite: reading never crashes or runs anything.

Hypothesis overwrites cells of a real store (truncated JSON, JSON of the wrong shape, unknown or
dangerous event types, 1 MB values, markup in every text field) and every read path a user has
(runs, checkpoints, filters, DataFrame, diff, HTML, the explorer) must still work, show only
escaped markup, import nothing, and show which checkpoint is bad and why.
"""

from __future__ import annotations

import html
import json
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from durability_flows import find_corrupt
from durability_support import every_run
from hostile_data import (
    CKPT_TEXT_COLUMNS,
    EVENT_COLUMNS,
    HOSTILE_TYPES,
    HUGE,
    NUMBER_COLUMNS,
    RUN_JSON_COLUMNS,
    RUN_TEXT_COLUMNS,
    XSS,
    Mutation,
    build_template,
    copy_store,
    current,
    hostile_html,
    imported_hostile_modules,
    insert_hostile_run,
    read_everything,
    visible,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowpoint import FlowpointError, UnknownEvent

try:  # the explorer is optional here: its own tests live in tests/notebook
    from flowpoint.notebook.explorer import CheckpointExplorer
except ImportError:  # pragma: no cover - only before the notebook layer has it
    CheckpointExplorer = None  # type: ignore[assignment,misc]

SETTINGS = settings(max_examples=40, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

WRONG_EVENT_SHAPES = (
    "[]", "[1, 2]", "5", '"text"', "true", "{}", '{"__event__": 5}', '{"__event__": null}',
    '{"__event__": {"a": 1}}', '{"__event__": "flowpoint.demo.JokeEvent", "data": [1]}',
    '{"__event__": "flowpoint.demo.JokeEvent", "data": {"joke": 5}}',
    '{"__event__": "flowpoint.demo.JokeEvent"}',
    '{"__event__": "flowpoint.demo.JokeEvent", "__pickle__": "gASVAAAAAAAAAAA="}',
    '{"$corrupt": "already broken"}',
)
WRONG_STATE_SHAPES = (
    "{}", "[]", "null", "5", '"text"', "true", '{"$blob": "0000"}', '{"$chunks": 5}', '{"$chunks": [5]}',
    '{"store": {"$blob": 7}}', '{"store": [1, 2]}', '{"store": {"$chunks": [{"$index": "q"}]}}',
    '{"store": "x", "event_log": 5, "queues": [1], "collect_buffers": 3}',
    '{"store": {"k": {"__event__": "antigravity.Fly", "data": {}}}}',
    '{"$esc": 5}', '{"store": {"$index": "zz"}}',
)
WRONG_SHAPES = ("[]", "[1, 2]", "5", '"text"', "true", "null", "{}", '{"$corrupt": "x"}')

text = st.sampled_from([*XSS, XSS[0] + XSS[1], HUGE, "ünï\u2028côdé\x00", ""])


def truncated(table: str, column: str, key: str, frac: float) -> Any:
    read = current(table, column, key)

    def cut(conn: sqlite3.Connection, target: str) -> str:
        value = read(conn, target) or "null"
        return value[: int(len(value) * frac)]
    return cut


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    row = draw(st.integers(0, 10_000))
    kind = draw(st.sampled_from(["event", "state", "metadata", "ckpt_text", "run_json",
                                 "run_text", "number", "blob", "new_run"]))
    T, R = "flowpoint_checkpoints", "flowpoint_runs"
    if kind == "event":
        col = draw(st.sampled_from(EVENT_COLUMNS))
        how = draw(st.sampled_from(["truncate", "shape", "unknown", "fields", "huge"]))
        if how == "truncate":
            return Mutation(T, col, row, truncated(T, col, "id", draw(st.floats(0, 0.999))), True)
        if how == "shape":
            return Mutation(T, col, row, draw(st.sampled_from(WRONG_EVENT_SHAPES)), True)
        if how == "unknown":
            t = draw(st.sampled_from(HOSTILE_TYPES))
            return Mutation(T, col, row, json.dumps({"__event__": t, "data": {t: t}}), True)
        x = draw(text)
        data = {"joke": x, x: x} if how == "fields" else {"joke": HUGE}
        return Mutation(T, col, row, json.dumps({"__event__": "flowpoint.demo.JokeEvent",
                                                 "data": data}))
    if kind == "state":
        how = draw(st.sampled_from(["truncate", "shape", "markup"]))
        if how == "truncate":
            return Mutation(T, "state_manifest", row,
                            truncated(T, "state_manifest", "id", draw(st.floats(0, 0.999))))
        if how == "shape":
            return Mutation(T, "state_manifest", row, draw(st.sampled_from(WRONG_STATE_SHAPES)))
        x = draw(text)
        return Mutation(T, "state_manifest", row, json.dumps({"store": {x: x, "k": [x]}}))
    if kind == "metadata":
        how = draw(st.sampled_from(["truncate", "shape", "markup"]))
        if how == "truncate":
            return Mutation(T, "metadata", row, truncated(T, "metadata", "id", 0.5), True)
        if how == "shape":
            value = draw(st.sampled_from(WRONG_SHAPES))
            return Mutation(T, "metadata", row, value, value not in ("null", "{}"))
        x = draw(text)
        return Mutation(T, "metadata", row, json.dumps({x: x, "nested": {x: [x]}}))
    if kind == "ckpt_text":
        col = draw(st.sampled_from(CKPT_TEXT_COLUMNS))
        return Mutation(T, col, row, draw(text | st.sampled_from(HOSTILE_TYPES)))
    if kind == "run_json":
        col = draw(st.sampled_from(RUN_JSON_COLUMNS))
        how = draw(st.sampled_from(["truncate", "markup", "shape"]))
        if how == "truncate":
            return Mutation(R, col, row, truncated(R, col, "run_id", draw(st.floats(0, 0.999))))
        if how == "shape":
            return Mutation(R, col, row, draw(st.sampled_from(WRONG_SHAPES)))
        x = draw(text)
        return Mutation(R, col, row, json.dumps({"type": x, "message": x, "traceback": x, x: x}))
    if kind == "run_text":
        col = draw(st.sampled_from(RUN_TEXT_COLUMNS))
        return Mutation(R, col, row, draw(text))
    if kind == "number":  # SQLite stores any value in any column
        table, col = draw(st.sampled_from(NUMBER_COLUMNS))
        value = draw(st.sampled_from(["yesterday", XSS[0], "", "1e999", "-1", "nan", -1.5,
                                      "9" * 40, 1e12, 1e300, 2**62, -1e15]))
        return Mutation(table, col, row, value)
    if kind == "blob":
        return Mutation("flowpoint_blobs", "data", row,
                        truncated("flowpoint_blobs", "data", "hash", draw(st.floats(0, 0.999))))
    return Mutation("new_run", "", row, draw(text))


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("hostile-template"))


@pytest.fixture
def side_effect_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``fp_hostile_sidefx`` on sys.path: importing it would write the returned marker file."""
    marker = tmp_path / "sidefx.imported"
    mod_dir = tmp_path / "mods"
    mod_dir.mkdir()
    (mod_dir / "fp_hostile_sidefx.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n")
    monkeypatch.syspath_prepend(str(mod_dir))
    monkeypatch.delitem(sys.modules, "fp_hostile_sidefx", raising=False)
    return marker


def explorer_pages(ckptr: Any, only: set[str] | None = None) -> list[str]:
    """Build the explorer, select checkpoints (all, or ``only`` those plus each run's first and
    last) and diff each against its parent; every HTML the explorer rendered."""
    if CheckpointExplorer is None:
        return []
    ex = CheckpointExplorer(ckptr)
    ex.state.mode = "diff"  # the diff is drawn for every selection
    pages: list[str] = []
    try:
        recs = ckptr.store.list_checkpoints()
        by_id = {r.id: r for r in recs}
        if only is not None:
            last: dict[str, Any] = {}
            for r in recs:
                last[r.run_id] = r
            ends = {r.id for r in last.values()} | {r.id for r in recs if r.seq == 0}
            only = (only | ends) & set(by_id)
        for cid in by_id if only is None else sorted(only):
            ex.select(cid)
            stack = [ex]
            while stack:
                widget = stack.pop()
                stack.extend(getattr(widget, "children", ()) or ())
                value = getattr(widget, "value", None)
                if type(widget).__name__ == "HTML" and isinstance(value, str):
                    pages.append(value)
            assert "failed" not in ex.status.value, ex.status.value
    finally:
        ex.close()
    return pages


def refuse_if_damaged(ckptr: Any, ckpt: Any) -> None:
    """A checkpoint whose output event or state could not be read is shown as such, and
    run_from refuses it with a FlowpointError instead of resuming with wrong data."""
    damaged = find_corrupt(ckpt.ctx_state) or isinstance(ckpt.output_event, UnknownEvent)
    if damaged:
        assert any(not p.startswith(("input", "metadata")) for p in ckpt.problems), ckpt.problems
    shape_ok = all(isinstance(ckpt.ctx_state.get(k, {}), dict)
                   for k in ("store", "queues", "in_progress", "collect_buffers"))
    if damaged or not shape_ok:
        with pytest.raises(FlowpointError):
            ckptr.run_from(ckpt)


@SETTINGS
@given(muts=st.lists(mutations(), min_size=1, max_size=3))
def test_hostile_rows_never_crash_execute_or_render_raw_markup(
        muts: list[Mutation], template: Path, tmp_path: Path, side_effect_module: Path) -> None:
    path = copy_store(template, tmp_path / uuid.uuid4().hex)
    conn = sqlite3.connect(path, isolation_level=None)
    changed: dict[tuple[str, str], Mutation] = {}
    touched: set[str] = set()
    try:
        for m in muts:
            if m.table == "new_run":
                touched.add(insert_hostile_run(conn, m.value, m.row))
                continue
            target = m.apply(conn)
            if target is not None:
                changed[(target, m.column)] = m
                touched.add(target)
    finally:
        conn.close()

    ckptr, flat, pages = read_everything(f"sqlite:///{path}",
                                         lambda c: explorer_pages(c, touched))
    try:
        assert hostile_html(pages) == []
        assert imported_hostile_modules() == []
        assert not side_effect_module.exists()
        for (cid, column), m in changed.items():
            if m.expect_unknown:
                ckpt = flat[cid]
                page = ckpt._repr_html_()
                visible(ckpt, page, column)
        for ckpt in flat.values():
            for p in ckpt.problems:
                assert html.escape(p) in ckpt._repr_html_()
        for ckpt in flat.values():  # a damaged blob can hurt many checkpoints
            refuse_if_damaged(ckptr, ckpt)
    finally:
        ckptr.store.close()
    path.unlink()


def test_the_template_reads_cleanly_and_the_battery_sees_every_checkpoint(
        template: Path, tmp_path: Path) -> None:
    path = copy_store(template, tmp_path / "clean")
    ckptr, flat, pages = read_everything(f"sqlite:///{path}", explorer_pages)
    try:
        assert len(every_run(ckptr)) == 4 and len(flat) == 3 + 3 + 2 + 43
        assert all(c.problems == [] for c in flat.values())
        assert hostile_html(pages) == []
        assert len(pages) >= len(flat)
        assert ckptr.storage_report()["blobs"] > 0  # the long run's state lives in blobs
    finally:
        ckptr.store.close()
