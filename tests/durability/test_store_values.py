"""ctx.store values round-trip exactly whatever their keys, and values JSON cannot hold fail the
run with an error that names the store key and the problem."""

from __future__ import annotations

from typing import Any

import pytest
from faults_support import StoreFlow

from flowpoint import (
    Context,
    SerializationError,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCheckpointer,
    step,
)

HOSTILE: dict[str, Any] = {
    "__dict__": {"a": 1},
    "__event__": "some.module.Event",
    "__tuple__": [1, 2],
    "__datetime__": "2020-01-01T00:00:00",
    "__pickle__": "gASVAAAAAAAAAACMBHRlc3SULg==",
    "$corrupt": "not damaged at all",
    "$blob": "0" * 64,
    "$chunks": ["x"],
    "$esc": {"a": 1},
    "nested": {"__dict__": {"b": 2}, "$corrupt": "x", "inner": [{"__event__": 1, "data": 2}]},
    "single": [{"__dict__": {"c": 3}}, {"$corrupt": "y"}, {"__tuple__": [4]}],
}


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "memory":
        return "memory"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'keys.db'}"
    return request.getfixturevalue("pg_url")


async def test_store_keys_named_like_codec_markers_round_trip(any_store: str) -> None:
    ckptr = WorkflowCheckpointer(StoreFlow(), store=any_store)
    try:
        h = ckptr.run(items=HOSTILE)
        assert await h == HOSTILE
        after_remember = ckptr.checkpoints[h.run_id][0]
        assert after_remember.problems == []
        assert after_remember.user_state == HOSTILE
        resumed = ckptr.run_from(after_remember)
        assert await resumed == HOSTILE
        assert ckptr.result_of(h.run_id) == HOSTILE
    finally:
        ckptr.store.close()


class BadValues(Workflow):
    """Stores a value JSON cannot hold, chosen by ``ev.kind``, under the key "value"."""

    @step
    async def keep(self, ev: StartEvent, ctx: Context) -> StopEvent:
        kind = ev.get("kind")
        if kind == "cycle":
            value: Any = []
            value.append(value)
        elif kind == "deep":
            value = []
            for _ in range(10_000):
                value = [value]
        else:
            value = 10 ** 5000
        await ctx.store.set("ok", 1)
        await ctx.store.set("value", value)
        return StopEvent(result="kept")


@pytest.mark.parametrize(("kind", "problem"), [
    ("cycle", "refers to itself"), ("deep", "nested more than"), ("huge", "digits")])
async def test_a_value_json_cannot_hold_names_its_store_key(tmp_path: Any, kind: str,
                                                            problem: str) -> None:
    ckptr = WorkflowCheckpointer(BadValues(), store=f"sqlite:///{tmp_path / 'bad.db'}")
    try:
        h = ckptr.run(kind=kind)
        with pytest.raises(SerializationError) as caught:
            await h
        message = str(caught.value)
        assert "ctx.store['value']" in message and problem in message, message
        assert len(message) < 1000
        run = ckptr.get_run(h.run_id)
        assert run.status == "failed"
        assert "ctx.store['value']" in run.error["message"]
    finally:
        ckptr.store.close()
