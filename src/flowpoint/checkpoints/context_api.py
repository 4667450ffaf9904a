"""The older LlamaIndex API on `Context`: ``wf.run(ctx=ctx)`` records checkpoints on ``ctx``.

``ctx.checkpoints`` lists every checkpoint of every run that used ``ctx`` (start checkpoints
included), ``ctx.filter_checkpoints(...)`` filters them, ``wf.run_from(checkpoint, ctx=ctx)``
resumes and appends. They live in the default durable store, beside every other run.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import replace
from typing import Any

from ..errors import CheckpointNotFound, MissingFilter, WorkflowRuntimeError
from ..runtime.context import Context
from ..runtime.events import StartEvent
from ..runtime.handler import WorkflowHandler
from ..runtime.recording import register_context_recording
from ..runtime.workflow import Workflow
from ..storage import DEFAULT_STORE, STORE_ENV, CheckpointStore, open_store
from .checkpointer import WorkflowCheckpointer
from .ctxruns import context_runs
from .live import forget
from .model import Checkpoint

_STORES: dict[tuple[str, str], CheckpointStore] = {}
_CHECKPOINTERS: weakref.WeakKeyDictionary[Workflow, WorkflowCheckpointer] = (
    weakref.WeakKeyDictionary())


def _default_store() -> CheckpointStore:
    """One open default store per location, shared by every context of the process."""
    key = (os.environ.get(STORE_ENV) or DEFAULT_STORE, os.getcwd())
    store = _STORES.get(key)
    if store is None:
        store = _STORES[key] = open_store(key[0])
    return store


def _checkpointer_for(workflow: Workflow) -> WorkflowCheckpointer:
    """A checkpointer of every step of ``workflow`` on the default store, kept out of the magics."""
    store = _default_store()
    ckptr = _CHECKPOINTERS.get(workflow)
    if ckptr is None or ckptr.store is not store:
        ckptr = WorkflowCheckpointer(workflow=workflow, store=store)
        forget(ckptr)
        _CHECKPOINTERS[workflow] = ckptr
    return ckptr


def _free(ctx: Context) -> None:
    if ctx.is_running:
        raise WorkflowRuntimeError(f"this context is in use by run {ctx.run_id}; await that run "
                                   f"first or pass a new Context(workflow=...)")


class ContextCheckpoints:
    """The provider the runtime calls for runs given a context (see ``runtime.recording``)."""

    def run(self, workflow: Any, ctx: Context, start_event: StartEvent) -> WorkflowHandler:
        """Start a checkpointed run on ``ctx``."""
        _free(ctx)
        return _checkpointer_for(workflow).run(ctx=ctx, start_event=start_event)

    def run_from(self, workflow: Any, checkpoint: Any, ctx: Context | None,
                 **kwargs: Any) -> WorkflowHandler:
        """Resume from ``checkpoint`` with its state loaded into ``ctx`` (a new one if None)."""
        if ctx is not None:
            _free(ctx)
        ckptr = _checkpointer_for(workflow)
        if isinstance(checkpoint, Checkpoint):
            try:
                ckptr.get(checkpoint.id_)
            except CheckpointNotFound:
                raise CheckpointNotFound(
                    f"checkpoint {checkpoint.id_[:8]} is not in the default store "
                    f"{ckptr.store.url}; resume it with the WorkflowCheckpointer that stored it"
                ) from None
        return ckptr.run_from(checkpoint, ctx=ctx, **kwargs)

    def checkpoints(self, ctx: Context) -> list[Checkpoint]:
        """Every checkpoint of every run on ``ctx``, in order, start checkpoints included."""
        return self._select(ctx, {})

    def filter_checkpoints(self, ctx: Context, **filters: Any) -> list[Checkpoint]:
        """The checkpoints of ``ctx`` matching every filter (at least one is required)."""
        if all(v is None or v is ... for v in filters.values()):
            raise MissingFilter(
                "filter_checkpoints needs at least one filter (run_id=, last_completed_step=, "
                "input_event_type=, output_event_type=, ...); use ctx.checkpoints for all")
        return self._select(ctx, filters)

    @staticmethod
    def _select(ctx: Context, filters: dict[str, Any]) -> list[Checkpoint]:
        filters = dict(filters)
        wanted = filters.pop("run_id", None)
        wanted_ids = None if wanted is None else (
            set(wanted) if isinstance(wanted, (list, tuple, set, frozenset)) else {wanted})
        limit = filters.pop("limit", None)
        out: list[Checkpoint] = []
        blocks: list[tuple[WorkflowCheckpointer, list[str]]] = []
        for ckptr, run_id in context_runs(ctx):
            if wanted_ids is not None and run_id not in wanted_ids:
                continue
            if blocks and blocks[-1][0].store is ckptr.store:
                blocks[-1][1].append(run_id)
            else:
                blocks.append((ckptr, [run_id]))
        for ckptr, run_ids in blocks:
            q = replace(ckptr.query(run_id=run_ids, **filters), workflows=None)
            out.extend(ckptr._checkpoint(r) for r in ckptr.store.list_checkpoints(q))
        return out[:limit] if limit is not None else out


register_context_recording(ContextCheckpoints())
