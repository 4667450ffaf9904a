"""Listed checkpoints (built from stored rows, events parsed on first read) behave exactly as
checkpoints built from full records: attributes, events, problems, dumps, repr, immutability."""

from __future__ import annotations

import sqlite3
from typing import Any

import pydantic
import pytest

from flowpoint import WorkflowCheckpointer
from flowpoint.checkpoints.model import Checkpoint, Run
from flowpoint.demo import JokeFlow
from flowpoint.storage import CheckpointQuery, RunRecord
from flowpoint.storage.rows import record_from_values


def observed(c: Checkpoint) -> tuple[Any, ...]:
    return (c.model_dump(), repr(c), c.problems, c.is_start, c.input_event, c.output_event,
            type(c.output_event).__name__, c.metadata, c.created_at)


@pytest.fixture(params=["memory", "sqlite"])
def ckptr(request: pytest.FixtureRequest, tmp_path: Any) -> WorkflowCheckpointer:
    store = "memory" if request.param == "memory" else f"sqlite:///{tmp_path}/l.db"
    return WorkflowCheckpointer(JokeFlow(timeout=None), store=store)


async def test_listings_read_as_full_records_do(ckptr: WorkflowCheckpointer) -> None:
    for topic in ("cats", "tea"):
        await ckptr.run(topic=topic)
    listed = [c for cs in ckptr.checkpoints.values() for c in cs]
    recs = ckptr.store.list_checkpoints(CheckpointQuery(include_start=False))
    assert [observed(c) for c in listed] == [observed(Checkpoint.from_record(r)) for r in recs]
    assert len(listed) == 4 and listed[0].output_event.joke
    assert listed[0].ctx_state == ckptr.get(listed[0].id_).ctx_state  # loaded on access
    assert listed[0].user_state == ckptr.get(listed[0].id_).user_state
    found = ckptr.filter_checkpoints(last_completed_step="generate_joke")
    assert [c.id_ for c in found] == [c.id_ for c in listed if c.seq == 1]
    with pytest.raises(pydantic.ValidationError):
        found[0].seq = 5  # type: ignore[misc]


async def test_damaged_rows_show_as_damaged_in_listings(tmp_path: Any) -> None:
    path = tmp_path / "d.db"
    ckptr = WorkflowCheckpointer(JokeFlow(timeout=None), store=f"sqlite:///{path}")
    await ckptr.run(topic="x")
    ids = [c.id_ for c in ckptr.checkpoints[next(iter(ckptr.runs))]]
    conn = sqlite3.connect(path)
    conn.execute("UPDATE flowpoint_checkpoints SET output_event = '{\"type\": ', "
                 "seq = 'z', metadata = '[1]' WHERE id = ?", (ids[0],))
    conn.execute("UPDATE flowpoint_checkpoints SET input_event = '{\"__event__\": "
                 "\"antigravity.Fly\", \"data\": {}}', created_at = 'then' WHERE id = ?",
                 (ids[1],))
    conn.commit()
    conn.close()
    listed = {c.id_: c for cs in ckptr.checkpoints.values() for c in cs}
    for rec in ckptr.store.list_checkpoints(CheckpointQuery(include_start=False)):
        assert observed(listed[rec.id]) == observed(Checkpoint.from_record(rec))
    bad = listed[ids[0]]
    assert bad.seq == -1 and "seq:" in bad.metadata["$corrupt"]
    assert any(p.startswith("output event") for p in bad.problems)
    assert any("antigravity" in p for p in listed[ids[1]].problems)
    assert listed[ids[1]].created_at.timestamp() == 0.0


def test_from_row_is_from_record_of_the_row() -> None:
    row = ("c1", "r1", 3, "step", "a.In", "b.Out", '{"x": 1}', "not json", 12.5, None, "{}",
           None, "json")
    a, b = Checkpoint.from_row(row), Checkpoint.from_record(record_from_values(row))
    assert observed(a) == observed(b)
    assert a == b  # equal by value while neither has read its events, and after
    assert a.output_event is not None and a == b


def test_runs_are_the_validated_model() -> None:
    rec = RunRecord("r1", "JokeFlow", "failed", 10.0, 12.0, "c0", {"output_event": True},
                    {"type": "E", "message": "m"}, {"k": [1]}, "host:1:b", 11.0)
    run = Run.from_record(rec)
    validated = Run(**{k: getattr(run, k) for k in Run.model_fields})
    assert run == validated and run.model_dump() == validated.model_dump()
    assert run.model_fields_set == validated.model_fields_set
    assert repr(run) == repr(validated) and run.duration_s == 2.0
    assert Run.from_record(rec, status="interrupted").status == "interrupted"
    with pytest.raises(pydantic.ValidationError):
        run.status = "x"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):  # not the types a store reads: validated
        Run.from_record(RunRecord("r2", 7, "running", 1.0))  # type: ignore[arg-type]


async def test_listed_checkpoints_copy_as_before(tmp_path: Any) -> None:
    import copy

    ckptr = WorkflowCheckpointer(JokeFlow(timeout=None), store=f"sqlite:///{tmp_path}/c.db")
    await ckptr.run(topic="copy")
    listed = ckptr.filter_checkpoints(last_completed_step="generate_joke")[0]
    for twin in (copy.deepcopy(listed), listed.model_copy(deep=True), copy.copy(listed)):
        assert observed(twin) == observed(listed)
        assert twin.ctx_state == ckptr.get(listed.id_).ctx_state
