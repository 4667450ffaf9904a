"""One corrupt or hostile row at a time: listing, HTML and the explorer cope, the user sees why,
and run_from refuses (with a FlowpointError naming the checkpoint) rather than resume wrong data.
"""

from __future__ import annotations

import dataclasses
import html
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from durability_support import every_checkpoint

from flowpoint import CorruptCheckpoint, UnknownEventType, WorkflowCheckpointer
from flowpoint.demo import JokeFlow
from flowpoint.storage import RunRecord

XSS_ID = "<script>alert(1)</script>"


@pytest.fixture
async def jokes(tmp_path: Path) -> Any:
    """A SQLite store with one JokeFlow run; yields (checkpointer, its checkpoints, file)."""
    path = tmp_path / "bugs.db"
    ckptr = WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{path}")
    h = ckptr.run(topic="bugs")
    await h
    yield ckptr, every_checkpoint(ckptr)[h.run_id], path
    ckptr.store.close()


def sql(path: Path, statement: str, *params: Any) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(statement, params)
    finally:
        conn.close()


@pytest.mark.parametrize("manifest", ['{"store": {"a"', '{"$blob": "0000"}'])
async def test_run_from_refuses_a_checkpoint_whose_state_is_corrupt(
        jokes: Any, manifest: str) -> None:
    ckptr, ckpts, path = jokes
    sql(path, "UPDATE flowpoint_checkpoints SET state_manifest = ? WHERE id = ?", manifest,
        ckpts[1].id_)
    ckpt = ckptr.get(ckpts[1].id_)
    assert "$corrupt" in ckpt.ctx_state
    assert any(p.startswith("ctx_state") for p in ckpt.problems), ckpt.problems
    assert all(html.escape(p) in ckpt._repr_html_() for p in ckpt.problems)
    with pytest.raises(CorruptCheckpoint, match=ckpt.id_[:8]):
        ckptr.run_from(ckpt)
    assert len(ckptr.runs) == 1  # refused before any run was recorded


@pytest.mark.parametrize("manifest", ["5", '"text"'])
async def test_a_state_that_is_not_an_object_is_shown_as_corrupt(jokes: Any, manifest: str) -> None:
    ckptr, ckpts, path = jokes
    sql(path, "UPDATE flowpoint_checkpoints SET state_manifest = ? WHERE id = ?", manifest,
        ckpts[1].id_)
    ckpt = ckptr.get(ckpts[1].id_)
    assert set(ckpt.ctx_state) == {"$corrupt"} and ckpt.problems
    assert "not an object" in ckpt._repr_html_()
    with pytest.raises(CorruptCheckpoint, match=ckpt.id_[:8]):
        ckptr.run_from(ckpt)


@pytest.mark.parametrize("manifest", ['{"store": [1, 2]}', '{"queues": {"critique_joke": [5]}}',
                                      '{"collect_buffers": {"a": 5}}'])
async def test_run_from_refuses_a_state_of_the_wrong_shape_naming_the_checkpoint(
        jokes: Any, manifest: str) -> None:
    ckptr, ckpts, path = jokes
    sql(path, "UPDATE flowpoint_checkpoints SET state_manifest = ? WHERE id = ?", manifest,
        ckpts[1].id_)
    with pytest.raises(CorruptCheckpoint, match=ckpts[1].id_[:8]):
        ckptr.run_from(ckpts[1].id_)
    assert len(ckptr.runs) == 1


@pytest.mark.parametrize("part", ["store", "collect_buffers"])
async def test_run_from_refuses_unknown_events_anywhere_in_the_restored_state(
        jokes: Any, part: str) -> None:
    ckptr, ckpts, _ = jokes
    rec = ckptr.store.get_checkpoint(ckpts[1].id_)
    state = dict(rec.ctx_state)
    unknown = {"__event__": "nowhere.Thing", "data": {}}
    state[part] = ({"kept": unknown} if part == "store" else
                   {"critique_joke": {"nowhere.Thing": [unknown]}})
    ckptr.store.put_run(RunRecord(run_id="r-unknown", workflow="JokeFlow", status="failed",
                                  started_at=rec.created_at))
    ckptr.store.put_checkpoint(dataclasses.replace(rec, id="c-unknown", run_id="r-unknown",
                                                   ctx_state=state))
    with pytest.raises(UnknownEventType, match="nowhere.Thing"):
        ckptr.run_from("c-unknown")


@pytest.mark.parametrize("value", ["[1, 2]", '"text"', "5", '{"type": "Bo'])
async def test_a_run_error_of_the_wrong_shape_does_not_hide_every_run(
        jokes: Any, value: str) -> None:
    ckptr, ckpts, path = jokes
    run_id = ckpts[0].run_id
    sql(path, "UPDATE flowpoint_runs SET error = ?, edited = ? WHERE run_id = ?", value, value,
        run_id)
    run = ckptr.runs[run_id]
    assert set(run.error) == {"$corrupt"} and set(run.edited) == {"$corrupt"}
    assert run.status == "completed" and ckptr.get_run(run_id[:8]).run_id == run_id
    assert len(ckptr.to_dataframe()) == 3
    run._repr_html_()


@pytest.mark.parametrize("value", ['{"type": "Bo', "[1, 2]"])
async def test_a_corrupt_run_error_shows_why(jokes: Any, value: str) -> None:
    ckptr, ckpts, path = jokes
    sql(path, "UPDATE flowpoint_runs SET error = ? WHERE run_id = ?", value, ckpts[0].run_id)
    run = ckptr.runs[ckpts[0].run_id]
    assert html.escape(run.error["$corrupt"]) in run._repr_html_()


@pytest.mark.parametrize("table, column", [("flowpoint_checkpoints", "created_at"),
                                           ("flowpoint_checkpoints", "step_duration_s"),
                                           ("flowpoint_checkpoints", "seq"),
                                           ("flowpoint_runs", "started_at"),
                                           ("flowpoint_runs", "ended_at")])
async def test_a_number_column_holding_text_does_not_break_listing(
        jokes: Any, table: str, column: str) -> None:
    """SQLite keeps whatever is written, whatever the column type: reads must cope."""
    ckptr, ckpts, path = jokes
    key, value = ("id", ckpts[1].id_) if table == "flowpoint_checkpoints" else \
        ("run_id", ckpts[0].run_id)
    sql(path, f"UPDATE {table} SET {column} = 'yesterday' WHERE {key} = ?", value)
    assert len(ckptr.runs) == 1
    assert len(every_checkpoint(ckptr)[ckpts[0].run_id]) == 3
    assert len(ckptr.to_dataframe()) == 3
    for c in every_checkpoint(ckptr)[ckpts[0].run_id]:
        c._repr_html_()
    ckptr.runs[ckpts[0].run_id]._repr_html_()


@pytest.mark.parametrize("value", [1e12, 1e300, 2**62, -1e15])
@pytest.mark.parametrize("table, column", [("flowpoint_checkpoints", "created_at"),
                                           ("flowpoint_runs", "started_at")])
async def test_a_timestamp_out_of_range_does_not_break_listing(
        jokes: Any, table: str, column: str, value: float) -> None:
    """Even 1e12 (a time in milliseconds) must not break listing the whole store."""
    ckptr, ckpts, path = jokes
    key, target = ("id", ckpts[1].id_) if table == "flowpoint_checkpoints" else \
        ("run_id", ckpts[0].run_id)
    sql(path, f"UPDATE {table} SET {column} = ? WHERE {key} = ?", value, target)
    assert len(ckptr.runs) == 1
    assert len(every_checkpoint(ckptr)[ckpts[0].run_id]) == 3
    assert len(ckptr.to_dataframe()) == 3


async def test_the_explorer_escapes_ids_in_its_hints(tmp_path: Path) -> None:
    from flowpoint.notebook.explorer import CheckpointExplorer

    ckptr = WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{tmp_path}/x.db")
    h = ckptr.run(topic="ids")
    await h
    rec = ckptr.store.get_checkpoint(every_checkpoint(ckptr)[h.run_id][0].id_)
    ckptr.store.put_run(RunRecord(run_id=XSS_ID, workflow="JokeFlow", status="failed",
                                  started_at=rec.created_at))
    ckptr.store.put_checkpoint(dataclasses.replace(rec, id=XSS_ID + "-0", run_id=XSS_ID))
    ex = CheckpointExplorer(ckptr)
    try:
        ex.select(XSS_ID + "-0")
        ex.pin_button.click()
        ex.state.mode = "diff"
        pages, stack = [], [ex]
        while stack:
            widget = stack.pop()
            stack.extend(getattr(widget, "children", ()) or ())
            if isinstance(getattr(widget, "value", None), str):
                pages.append(widget.value)
        assert any(html.escape(XSS_ID) in p for p in pages), "the id is not shown at all"
        assert not any("<script" in p for p in pages), pages
    finally:
        ex.close()
        ckptr.store.close()


def test_the_explorer_selects_a_checkpoint_whose_stored_seq_is_text(tmp_path: Path) -> None:
    """A seq column holding text (SQLite stores any value anywhere) never breaks a selection."""
    from hostile_data import Mutation, build_template, copy_store

    from flowpoint.notebook.explorer import CheckpointExplorer

    path = copy_store(build_template(tmp_path / "t"), tmp_path / "x")
    conn = sqlite3.connect(path, isolation_level=None)
    target = Mutation("flowpoint_checkpoints", "seq", 0, "yesterday").apply(conn)
    conn.close()
    ckptr = WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{path}")
    ex = CheckpointExplorer(ckptr)
    try:
        ex.select(target)
        assert "failed" not in ex.status.value, ex.status.value
    finally:
        ex.close()
        ckptr.store.close()


@pytest.mark.parametrize("column,value", [("created_at", "yesterday"), ("created_at", 1e300),
                                          ("step_duration_s", "slow")])
def test_the_explorer_table_shows_a_row_whose_stored_number_is_not_one(
        tmp_path: Path, column: str, value: Any) -> None:
    """Times and durations in table rows are untrusted: a bad one shows blank, never fails."""
    from hostile_data import Mutation, build_template, copy_store

    from flowpoint.notebook.explorer import CheckpointExplorer

    path = copy_store(build_template(tmp_path / "t"), tmp_path / "x")
    conn = sqlite3.connect(path, isolation_level=None)
    target = Mutation("flowpoint_checkpoints", column, 0, value).apply(conn)
    run_id = conn.execute("SELECT run_id FROM flowpoint_checkpoints WHERE id = ?",
                          (target,)).fetchone()[0]
    conn.close()
    ckptr = WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{path}")
    ex = CheckpointExplorer(ckptr, run_ids=run_id)
    try:
        assert "failed" not in ex.status.value, ex.status.value
    finally:
        ex.close()
        ckptr.store.close()
