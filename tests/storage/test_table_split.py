"""The SQL store's table_split (each run's columns once; the checkpoints read without the join
where that reads less) gives the frame table_rows gives, in table order, on SQLite and
PostgreSQL: runs written interleaved, equal start times, run filters keeping many or few."""

from __future__ import annotations

import pandas as pd
import pytest
from storage_helpers import make_ckpt, make_run, raw_execute

from flowpoint.checkpoints.table import checkpoints_frame
from flowpoint.storage import CheckpointQuery, SQLStore, sqlreads

T0 = 1_700_000_000.0


def _fill(store: SQLStore) -> list[str]:
    """40 runs of two workflows, every second pair starting at the same time, whose
    checkpoints are written a seq at a time across all runs (newest run first for odd seqs):
    storage order is far from table order. Returns the run ids in write order."""
    ids = [f"run-{(i * 17) % 40:02d}" for i in range(40)]  # id order is not write order
    for i, run_id in enumerate(ids):
        store.put_run(make_run(run_id, started_at=T0 + i // 2 * 2,
                               workflow="Other" if i % 5 == 0 else "JokeFlow",
                               status="failed" if i % 7 == 3 else "completed",
                               origin_checkpoint_id="x" if i % 9 == 1 else None,
                               edited={"k": 1} if i % 9 == 1 else None))
    for seq in range(4):
        for run_id in ids if seq % 2 == 0 else ids[::-1]:
            if seq < 3 or run_id[-1] != "3":  # some runs end early
                store.put_checkpoint(make_ckpt(
                    run_id, seq, created_at=T0 + seq + int(run_id[-2:]) / 100,
                    metadata={"n": seq} if seq == 2 else {},
                    step_duration_s=None if seq == 0 else seq / 10))
    return ids


def _queries(ids: list[str]) -> list[CheckpointQuery]:
    return [CheckpointQuery(), CheckpointQuery(workflows=("JokeFlow",)),
            CheckpointQuery(workflows=("Other",)), CheckpointQuery(statuses=("failed",)),
            CheckpointQuery(run_ids=tuple(ids[3:9])),
            CheckpointQuery(run_ids=tuple(ids[3:9]), statuses=("completed",)),
            CheckpointQuery(steps=("step_2",), workflows=("JokeFlow",)),
            CheckpointQuery(created_after=T0 + 1.2), CheckpointQuery(include_start=False),
            CheckpointQuery(descending=True), CheckpointQuery(text="run-1"),
            CheckpointQuery(sort="created_at"), CheckpointQuery(statuses=("none-such",)),
            CheckpointQuery(workflows=("Other",), created_after=T0 + 9)]


def _same_frames(store: SQLStore, queries: list[CheckpointQuery]) -> set[bool]:
    """Each query's frame from table_split equals the one from table_rows (exactly, in the
    same order); the ``ordered`` flags table_split gave."""
    flags = set()
    for q in queries:
        by_run = checkpoints_frame(store, q)
        by_row = checkpoints_frame(store, q, limit=10**9)  # a limit reads table_rows
        pd.testing.assert_frame_equal(by_run, by_row, check_exact=True)
        assert list(by_run["checkpoint_id"]) == [r[0] for r in store.table_rows(q)]
        flags.add(store.table_split(q)[2])
    return flags


@pytest.mark.parametrize("batch", [500, 4])  # 4: a run filter keeping 8 runs is "many"
def test_table_split_frames_equal_table_rows_frames(sql_url, monkeypatch, batch):
    monkeypatch.setattr(sqlreads, "_BATCH", batch)
    store = SQLStore(sql_url)
    try:
        ids = _fill(store)
        q = CheckpointQuery(workflows=("JokeFlow",))
        rows, runs, ordered = store.table_split(q)
        # batch 4: all rows read, those of the 8 "Other" runs dropped by the frame
        assert not ordered and len(rows) == (124 if batch == 500 else 156) and len(runs) == 32
        assert [r[0] for r in runs] == list(dict.fromkeys(r[1] for r in store.table_rows(q)))
        assert _same_frames(store, _queries(ids)) == {False, True}
        frame = checkpoints_frame(store, CheckpointQuery())
        assert len(frame) == 156 and frame["edited"].sum() == 5 * 4 - 1
        assert list(frame["status"].cat.categories) == ["completed", "failed"]
        only_failed = checkpoints_frame(store, CheckpointQuery(statuses=("failed",)))
        assert list(only_failed["status"].cat.categories) == ["failed"]
    finally:
        store.close()


def test_rows_without_run_and_odd_seqs_give_the_frame_table_rows_gives(sqlite_url):
    """SQLite keeps what it is given: a checkpoint whose run is gone is left out as the join
    leaves it out, and seqs that are not integers (ordered by type first) are read in the
    store's order."""
    store = SQLStore(sqlite_url)
    try:
        ids = _fill(store)
        queries = _queries(ids)
        raw_execute(sqlite_url, "PRAGMA foreign_keys = OFF",
                    f"DELETE FROM flowpoint_runs WHERE run_id = '{ids[7]}'")
        assert _same_frames(store, queries) == {False, True}
        raw_execute(sqlite_url, "UPDATE flowpoint_checkpoints SET seq = 'x' "
                    f"WHERE run_id = '{ids[2]}' AND seq = 1")
        assert _same_frames(store, queries) == {False, True}  # False: the few-runs queries
        raw_execute(sqlite_url, "UPDATE flowpoint_checkpoints SET seq = 2.5 "
                    f"WHERE run_id = '{ids[4]}' AND seq = 2")
        assert _same_frames(store, queries[:1]) == {False}
        assert (checkpoints_frame(store, CheckpointQuery())["seq"] == -1).sum() == 2  # 'x', 2.5
        one = CheckpointQuery(run_ids=[ids[4]])
        assert sorted(checkpoints_frame(store, one)["seq"]) == sorted(
            r.seq for r in store.list_checkpoints(one)) == [-1, 0, 1, 3]  # as records read them
        raw_execute(sqlite_url, "UPDATE flowpoint_checkpoints SET seq = 2 WHERE seq = 2.5",
                    "UPDATE flowpoint_checkpoints SET seq = 1 WHERE seq = 'x'",
                    "UPDATE flowpoint_checkpoints SET seq = -9223372036854775808 "
                    f"WHERE run_id = '{ids[5]}' AND seq = 3",
                    f"UPDATE flowpoint_checkpoints SET seq = {2**53} "
                    f"WHERE run_id = '{ids[6]}' AND seq = 3")
        assert _same_frames(store, queries) == {False, True}  # integers again, some huge
        seqs = checkpoints_frame(store, CheckpointQuery())["seq"]
        assert (seqs == -1).sum() == 2 and seqs.max() == 3
    finally:
        store.close()
