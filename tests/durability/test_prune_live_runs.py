"""prune(older_than=...) keeps what a live run resumes from, and says what it keeps."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from flowpoint import InputRequiredEvent, WorkflowCheckpointer
from flowpoint.demo import JokeFlow, ReviewFlow


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "memory":
        return "memory"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'prune.db'}"
    return request.getfixturevalue("pg_url")


@pytest.mark.parametrize("older_than", [dt.timedelta(0), "0s"])
async def test_prune_older_than_keeps_a_waiting_runs_newest_checkpoint(url: str,
                                                                       older_than: Any) -> None:
    ckptr = WorkflowCheckpointer(ReviewFlow(), store=url)
    jokes = WorkflowCheckpointer(JokeFlow(), store=ckptr.store)
    try:
        done = jokes.run(topic="done")
        await done
        h = ckptr.run(topic="waiting")
        async for ev in h.stream_events():
            if isinstance(ev, InputRequiredEvent):
                newest = ckptr.last_checkpoint(h.run_id)
                assert newest.seq > 0 and ckptr.runs[h.run_id].status == "waiting"
                deleted = ckptr.prune(older_than=older_than)
                kept = [c.seq for c in ckptr.filter_checkpoints(run_id=h.run_id, include_start=True)]
                assert kept == [0, newest.seq], kept
                assert [c.seq for c in jokes.filter_checkpoints(run_id=done.run_id, include_start=True)] == [0]
                assert deleted == 2  # the finished run's two step checkpoints
                ckptr.respond(h.run_id, "yes")
        assert (await h).startswith("published")
        resumed = ckptr.run_from(newest.id_)  # still there to resume from
        async for ev in resumed.stream_events():
            if isinstance(ev, InputRequiredEvent):
                ckptr.respond(resumed.run_id, "no")
        assert (await resumed).startswith("rejected")
    finally:
        ckptr.store.close()
