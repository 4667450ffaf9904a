"""A workflow or step defined wrongly is reported when it is defined or constructed."""

from __future__ import annotations

import pytest

from flowpoint import (
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowConfigurationError,
    WorkflowValidationError,
    step,
)


class OneEvent(Event):
    pass


class MyStart(StartEvent):
    query: str


class MyStop(StopEvent):
    outcome: str


def test_step_applied_to_a_function_without_event_parameter_fails_at_once():
    def f() -> None:
        pass

    with pytest.raises(WorkflowValidationError, match="takes no parameters|no event parameter"):
        step()(f)


def test_free_function_without_workflow_argument_fails_at_definition():
    with pytest.raises(WorkflowValidationError,
                       match="To decorate f please pass a workflow class to the @step decorator"):
        @step
        def f(ev: Event) -> Event:
            return Event()


def test_free_function_with_a_taken_step_name_fails_at_definition():
    class Flow(Workflow):
        @step
        async def foo_step(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

    with pytest.raises(WorkflowValidationError,
                       match="A step foo_step is already part of this workflow"):
        @step(workflow=Flow)
        async def foo_step(ev: OneEvent) -> StopEvent:
            return StopEvent()


def test_a_step_that_accepts_stop_event_fails_at_definition():
    with pytest.raises(WorkflowValidationError, match="Step 'bad_step' cannot accept StopEvent"):
        class Flow(Workflow):
            @step
            async def bad_step(self, ev: StopEvent) -> StopEvent:
                return StopEvent()


def test_num_workers_must_be_a_positive_integer():
    for bad in (0, 0.5, -1):
        with pytest.raises(WorkflowValidationError, match="num_workers must be an integer"):
            step(num_workers=bad)  # type: ignore[arg-type]


def test_add_step_needs_the_step_decorator():
    class Flow(Workflow):
        @step
        async def go(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

    async def another_step(ev: OneEvent) -> StopEvent:
        return StopEvent()

    with pytest.raises(WorkflowValidationError, match="another_step.*missing the `@step`"):
        Flow.add_step(another_step)


def test_no_step_returning_a_stop_event_is_a_configuration_error():
    class NoStop(Workflow):
        @step
        async def go(self, ev: StartEvent) -> None:
            return None

    with pytest.raises(WorkflowConfigurationError,
                       match="At least one Event of type StopEvent must be returned"):
        NoStop()


def test_two_start_or_two_stop_types_are_configuration_errors():
    class TwoStarts(Workflow):
        @step
        def one(self, ev: MyStart) -> None:
            pass

        @step
        def two(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

    with pytest.raises(WorkflowConfigurationError, match="Only one type of StartEvent"):
        TwoStarts()

    class TwoStops(Workflow):
        @step
        def one(self, ev: MyStart) -> MyStop:
            return MyStop(outcome="x")

        @step
        def two(self, ev: MyStart) -> StopEvent:
            return StopEvent()

    with pytest.raises(WorkflowConfigurationError, match="Only one type of StopEvent"):
        TwoStops()


def test_configuration_errors_are_validation_errors_too():
    assert issubclass(WorkflowConfigurationError, WorkflowValidationError)


async def test_decorating_a_free_function_onto_a_workflow_does_not_break_its_runs():
    class Flow(Workflow):
        @step
        async def start(self, ev: StartEvent) -> OneEvent:
            return OneEvent()

        @step
        async def end(self, ev: OneEvent) -> StopEvent:
            return StopEvent(result="done")

    assert await Flow().run() == "done"

    def f(self, ev: Event) -> Event:  # type: ignore[no-untyped-def]
        return Event()

    step(workflow=Flow)(f)
    assert "f" in Flow().steps()
    assert await Flow().run() == "done"
    assert await Flow().run() == "done"


def test_running_a_cell_again_redefines_its_free_step():
    class Flow(Workflow):
        @step
        async def start(self, ev: StartEvent) -> OneEvent:
            return OneEvent()

    def define() -> None:
        @step(workflow=Flow)
        async def finish(ev: OneEvent) -> StopEvent:
            return StopEvent()

    define()
    define()
    assert sorted(Flow().steps()) == ["finish", "start"]
