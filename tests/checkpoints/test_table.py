"""to_dataframe: typed columns, run columns joined in, filters pushed to the store."""

from __future__ import annotations

import pytest

from flowpoint import StopEvent, WorkflowCheckpointer
from flowpoint.demo import JokeEvent, JokeFlow


@pytest.fixture(params=["memory", "sqlite"])
def ckptr(request, tmp_path):
    store = "memory" if request.param == "memory" else f"sqlite:///{tmp_path}/t.db"
    return WorkflowCheckpointer(JokeFlow(), store=store)


async def test_one_typed_row_per_checkpoint_with_run_columns(ckptr):
    h = ckptr.run(topic="x")
    await h
    start = ckptr.filter_checkpoints(last_completed_step="generate_joke")[0]
    resumed = ckptr.run_from(start, output_event=JokeEvent(joke="edited"))
    await resumed
    df = ckptr.to_dataframe()
    assert len(df) == 4
    assert str(df["created_at"].dtype) == "datetime64[ns, UTC]"
    assert str(df["seq"].dtype) == "int64" and str(df["status"].dtype) == "category"
    assert str(df["step_duration_s"].dtype) == "float64"
    first = df[df.run_id == h.run_id]
    assert list(first.seq) == [0, 1, 2]
    assert list(first.output_type) == ["StartEvent", "JokeEvent", "StopEvent"]
    assert first.input_type.isna().iloc[0] and first.step.isna().iloc[0]
    assert set(first.status) == {"completed"} and set(first.workflow) == {"JokeFlow"}
    new = df[df.run_id == resumed.run_id].iloc[0]
    assert new.origin_checkpoint_id == start.id_ and bool(new.edited) is True
    assert new.seq == 2 and new.parent_id == start.id_


async def test_filters_match_filter_checkpoints(ckptr):
    for topic in "abc":
        await ckptr.run(topic=topic)
    df = ckptr.to_dataframe(last_completed_step="critique_joke", output_event_type=StopEvent)
    ids = {c.id_ for c in ckptr.filter_checkpoints(last_completed_step="critique_joke",
                                                   output_event_type=StopEvent)}
    assert set(df.checkpoint_id) == ids and len(ids) == 3
    assert len(ckptr.to_dataframe(last_completed_step=[None])) == 3
    assert len(ckptr.to_dataframe(last_completed_step=None)) == 9  # None: no filter
    assert len(ckptr.to_dataframe(status="failed")) == 0
    assert list(ckptr.to_dataframe().columns)[:3] == ["checkpoint_id", "run_id", "seq"]


async def test_damaged_cells_read_as_missing_values_of_the_column_type(tmp_path):
    import sqlite3

    import pandas as pd

    path = tmp_path / "bad.db"
    ckptr = WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{path}")
    for topic in "ab":
        await ckptr.run(topic=topic)
    conn = sqlite3.connect(path)
    ids = [r[0] for r in conn.execute("SELECT id FROM flowpoint_checkpoints ORDER BY rowid")]
    run_ids = [r[0] for r in conn.execute("SELECT run_id FROM flowpoint_runs ORDER BY rowid")]
    for column, value, cid in (("seq", "x", ids[1]), ("output_type", None, ids[1]),
                               ("created_at", "yesterday", ids[2]), ("metadata", "[1]", ids[2]),
                               ("step_duration_s", "slow", ids[4]), ("input_type", 5, ids[4])):
        conn.execute(f"UPDATE flowpoint_checkpoints SET {column} = ? WHERE id = ?", (value, cid))
    conn.execute("UPDATE flowpoint_runs SET edited = '[1]' WHERE run_id = ?", (run_ids[1],))
    conn.commit()
    conn.close()
    df = ckptr.to_dataframe()
    assert len(df) == 6 and str(df["seq"].dtype) == "int64"
    by_id = df.set_index("checkpoint_id")
    assert by_id.loc[ids[1], "seq"] == -1 and by_id.loc[ids[1], "output_type"] is pd.NA
    assert by_id.loc[ids[2], "created_at"] is pd.NaT
    assert by_id.loc[ids[2], "metadata"] == {"$corrupt": "metadata: not an object"}
    assert by_id.loc[ids[4], "input_type"] == "5"
    assert by_id.loc[ids[4], "step_duration_s"] != by_id.loc[ids[4], "step_duration_s"]  # NaN
    assert set(df["output_type"].dropna()) == {"StartEvent", "JokeEvent", "StopEvent"}
    assert df["edited"].tolist() == [False] * 3 + [True] * 3
    assert list(df["status"].cat.categories) == ["completed"]



async def test_a_runs_columns_read_once_per_run_give_the_frame_read_row_by_row(tmp_path):
    """The SQL store hands a run's columns once (table_split); the same frame, dtypes and
    values, as from table_rows, also with damaged run cells and for no row at all."""
    import sqlite3

    import pandas as pd

    from flowpoint.checkpoints.table import checkpoints_frame

    path = tmp_path / "runs.db"
    ckptr = WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{path}")
    for topic in "abcd":
        await ckptr.run(topic=topic)
    start = ckptr.filter_checkpoints(last_completed_step="generate_joke")[0]
    await ckptr.run_from(start, output_event=JokeEvent(joke="edited"))
    conn = sqlite3.connect(path)
    run_ids = [r[0] for r in conn.execute("SELECT run_id FROM flowpoint_runs ORDER BY rowid")]
    for column, value, run_id in (("edited", b"\x00", run_ids[0]), ("status", "failed", run_ids[1]),
                                  ("origin_checkpoint_id", 7, run_ids[2]),
                                  ("workflow", "JokeFlow", run_ids[3])):
        conn.execute(f"UPDATE flowpoint_runs SET {column} = ? WHERE run_id = ?", (value, run_id))
    ids = [r[0] for r in conn.execute("SELECT id FROM flowpoint_checkpoints ORDER BY rowid")]
    for value, cid in ((None, ids[0]), ('{"k": 1}', ids[1]), (" {}", ids[2]), (b"{}", ids[3]),
                       ("{}", ids[4])):  # metadata: missing, an object, empty ones in other forms
        conn.execute("UPDATE flowpoint_checkpoints SET metadata = ? WHERE id = ?", (value, cid))
    conn.commit()
    conn.close()
    store = ckptr.store
    assert hasattr(store, "table_split")
    for q in (ckptr.query(), ckptr.query(status="failed"), ckptr.query(run_id=run_ids[4]),
              ckptr.query(run_id="none-such")):
        by_run = checkpoints_frame(store, q)
        by_row = checkpoints_frame(store, q, limit=10**9)  # a limit reads table_rows
        pd.testing.assert_frame_equal(by_run, by_row, check_exact=True)
    df = ckptr.to_dataframe()
    assert len(df) == 13 and df["edited"].tolist().count(True) == 1
    assert list(df["status"].cat.categories) == ["completed", "failed"]
    assert set(df[df.run_id == run_ids[2]]["origin_checkpoint_id"]) == {"7"}
    meta = df.set_index("checkpoint_id")["metadata"]
    assert [meta[i] for i in ids[:5]] == [{}, {"k": 1}, {}, {}, {}]
    assert meta[ids[0]] is not meta[ids[4]]  # each row its own dict
