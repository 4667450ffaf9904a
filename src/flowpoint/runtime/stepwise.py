"""Stepwise runs (``wf.run(stepwise=True)``): the caller drives the run one round at a time.

Each ``await handler.run_step()`` runs the steps whose events have been delivered — one call
per event, up to each step's ``num_workers`` — and hands back the events they produced without
delivering them; the caller sends them on with ``handler.ctx.send_event(ev)``, as upstream.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .events import Event
from .step import StepSpec

if TYPE_CHECKING:
    from .runner import Runner


async def run_round(runner: Runner) -> list[Event] | None:
    """Run one round; the events it produced, or None once the run has ended."""
    await asyncio.sleep(0)
    if runner._done is None:  # the run's task has not started yet
        await asyncio.sleep(0)
    done = runner._done
    if done is None or done.done() or runner.finished:
        if done is not None and done.done() and done.exception() is not None:
            raise done.exception()  # type: ignore[misc]
        return None
    batch: list[tuple[StepSpec, Event]] = []
    for name, queue in runner._queues.items():
        spec = runner.steps[name]
        for _ in range(min(spec.num_workers, queue.qsize())):
            batch.append((spec, queue.get_nowait()))
            runner._queued -= 1
    helds: list[list[Event]] = [[] for _ in batch]
    await asyncio.gather(*(runner._execute(spec, runner._bind(spec), ev, held)
                           for (spec, ev), held in zip(batch, helds, strict=True)))
    if done.done() and done.exception() is not None:
        raise done.exception()  # type: ignore[misc]
    return [ev for held in helds for ev in held]
