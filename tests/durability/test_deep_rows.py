"""One row nested absurdly deep never breaks a listing: it is shown as damaged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from faults_support import sql

from flowpoint import UnknownEvent, WorkflowCheckpointer
from flowpoint.demo import JokeFlow


def _deep_json(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def _at_depth(frames: int, call: Callable[[], Any]) -> Any:
    """``call()`` from ``frames`` Python frames deeper than here (a caller with a deep stack)."""
    if frames <= 0:
        return call()
    return _at_depth(frames - 1, call)


async def test_a_forged_deep_result_is_shown_as_damaged_in_every_listing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deep.db'}"
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    try:
        good, bad = ckptr.run(topic="good"), None
        await good
        bad = ckptr.run(topic="bad")
        await bad
        sql(url, "UPDATE flowpoint_runs SET result = :r WHERE run_id = :i", r=_deep_json(700),
            i=bad.run_id)
        for frames in (0, 300, 600):
            runs = _at_depth(frames, lambda: ckptr.runs)
            assert runs[good.run_id].result is not None and "$corrupt" not in str(
                runs[good.run_id].result)
            assert "$corrupt" in runs[bad.run_id].result
            assert "$corrupt" in _at_depth(frames, lambda: ckptr.get_run(bad.run_id)).result
            frame = _at_depth(frames, ckptr.to_dataframe)
            assert len(frame) == 6
    finally:
        ckptr.store.close()


async def test_a_forged_deep_event_reads_as_unknown(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deep-event.db'}"
    ckptr = WorkflowCheckpointer(JokeFlow(), store=url)
    try:
        h = ckptr.run(topic="deep")
        await h
        target = ckptr.filter_checkpoints(run_id=h.run_id, include_start=True)[1]
        event = '{"__event__":"flowpoint.demo.JokeEvent","data":{"joke":' + _deep_json(700) + "}}"
        sql(url, "UPDATE flowpoint_checkpoints SET output_event = :e WHERE id = :i", e=event,
            i=target.id_)
        for frames in (0, 500):
            ckpt = _at_depth(frames, lambda: ckptr.get(target.id_))
            assert isinstance(ckpt.output_event, UnknownEvent)
            assert len(_at_depth(frames, lambda: ckptr.filter_checkpoints(run_id=h.run_id, include_start=True))) == 3
            assert ckpt.problems
    finally:
        ckptr.store.close()


async def test_a_real_deep_result_fails_its_run_clearly_and_listing_works(tmp_path: Path) -> None:
    from flowpoint import Context, SerializationError, StartEvent, StopEvent, Workflow, step

    class Deep(Workflow):
        @step
        async def go(self, ev: StartEvent, ctx: Context) -> StopEvent:
            value: Any = "bottom"
            for _ in range(480):
                value = {"a": value}
            return StopEvent(result=value)

    ckptr = WorkflowCheckpointer(Deep(), store=f"sqlite:///{tmp_path / 'real.db'}")
    try:
        h = ckptr.run()
        with pytest.raises(SerializationError, match="nested more than 100 levels"):
            await h
        for frames in (0, 600):
            run = _at_depth(frames, lambda: ckptr.runs[h.run_id])
            assert run.status == "failed" and "nested more than" in run.error["message"]
    finally:
        ckptr.store.close()
