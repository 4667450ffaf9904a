"""serializer="pickle" is an explicit, warned opt-in; rows are decoded by the serializer recorded
for them, so a forged JSON row never unpickles; pickled events load when opted in."""

from __future__ import annotations

import base64
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from faults_support import sql

from flowpoint import (
    Context,
    Event,
    FlowpointError,
    StartEvent,
    StopEvent,
    UnknownEvent,
    Workflow,
    WorkflowCheckpointer,
    step,
)
from flowpoint.demo import JokeFlow


class Touch:
    """Unpickling this creates a file: the proof that stored data ran as code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (Path.touch, (self.path,))


def test_opting_in_to_pickle_warns_and_names_the_trust_it_assumes(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="runs code.*trust"):
        WorkflowCheckpointer(JokeFlow(), store="memory", serializer="pickle")


async def test_a_forged_json_row_is_never_unpickled(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'forged.db'}"
    marker = tmp_path / "pwned"
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    h = ckptr.run(topic="trust")
    await h
    target = ckptr.filter_checkpoints(run_id=h.run_id, include_start=True)[1]
    payload = base64.b64encode(pickle.dumps(Touch(marker))).decode()
    for manifest in ({"__pickle__": payload},
                     {**target.ctx_state, "store": {"x": {"__event__": "a.B", "__pickle__": payload}}}):
        sql(url, "UPDATE flowpoint_checkpoints SET state_manifest = :m WHERE id = :i",
            m=json.dumps(manifest), i=target.id_)
        sql(url, "UPDATE flowpoint_checkpoints SET output_event = :e WHERE id = :i",
            e=json.dumps({"__event__": "flowpoint.demo.JokeEvent", "__pickle__": payload}),
            i=target.id_)
        with pytest.warns(UserWarning):
            trusting = WorkflowCheckpointer(JokeFlow(), store=url, serializer="pickle")
        try:
            ckpt = trusting.get(target.id_)
            assert isinstance(ckpt.output_event, UnknownEvent)
            with pytest.raises(FlowpointError):
                trusting.run_from(ckpt)
            ckpt.user_state  # noqa: B018 - reading must not unpickle either
        finally:
            trusting.store.close()
        assert not marker.exists(), "a JSON row was unpickled"
    ckptr.store.close()


class Opaque:
    """A value JSON cannot hold (only pickle can)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.n == self.n


class Carried(Event):
    thing: Any


class PickleFlow(Workflow):
    @step
    async def make(self, ev: StartEvent, ctx: Context) -> Carried:
        return Carried(thing=Opaque(7))

    @step
    async def use(self, ev: Carried, ctx: Context) -> StopEvent:
        return StopEvent(result=ev.thing.n)


async def test_pickled_events_load_when_opted_in(tmp_path: Path) -> None:
    with pytest.warns(UserWarning):
        ckptr = WorkflowCheckpointer(PickleFlow(), store=f"sqlite:///{tmp_path / 'p.db'}",
                                     serializer="pickle")
    try:
        h = ckptr.run()
        assert await h == 7
        made = ckptr.filter_checkpoints(run_id=h.run_id, include_start=True)[1]
        assert made.serializer == "pickle"
        assert isinstance(made.output_event, Carried) and made.output_event.thing == Opaque(7)
        assert await ckptr.run_from(made) == 7
    finally:
        ckptr.store.close()
