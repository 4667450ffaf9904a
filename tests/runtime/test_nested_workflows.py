"""Nested workflows as injected services: a step parameter typed with another Workflow."""

from __future__ import annotations

import pytest

from flowpoint import (
    Context,
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowValidationError,
    step,
)


class Answer(Workflow):
    """Knows only how to produce a number."""

    def __init__(self, the_answer: int = 42, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(**kwargs)
        self.the_answer = the_answer

    @step
    async def generate(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=self.the_answer)


DEFAULT_ANSWER = Answer()


class Number(Event):
    num: int


class Caller(Workflow):
    @step
    async def get_a_number(self, ev: StartEvent, ctx: Context,
                           service_workflow: Answer = DEFAULT_ANSWER) -> Number:
        return Number(num=int(await service_workflow.run()))

    @step
    async def multiply(self, ev: Number) -> StopEvent:
        return StopEvent(ev.num * 2)


async def test_an_added_workflow_is_passed_to_the_step_by_parameter_name():
    wf = Caller()
    wf.add_workflows(service_workflow=Answer(the_answer=1337))
    assert await wf.run() == 2674


async def test_the_parameter_default_is_used_when_nothing_was_added():
    assert await Caller().run() == 84


async def test_a_required_nested_workflow_that_was_not_added_is_reported():
    class Needs(Workflow):
        @step
        async def go(self, ev: StartEvent, my_service: Answer) -> StopEvent:
            return StopEvent(result=await my_service.run())

    wf = Needs()
    with pytest.raises(WorkflowValidationError,
                       match="The following services are not available: my_service"):
        wf.run()
    wf.add_workflows(my_service=Answer(the_answer=7))
    assert await wf.run() == 7


def test_add_workflows_takes_workflow_instances_only():
    with pytest.raises(WorkflowValidationError, match="needs a Workflow instance"):
        Caller().add_workflows(service_workflow="nope")  # type: ignore[arg-type]
