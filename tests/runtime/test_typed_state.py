"""Typed state (``Context[MyState]``), dotted store paths and ``clear``; checkpointed, diffed and
restored like any state, and decoded only through registered models."""

from __future__ import annotations

import asyncio
import sys

import pytest
from pydantic import BaseModel, Field, ValidationError

from flowpoint import (
    Context,
    ContextSerdeError,
    DictState,
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCheckpointer,
    WorkflowRuntimeError,
    diff,
    step,
)


class Profile(BaseModel):
    name: str = Field(default="Jane")
    age: int = Field(default=25)
    tags: list[str] = Field(default_factory=list)


class Aged(Event):
    pass


class ProfileFlow(Workflow):
    @step
    async def rename(self, ctx: Context[Profile], ev: StartEvent) -> Aged:
        await ctx.store.set("name", ev.get("name", "John"))
        await ctx.store.set("age", 30)
        return Aged()

    @step
    async def birthday(self, ctx: Context[Profile], ev: Aged) -> StopEvent:
        state = await ctx.store.get_state()
        state.age += 1
        state.tags.append("older")
        await ctx.store.set_state(state)
        return StopEvent(result=state.age)


async def test_typed_state_is_created_from_defaults_and_edited_by_steps():
    handler = ProfileFlow().run()
    assert await handler == 31
    state = await handler.ctx.store.get_state()
    assert isinstance(state, Profile)
    assert state.model_dump() == {"name": "John", "age": 31, "tags": ["older"]}


async def test_a_step_reading_the_state_first_sees_the_model_defaults():
    class Reader(Workflow):
        @step
        async def read(self, ctx: Context[Profile], ev: StartEvent) -> StopEvent:
            return StopEvent(result=(await ctx.store.get_state()).model_dump())

    assert await Reader().run() == {"name": "Jane", "age": 25, "tags": []}


class Counter(BaseModel):
    val: int = 0


class Work(Event):
    pass


class Result(Event):
    pass


class Go(Event):
    pass


class LockedFlow(Workflow):
    @step
    async def init(self, ctx: Context[Counter], ev: StartEvent) -> Work | Go:
        for _ in range(10):
            ctx.send_event(Work())
        return Go()

    @step
    async def worker(self, ctx: Context[Counter], ev: Work) -> Result:
        async with ctx.store.edit_state() as state:
            state.val += 1
            await asyncio.sleep(0.005)
            if state.val % 2 == 0:
                state.val -= 1
        return Result()

    @step
    async def gather(self, ctx: Context[Counter], ev: Go | Result) -> StopEvent | None:
        if not ctx.collect_events(ev, [Result] * 10):
            return None
        return StopEvent(result=(await ctx.store.get_state()).val)


async def test_edit_state_holds_a_lock_while_steps_edit_concurrently():
    assert await LockedFlow().run() == 1


async def test_set_state_of_another_type_is_refused():
    class Flow(Workflow):
        @step
        async def go(self, ctx: Context[Profile], ev: StartEvent) -> StopEvent:
            await ctx.store.set_state(Counter())
            return StopEvent()

    with pytest.raises(ValueError, match="State must be of type Profile"):
        await Flow().run()


class Needy(BaseModel):
    required: str


async def test_a_state_model_without_defaults_fails_the_run_clearly():
    class Flow(Workflow):
        @step
        async def go(self, ctx: Context[Needy], ev: StartEvent) -> StopEvent:
            return StopEvent()

    with pytest.raises(WorkflowRuntimeError, match="defaults for all fields"):
        await Flow().run()


class Strict(BaseModel):
    model_config = {"validate_assignment": True, "strict": True}
    name: str = "x"
    age: int = 0


async def test_typed_set_validates_and_paths_go_into_the_model():
    class Flow(Workflow):
        @step
        async def go(self, ctx: Context[Strict], ev: StartEvent) -> StopEvent:
            await ctx.store.set("age", 5)
            try:
                await ctx.store.set("age", "30")
            except ValidationError:
                pass
            else:
                raise AssertionError("a str age was accepted")
            with pytest.raises(AttributeError):
                await ctx.store.set("age.nested", "x")
            return StopEvent(result=await ctx.store.get("age"))

    assert await Flow().run() == 5


async def test_dotted_paths_get_and_set_nested_values():
    class Flow(Workflow):
        @step
        async def go(self, ctx: Context, ev: StartEvent) -> StopEvent:
            await ctx.store.set("nested", {"a": "b", "items": [1, 2]})
            first = await ctx.store.get("nested.a")
            await ctx.store.set("nested.a", "c")
            await ctx.store.set("made.on.the.way", 1)
            return StopEvent(result=(first, await ctx.store.get("nested.a"),
                                     await ctx.store.get("nested.items.1"),
                                     await ctx.store.get("made"),
                                     await ctx.store.get("nested.nope", default="d")))

    handler = Flow().run()
    assert await handler == ("b", "c", 2, {"on": {"the": {"way": 1}}}, "d")
    state = await handler.ctx.store.get_state()
    assert isinstance(state, DictState) and state.nested["a"] == "c"
    with pytest.raises(ValueError, match="nested.zzz"):
        await handler.ctx.store.get("nested.zzz")


async def test_a_key_that_contains_a_dot_is_still_a_key():
    class Flow(Workflow):
        @step
        async def go(self, ctx: Context, ev: StartEvent) -> StopEvent:
            await ctx.store.set("file.txt", "plain")
            await ctx.store.set("file.txt", "again")
            return StopEvent(result=await ctx.store.get("file.txt"))

    handler = Flow().run()
    assert await handler == "again"
    assert handler.ctx.store.to_dict() == {"file": {"txt": "again"}} or \
        handler.ctx.store.to_dict() == {"file.txt": "again"}


async def test_clear_empties_the_store_or_resets_the_typed_state():
    class Flow(Workflow):
        @step
        async def go(self, ctx: Context, ev: StartEvent) -> StopEvent:
            await ctx.store.set("test_key", 42)
            await ctx.store.clear()
            return StopEvent(result=await ctx.store.get("test_key", default=None))

    assert await Flow().run() is None

    handler = ProfileFlow().run()
    await handler
    await handler.ctx.store.clear()
    assert (await handler.ctx.store.get_state()) == Profile()


async def test_typed_state_is_checkpointed_diffed_and_restored_by_run_from():
    ckptr = WorkflowCheckpointer(workflow=ProfileFlow(), store="memory")
    handler = ckptr.run(name="Ada")
    assert await handler == 31
    ckpts = ckptr.checkpoints[handler.run_id]
    steps = [c for c in ckpts if c.last_completed_step is not None]
    after_rename, after_birthday = steps[0], steps[-1]
    assert after_rename.ctx_state["store"] == {"name": "Ada", "age": 30, "tags": []}
    assert after_rename.ctx_state["state_type"].endswith("Profile")
    changed = {c.path for c in diff(after_rename, after_birthday)}
    assert any("age" in p for p in changed) and any("tags" in p for p in changed)

    resumed = ckptr.run_from(after_rename)
    assert await resumed == 31
    state = await resumed.ctx.store.get_state()
    assert isinstance(state, Profile) and state.name == "Ada" and state.tags == ["older"]


async def test_run_from_with_an_edited_typed_field_validates_it():
    ckptr = WorkflowCheckpointer(workflow=ProfileFlow(), store="memory")
    handler = ckptr.run()
    await handler
    after_rename = [c for c in ckptr.checkpoints[handler.run_id]
                    if c.last_completed_step == "rename"][0]
    resumed = ckptr.run_from(after_rename, state={"age": 40})
    assert await resumed == 41
    with pytest.raises(ContextSerdeError):
        ckptr.run_from(after_rename, state={"age": "not a number"})


async def test_snapshot_and_restore_keep_the_typed_state():
    handler = ProfileFlow().run(name="Bo")
    await handler
    snap = handler.ctx.snapshot()
    ctx = Context(ProfileFlow())
    ctx.restore(snap)
    state = await ctx.store.get_state()
    assert isinstance(state, Profile) and state.name == "Bo" and state.age == 31


def test_a_stored_state_type_is_never_imported():
    ctx = Context(None)
    assert "fp_never_imported_mod" not in sys.modules
    with pytest.raises(ContextSerdeError, match="fp_never_imported_mod.Evil"):
        ctx.restore({"store": {"x": 1}, "state_type": "fp_never_imported_mod.Evil"})
    assert "fp_never_imported_mod" not in sys.modules
