"""What users give and get back stays consistent: a run's end is always recorded, edits keep an
event's extra fields, tables say which runs were edited, ids and ages are read as users write
them, and a checkpointer that fails to open leaves no connection behind."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from flowpoint import (
    CheckpointNotFound,
    Context,
    Event,
    InvalidEdit,
    RunNotCompleted,
    StartEvent,
    StepNotInWorkflow,
    StopEvent,
    Workflow,
    WorkflowCheckpointer,
    step,
)
from flowpoint.demo import JokeFlow


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ itself fails")


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("__repr__ itself fails")


class Ends(Workflow):
    @step
    async def go(self, ev: StartEvent, ctx: Context) -> StopEvent:
        if ev.get("how") == "raise":
            raise Unprintable()
        return StopEvent(result=BadRepr())


@pytest.fixture(params=["memory", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory" if request.param == "memory" else f"sqlite:///{tmp_path / 'users.db'}"


async def test_an_error_whose_str_raises_is_recorded_and_stays_the_runs_error(url: str) -> None:
    ckptr = WorkflowCheckpointer(Ends(), store=url)
    h = ckptr.run(how="raise")
    with pytest.raises(Unprintable):
        await h
    run = ckptr.get_run(h.run_id)
    assert run.status == "failed" and run.error["type"] == "Unprintable"
    assert "text unavailable" in run.error["message"]


async def test_a_result_whose_repr_raises_still_completes_the_run(url: str) -> None:
    ckptr = WorkflowCheckpointer(Ends(), store=url, checkpoint_steps=[])
    h = ckptr.run(how="return")
    assert isinstance(await h, BadRepr)
    assert ckptr.get_run(h.run_id).status == "completed"


class Draft(Event):
    text: str


class Drafting(Workflow):
    @step
    async def write(self, ev: StartEvent, ctx: Context) -> Draft:
        return Draft(text="first", score=3)

    @step
    async def publish(self, ev: Draft, ctx: Context) -> StopEvent:
        return StopEvent(result={"text": ev.text, "score": ev.get("score")})


async def test_an_output_event_with_extra_fields_can_be_edited(url: str) -> None:
    ckptr = WorkflowCheckpointer(Drafting(), store=url)
    h = ckptr.run()
    assert await h == {"text": "first", "score": 3}
    ckpt = ckptr.filter_checkpoints(run_id=h.run_id, include_start=True)[1]
    assert await ckptr.run_from(ckpt, output_event={"text": "second"}) == {"text": "second",
                                                                            "score": 3}
    assert await ckptr.run_from(ckpt, output_event={"score": 4}) == {"text": "first", "score": 4}
    assert await ckptr.run_from(ckpt, output_event=Draft(text="t", score=5, more=1)) == {
        "text": "t", "score": 5}
    with pytest.raises(InvalidEdit, match="nope"):
        ckptr.run_from(ckpt, output_event={"nope": 1})


async def test_the_explorers_edit_form_resumes_an_event_with_extra_fields(url: str) -> None:
    from flowpoint.notebook.explorer.forms import EditForm

    ckptr = WorkflowCheckpointer(Drafting(), store=url)
    h = ckptr.run()
    await h
    ckpt = ckptr.filter_checkpoints(run_id=h.run_id, include_start=True)[1]
    form = EditForm()
    form.load(ckpt.output_event)
    assert set(form.widgets) == {"text", "score"}
    form.widgets["text"].value = "edited"
    assert await ckptr.run_from(ckpt, output_event=form.edits()) == {"text": "edited",
                                                                      "score": 3}


async def test_the_edited_column_is_true_only_for_edited_runs(url: str) -> None:
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    plain = ckptr.run(topic="plain")
    await plain
    start = ckptr.filter_checkpoints(run_id=plain.run_id, include_start=True)[0]
    edited = ckptr.run_from(start, topic="edited")
    await edited
    again = ckptr.run(topic="again")
    await again
    frame = ckptr.to_dataframe()
    by_run = frame.groupby("run_id")["edited"].agg(set).to_dict()
    assert by_run == {plain.run_id: {False}, edited.run_id: {True}, again.run_id: {False}}


class Said(Event):
    words: str


class Speaks(Workflow):
    @step
    async def say(self, ev: StartEvent, ctx: Context) -> Said:
        return Said(words=ev.get("words"))

    @step
    async def end(self, ev: Said, ctx: Context) -> StopEvent:
        return StopEvent(result=ev.words)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def any_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "memory":
        return "memory"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'search.db'}"
    return request.getfixturevalue("pg_url")


async def test_text_search_ignores_case_beyond_ascii(any_url: str) -> None:
    ckptr = WorkflowCheckpointer(Speaks(), store=any_url)
    try:
        h = ckptr.run(words="Über Größe ÉTÉ")
        await h
        for needle in ("über", "ÜBER", "größe", "été", "Été"):
            found = ckptr.filter_checkpoints(text=needle)
            assert {c.run_id for c in found} == {h.run_id}, needle
            assert set(ckptr.to_dataframe(text=needle)["run_id"]) == {h.run_id}, needle
        assert ckptr.filter_checkpoints(text="uber") == []
    finally:
        ckptr.store.close()


async def test_ids_and_prefixes_are_read_as_users_write_them(url: str) -> None:
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    first, second = ckptr.run(topic="a"), None
    await first
    second = ckptr.run(topic="b")
    await second
    ckpt = ckptr.filter_checkpoints(run_id=first.run_id, include_start=True)[1]
    assert ckptr.get(ckpt.id_.upper()).id_ == ckpt.id_
    assert ckptr.get(ckpt.id_[:8].upper()).id_ == ckpt.id_
    assert ckptr.get_run(first.run_id.upper()).run_id == first.run_id
    assert ckptr.last_checkpoint(first.run_id[:8]).seq == 2
    assert ckptr.last_checkpoint(first.run_id[:8].upper()).seq == 2
    with pytest.raises(CheckpointNotFound):
        ckptr.delete_runs(["ffffffff-not-a-run"])
    assert len(ckptr.runs) == 2
    assert ckptr.delete_runs([first.run_id[:8]]) == 3
    assert list(ckptr.runs) == [second.run_id]


async def test_prune_takes_ages_as_text_and_says_which_forms(url: str) -> None:
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    h = ckptr.run(topic="old")
    await h
    assert ckptr.prune(older_than="7d") == 0
    assert ckptr.prune(older_than="0s") == 2
    with pytest.raises(ValueError, match="'7d'"):
        ckptr.prune(older_than="a week")
    with pytest.raises(ValueError, match="timedelta"):
        ckptr.prune(older_than=[1])
    assert ckptr.prune(older_than=dt.timedelta(days=1)) == 0


async def test_result_of_a_failed_run_says_it_failed(url: str) -> None:
    ckptr = WorkflowCheckpointer(Ends(), store=url)
    h = ckptr.run(how="raise")
    with pytest.raises(Unprintable):
        await h
    with pytest.raises(RunNotCompleted, match="failed.*Unprintable"):
        ckptr.result_of(h.run_id)


def _open_files(path: Path) -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(path)):
            out.append(target)
    return out


def test_a_checkpointer_that_fails_to_open_leaves_no_connection(tmp_path: Path) -> None:
    path = tmp_path / "closed.db"
    WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{path}").store.close()
    assert _open_files(path) == []
    with pytest.raises(StepNotInWorkflow):
        WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{path}", checkpoint_steps=["nope"])
    with pytest.raises(ValueError, match="serializer"):
        WorkflowCheckpointer(JokeFlow(), store=f"sqlite:///{path}", serializer="yaml")
    assert _open_files(path) == []
