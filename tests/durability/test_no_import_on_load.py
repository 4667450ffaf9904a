"""Stored type names are never imported or executed: unknown types become UnknownEvent.

Reading (runs, checkpoints, get, filters, DataFrame, diff, HTML) shows a placeholder naming the
type; ``run_from`` refuses with UnknownEventType. Events of a class that only the writing process
defined are listed by any other process the same way.
"""

from __future__ import annotations

import base64
import dataclasses
import pickle
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from durability_support import every_checkpoint, run_worker

from flowpoint import (
    Event,
    StartEvent,
    StopEvent,
    UnknownEvent,
    UnknownEventType,
    Workflow,
    WorkflowCheckpointer,
    diff,
    step,
)
from flowpoint.demo import JokeFlow
from flowpoint.storage import RunRecord

NAMED_MODULES = ("antigravity", "this")


def side_effect_module(tmp_path: Path) -> tuple[str, Path]:
    """A module on sys.path whose import would write a marker file."""
    name = f"fp_sidefx_{uuid.uuid4().hex[:10]}"
    marker = tmp_path / f"{name}.imported"
    (tmp_path / f"{name}.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n"
        "from flowpoint import Event\n\nclass Evil(Event):\n    x: int = 0\n")
    return name, marker


class OpensMarker:
    """Unpickling this opens (creates) a file: proof that a pickle was loaded."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (open, (self.path, "w"))


class ReaderNote(Event):
    """The reader's own event for the step the writer's WriterOnlyEvent came from."""

    note: str


class WriterOnlyFlow(Workflow):
    """The writer's workflow as the reader defines it: same name and steps, its own events."""

    @step
    async def first(self, ev: StartEvent) -> ReaderNote:
        return ReaderNote(note="reader")

    @step
    async def second(self, ev: ReaderNote) -> StopEvent:
        return StopEvent(result=ev.note)


def ev(type_key: str, **data: Any) -> dict[str, Any]:
    return {"__event__": type_key, "data": data}


async def hostile_store(url: str, types: list[str], pickle_marker: Path) -> tuple[Any, dict]:
    """A store with one real run plus one run per hostile type, and one pickled run."""
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    h = ckptr.run(topic="real")
    await h
    real = [ckptr.store.get_checkpoint(c.id_) for c in every_checkpoint(ckptr)[h.run_id]]
    store = ckptr.store
    made: dict[str, list[str]] = {}
    for t in [*types, "pickle"]:
        run_id = f"hostile-{t}-{uuid.uuid4().hex[:6]}"
        store.put_run(RunRecord(run_id=run_id, workflow="JokeFlow", status="failed",
                                started_at=real[0].created_at, ended_at=real[-1].created_at))
        ids, parent = [], None
        for rec in real[:2]:
            cid = str(uuid.uuid4())
            if t == "pickle":
                blob = base64.b64encode(pickle.dumps(OpensMarker(str(pickle_marker)))).decode()
                out = {"__event__": "flowpoint.demo.JokeEvent", "__pickle__": blob}
                changes = dict(output_event=out, output_type="flowpoint.demo.JokeEvent",
                               ctx_state={"__pickle__": blob}, serializer="pickle")
            else:
                state = dict(rec.ctx_state)
                state["store"] = {"kept": ev(t, x=2), "plain": 1}
                state["event_log"] = [*state["event_log"], ev(t, x=3)]
                state["collect_buffers"] = {"critique_joke": {t: [ev(t, x=4)]}}
                changes = dict(output_event=ev(t, x=1), output_type=t, ctx_state=state)
                if rec.seq == 1:
                    state["queues"] = {"critique_joke": [ev(t, x=5)]}
                    changes.update(input_event=ev(t, x=0), input_type=t)
            store.put_checkpoint(dataclasses.replace(rec, id=cid, run_id=run_id, parent_id=parent,
                                                     **changes))
            ids.append(cid)
            parent = cid
        made[t] = ids
    return ckptr, made


def read_everything(ckptr: WorkflowCheckpointer, made: dict[str, list[str]]) -> list[str]:
    """Every read path a user has, on every hostile checkpoint; returns the HTML produced."""
    html = [r._repr_html_() for r in ckptr.runs.values()]
    by_run = every_checkpoint(ckptr)
    frame = ckptr.to_dataframe()
    assert len(frame) == sum(len(cs) for cs in by_run.values())
    for t, ids in made.items():
        a, b = (ckptr.get(i[:13]) for i in ids)
        assert [c.id_ for c in by_run[a.run_id]] == ids
        for c in (a, b):
            html.append(c._repr_html_())
            assert isinstance(c.output_event, UnknownEvent), (t, c.output_event)
            assert c.problems and any(c.output_event.type_key in p for p in c.problems)
            c.ctx_state, c.user_state  # noqa: B018 - loading state must not import either
        d = diff(a, b)
        html.append(d._repr_html_())
        d.to_dataframe()
        if t != "pickle":
            assert a.output_event.type_key == t and a.output_event.data == {"x": 1}
            assert t in a.output_event.reason or "no Event subclass" in a.output_event.reason
            assert type(b.input_event) is UnknownEvent and b.input_event.type_key == t
            assert isinstance(a.user_state["kept"], UnknownEvent) and a.user_state["plain"] == 1
            assert t in html[-2]  # the checkpoint's HTML names the type (escaped)
            found = ckptr.filter_checkpoints(output_event_type=t, include_start=True)
            assert sorted(c.id_ for c in found) == sorted(ids)
            rows = frame[frame["run_id"] == a.run_id]
            assert list(rows["output_type"]) == [t.rsplit(".", 1)[-1]] * 2
        else:
            assert "pickle" in a.output_event.reason
    return html


async def test_stored_type_names_are_never_imported_or_executed(
        store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mod, marker = side_effect_module(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    pickle_marker = tmp_path / "unpickled.marker"
    types = ["antigravity.Fly", "this.X", "os.system", f"{mod}.Evil", "builtins.eval"]
    for name in (*NAMED_MODULES, mod):
        assert name not in sys.modules, f"{name} was imported before the test"

    ckptr, made = await hostile_store(store_url, types, pickle_marker)
    try:
        reader = WorkflowCheckpointer(JokeFlow(), store=store_url)  # as a new session would
        html = read_everything(reader, made)
        for t, ids in made.items():
            for cid in ids:
                with pytest.raises(UnknownEventType) as err:
                    reader.run_from(cid)
                assert (t if t != "pickle" else "pickle") in str(err.value)
        assert all("<script" not in h.lower() for h in html)
    finally:
        ckptr.store.close()
    for name in (*NAMED_MODULES, mod):
        assert name not in sys.modules, f"reading the store imported {name}"
    assert not marker.exists(), "reading the store executed a module named in it"
    assert not pickle_marker.exists(), "reading the store unpickled a payload"
    assert {r.status for r in reader.runs.values()} == {"completed", "failed"}
    reader.store.close()


@pytest.mark.slow
async def test_events_of_a_class_only_the_writer_defined_are_listed_as_unknown(
        store_url: str, tmp_path: Path) -> None:
    (written,) = run_worker("writer_only", store_url, cwd=tmp_path)
    key = written["key"]
    assert key == "__main__.WriterOnlyEvent"
    assert not hasattr(sys.modules["__main__"], "WriterOnlyEvent")
    ckptr = WorkflowCheckpointer(WriterOnlyFlow(), store=store_url)
    try:
        run_id = written["run_id"]
        assert ckptr.runs[run_id].status == "completed"
        assert ckptr.runs[run_id].result == written["result"] == "made here: secrets"
        start, first, second = every_checkpoint(ckptr)[run_id]
        assert type(first.output_event) is UnknownEvent and first.output_event.type_key == key
        assert first.output_event.data == {"note": "made here: secrets"}
        assert type(second.input_event) is UnknownEvent and second.input_event.type_key == key
        assert first.problems and key in first.problems[0]
        assert [c.id_ for c in ckptr.filter_checkpoints(output_event_type="WriterOnlyEvent")] \
            == [first.id_]
        frame = ckptr.to_dataframe(run_id=run_id)
        assert list(frame["output_type"]) == ["StartEvent", "WriterOnlyEvent", "StopEvent"]
        assert key in first._repr_html_() and len(diff(first, second).changes) > 0
        with pytest.raises(UnknownEventType, match="WriterOnlyEvent"):
            ckptr.run_from(first)
    finally:
        ckptr.store.close()
