"""Contract tests: the llama-index-workflows internals the adapter relies on.

They fail loudly (naming what changed) when an upstream release moves them; the supported range
in flowpoint/adapters/llamaindex/version.py must then be revisited, not widened blindly.
"""

from __future__ import annotations

import dataclasses
import inspect

from li_flows import FanFlow, JokeFlow
from workflows.context import Context
from workflows.context.context_types import SerializedContext
from workflows.context.serializers import JsonSerializer
from workflows.context.state_store import InMemoryStateStore
from workflows.plugins.basic import BasicRuntime
from workflows.runtime.control_loop import runner as control_loop
from workflows.runtime.runtime_decorators import (
    BaseInternalRunAdapterDecorator,
    BaseRuntimeDecorator,
)
from workflows.runtime.types.internal_state import BrokerState
from workflows.runtime.types.named_task import PendingWorker
from workflows.runtime.types.results import AddWaiter, StepWorkerResult
from workflows.runtime.types.ticks import TickAddEvent, TickStepResult

from flowpoint import WorkflowCheckpointer
from flowpoint.adapters.llamaindex import check_version, installed_version
from flowpoint.adapters.llamaindex.runtime import RunWatch


def test_the_installed_version_is_in_the_supported_range():
    assert check_version() == installed_version()


def test_on_tick_fires_after_the_reduce_and_before_the_commands_run():
    source = inspect.getsource(control_loop._ControlLoopRunner._process_tick)
    reduce_at = source.index("_reduce_tick(")
    tick_at = source.index("await self.adapter.on_tick(tick)")
    commands_at = source.index("self.process_command(")
    assert reduce_at < tick_at < commands_at


def test_the_control_loop_keeps_its_state_where_the_adapter_reads_it():
    init = inspect.getsource(control_loop._ControlLoopRunner.__init__)
    assert "self.state = init_state" in init
    assert "self.state, commands = _reduce_tick(" in inspect.getsource(
        control_loop._ControlLoopRunner._process_tick)


def test_decorator_hooks_and_the_snapshot_format_exist_as_used():
    for cls, name in ((BaseInternalRunAdapterDecorator, "on_tick"),
                      (BaseInternalRunAdapterDecorator, "wait_for_next_task"),
                      (BaseRuntimeDecorator, "get_internal_adapter")):
        assert callable(getattr(cls, name, None)), f"{cls.__name__}.{name} is gone"
    assert callable(BasicRuntime.get_external_adapter)
    assert callable(BrokerState.to_serialized)
    assert "deliveries" in {f.name for f in dataclasses.fields(BrokerState)}
    assert "deliveries" in SerializedContext.model_fields
    assert {"serializer"} <= set(inspect.signature(Context.from_dict).parameters)
    assert {"step_id", "worker_id"} <= {f.name for f in dataclasses.fields(PendingWorker)}
    assert {"step_id", "worker_id", "event", "result"} <= set(TickStepResult.model_fields)
    assert {"event", "step_id"} <= set(TickAddEvent.model_fields)
    assert "result" in StepWorkerResult.model_fields
    assert "waiter_event" in AddWaiter.model_fields
    assert "allowed_types" in inspect.signature(JsonSerializer).parameters
    assert callable(InMemoryStateStore.checkpoint)
    for name in ("_switch_runtime", "_get_steps", "_step_configs", "_validate",
                 "_get_start_event_instance"):
        assert callable(getattr(JokeFlow, name, None)), f"Workflow.{name} is gone"
    assert isinstance(JokeFlow()._runtime_locked, bool), "Workflow._runtime_locked is gone"
    runtime = BasicRuntime()
    assert BaseRuntimeDecorator(runtime)._decorated is runtime  # what basic_runtime_of walks


def test_a_context_holds_its_pre_run_state_in_the_face_a_run_starts_from():
    from workflows.context.pre_context import PreContext

    assert isinstance(Context(JokeFlow())._face, PreContext)  # what run_from(ctx=) replaces
    run = inspect.getsource(Context._workflow_run)
    assert "isinstance(self._face, PreContext)" in run and "pre = self._face" in run


async def test_the_watch_reaches_the_control_loop_state_during_a_run(monkeypatch):
    seen: list[bool] = []
    original = RunWatch.snapshot

    def spy(self, encode, output):
        seen.append(self.broker() is not None)
        return original(self, encode, output)

    monkeypatch.setattr(RunWatch, "snapshot", spy)
    ckptr = WorkflowCheckpointer(workflow=FanFlow(timeout=30), store="memory")
    await ckptr.run(count=3)
    assert seen and all(seen)
