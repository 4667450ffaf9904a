"""Shared pieces of the fault and forged-data tests: a small workflow and raw SQL on a store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, text

from flowpoint import Context, Event, StartEvent, StopEvent, Workflow, step


class Noted(Event):
    """The value the first step stored."""

    note: str


class NoteFlow(Workflow):
    """Stores ``ev.value`` under ``ev.key`` (default "big") then returns what the store holds."""

    @step
    async def remember(self, ev: StartEvent, ctx: Context) -> Noted:
        await ctx.store.set(ev.get("key", "big"), ev.get("value"))
        return Noted(note="stored")

    @step
    async def answer(self, ev: Noted, ctx: Context) -> StopEvent:
        return StopEvent(result=await ctx.store.get(ev.get("key", "big"), None))


class StoreFlow(Workflow):
    """Copies every field of the StartEvent into ctx.store, then returns the whole store."""

    @step
    async def remember(self, ev: StartEvent, ctx: Context) -> Noted:
        for key, value in (ev.get("items") or {}).items():
            await ctx.store.set(key, value)
        return Noted(note="stored")

    @step
    async def answer(self, ev: Noted, ctx: Context) -> StopEvent:
        return StopEvent(result=ctx.store.to_dict())


def sql(url: str, statement: str, **params: Any) -> list[Any]:
    """Run one statement on the store's database in its own transaction; the rows it returned."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()
