"""The driver seam: a checkpointer runs any workflow object a registered driver serves."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from flowpoint import UnsupportedWorkflow, WorkflowCheckpointer
from flowpoint.checkpoints import drivers
from flowpoint.checkpoints.drivers import NativeDriver, Resume, driver_for, register_driver
from flowpoint.demo import JokeFlow


class Chain:
    """A toy runtime: named functions applied in order to a number."""

    def __init__(self, *names: str) -> None:
        self.names = list(names)


class Value:
    def __init__(self, n: int) -> None:
        self.n = n


class ChainDriver:
    native = False

    def __init__(self, chain: Chain) -> None:
        self.workflow = chain
        self.ran: list[str] = []

    @property
    def name(self) -> str:
        return "Chain"

    def steps(self) -> list[str]:
        return self.workflow.names

    def _launch(self, first: int, start_at: int):
        async def go(run_id: str, recorder: Any) -> int:
            n = first
            for name in self.workflow.names[start_at:]:
                self.ran.append(name)
                out = Value(n + 1)
                recorder.record(name, Value(n), out, 0.0, {}, lambda _ev, v=out.n: {"n": v})
                n = out.n
            recorder.on_status(None, "completed", result=n)
            return n

        return lambda run_id, recorder: asyncio.get_running_loop().create_task(
            go(run_id, recorder))

    def start(self, *, ctx: Any, start_event: Any, kwargs: dict[str, Any]):
        return self._launch(int(kwargs["n"]), 0)

    def resume(self, ckpt, *, output_event, state, kwargs, codec) -> Resume:
        n = output_event if output_event is not None else ckpt.ctx_state["n"]
        at = self.workflow.names.index(ckpt.last_completed_step) + 1
        return Resume(self._launch(n, at), ckpt.seq + 1,
                      {"output_event": n} if output_event is not None else None)

    def encode_event(self, event: Value) -> int:
        return event.n

    def event_type(self, cls: type) -> str:
        return f"chain.{cls.__name__}"

    def decode_event(self, data: Any) -> Any:
        return None if data is None else Value(data)

    def human_response(self, response: str) -> Any:
        return response

    def send_event(self, handler: Any, event: Any) -> None:
        raise AssertionError("not used")

    def store_for(self, given: Any) -> Any:
        return given if given is not None else "memory"


@pytest.fixture
def chain_driver(monkeypatch):
    monkeypatch.setattr(drivers, "_DRIVERS", list(drivers._DRIVERS))
    made: list[ChainDriver] = []

    def factory(obj: Chain) -> ChainDriver:
        made.append(ChainDriver(obj))
        return made[-1]

    register_driver(lambda obj: isinstance(obj, Chain), factory)
    return made


async def test_a_registered_driver_runs_records_and_resumes(chain_driver):
    ckptr = WorkflowCheckpointer(workflow=Chain("a", "b", "c"))
    assert ckptr.store.url.startswith("memory")
    handler = ckptr.run(n=1)
    assert await handler == 4
    run_id = next(iter(ckptr.runs))
    assert ckptr.get_run(run_id).workflow == "Chain"
    assert ckptr.get_run(run_id).status == "completed"
    ckpts = [c for c in ckptr.filter_checkpoints(run_id=run_id) if not c.is_start]
    assert [c.last_completed_step for c in ckpts] == ["a", "b", "c"]
    assert [c.output_event.n for c in ckpts] == [2, 3, 4]  # decoded by the driver
    assert ckpts[0].output_type == "chain.Value"
    assert len(ckptr.filter_checkpoints(output_event_type="chain.Value")) == 3

    ckptr.workflow = Chain("a", "b", "c")
    resumed = ckptr.run_from(ckpts[0], output_event=10)
    assert await resumed == 12
    assert chain_driver[-1].ran == ["b", "c"]
    new_run = ckptr.get_run(next(reversed(ckptr.runs)))
    assert new_run.origin_checkpoint_id == ckpts[0].id_
    assert new_run.edited == {"output_event": 10}


def test_steps_are_checked_against_the_driver(chain_driver):
    from flowpoint import StepNotInWorkflow

    with pytest.raises(StepNotInWorkflow, match="Chain has no step 'z'"):
        WorkflowCheckpointer(workflow=Chain("a"), checkpoint_steps=["z"])


def test_flowpoint_workflows_get_the_native_driver():
    assert isinstance(driver_for(JokeFlow()), NativeDriver)


def test_an_object_no_driver_serves_is_refused_naming_what_would_work():
    with pytest.raises(UnsupportedWorkflow, match="builtins.dict.*flowpoint Workflow.*2.x"):
        WorkflowCheckpointer(workflow={"not": "a workflow"}, store="memory")
