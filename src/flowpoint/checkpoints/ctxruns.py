"""Which runs used which `Context`: what ``ctx.checkpoints`` lists (the older LlamaIndex API)."""

from __future__ import annotations

import weakref
from typing import Any

from ..runtime.context import Context

_RUNS: weakref.WeakKeyDictionary[Context, list[tuple[Any, str]]] = weakref.WeakKeyDictionary()


def note_context_run(ctx: Context, checkpointer: Any, run_id: str) -> None:
    """Remember that ``checkpointer`` started run ``run_id`` on ``ctx``."""
    _RUNS.setdefault(ctx, []).append((checkpointer, run_id))


def context_runs(ctx: Context) -> list[tuple[Any, str]]:
    """The (checkpointer, run id) of every run on ``ctx``, oldest first."""
    return list(_RUNS.get(ctx, ()))
