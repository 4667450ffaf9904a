"""The read side of a checkpointer: its workflow's checkpoints and runs, listed, filtered,
turned into tables, and the store's housekeeping (prune, delete, size)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import CheckpointNotFound, MissingFilter, RunNotCompleted, WorkflowMismatch
from ..runtime.handler import WorkflowHandler
from ..storage import CheckpointStore
from ..storage.bulk import collector_paused
from ..storage.records import LIVE_STATUSES, RECORD_COLUMNS, CheckpointQuery, RunRecord
from .codec import JsonCodec
from .liveness import interrupt_if_gone, is_stale, mark_stale_runs
from .lookup import epoch, normal_id, resolve_run_id
from .model import Checkpoint, Run
from .query import checkpoint_query

_SERIALIZER = RECORD_COLUMNS.index("serializer")


class CheckpointReader:
    """Reads checkpoints and runs of ``store`` as ``Checkpoint`` and ``Run`` objects.

    Subclasses set ``store``, ``codec``, the handlers of the runs they run here (a run of this
    process is never stale) and narrow ``_scope()`` to their workflow.
    """

    store: CheckpointStore
    codec: JsonCodec
    #: How stored events are decoded: None for flowpoint's registry, else the driver's classes.
    _decode: Callable[[Any], Any] | None = None
    _handlers: dict[str, WorkflowHandler]

    def _checkpoint(self, rec: Any) -> Checkpoint:
        decoder = self._decode
        if decoder is None and rec.serializer == "pickle" and self.codec.name == "pickle":
            decoder = self.codec.decode_event  # opted in: pickled events load
        if rec.ctx_state is not None:
            return Checkpoint.from_record(rec, decoder=decoder)
        return Checkpoint.from_record(rec, lambda: self.store.get_checkpoint(rec.id).ctx_state,
                                      decoder)

    def _state_of(self, checkpoint_id: str) -> Any:
        return self.store.get_checkpoint(checkpoint_id).ctx_state

    def _listed(self, query: CheckpointQuery, limit: int | None = None) -> list[Checkpoint]:
        """The checkpoints of a listing, their state loaded on first access. From the store's
        stored rows where it gives them (``record_rows``): events are parsed when first read."""
        record_rows = getattr(self.store, "record_rows", None)
        with collector_paused():
            if record_rows is None:
                return [self._checkpoint(r) for r in self.store.list_checkpoints(query, limit=limit)]
            decode = self._decode
            pickled = self.codec.decode_event if decode is None and \
                self.codec.name == "pickle" else None
            make, state_of = Checkpoint.from_row, self._state_of
            # a function, not a partial: copying a checkpoint (deepcopy) keeps it as it is
            return [make(row, lambda cid=row[0]: state_of(cid),
                         pickled if pickled is not None and row[_SERIALIZER] == "pickle" else decode)
                    for row in record_rows(query, limit=limit)]

    def get(self, checkpoint_id: str) -> Checkpoint:
        """The checkpoint with this id or unique id prefix (with its state)."""
        return self._checkpoint(self.store.get_checkpoint(normal_id(checkpoint_id)))

    def _scope(self) -> tuple[str, ...] | None:
        """The workflow names listings are scoped to (None: the whole store)."""
        return None

    def _check_same_workflow(self, ckpt: Checkpoint) -> None:
        scope = self._scope()
        run = self.store.get_run(ckpt.run_id)
        if scope is not None and run is not None and run.workflow not in scope:
            raise WorkflowMismatch(
                f"checkpoint {ckpt.id_[:8]} belongs to a run of workflow {run.workflow!r}, but "
                f"this checkpointer runs {scope[0]!r}; resume it with a checkpointer of "
                f"{run.workflow!r}")

    @property
    def checkpoints(self) -> dict[str, list[Checkpoint]]:
        """This workflow's step checkpoints by run id, each run's in order (runs oldest first).

        As LlamaIndex lists them: start checkpoints are left out (``start_checkpoint(run_id)``
        and ``filter_checkpoints(..., include_start=True)`` reach them), and so are runs
        without a step checkpoint.
        """
        out: dict[str, list[Checkpoint]] = {}
        for ckpt in self._listed(self.query(include_start=False)):
            out.setdefault(ckpt.run_id, []).append(ckpt)
        return out

    def start_checkpoint(self, run_id: str) -> Checkpoint:
        """The checkpoint taken before a run's StartEvent: edit its inputs and ``run_from`` it."""
        run = self.get_run(run_id)
        recs = self.store.list_checkpoints(
            CheckpointQuery(run_ids=(run.run_id,), steps=(None,)), limit=1)
        if not recs:
            how = (f"it was resumed from checkpoint {run.origin_checkpoint_id[:8]}"
                   if run.origin_checkpoint_id else "it has none stored")
            raise CheckpointNotFound(f"run {run.run_id} has no start checkpoint: {how}")
        return self._checkpoint(recs[0])

    def query(self, run_id: Any = None, last_completed_step: Any = None,
              input_event_type: Any = None, output_event_type: Any = None, status: Any = None,
              workflow: Any = None, text: str | None = None, created_after: Any = None,
              created_before: Any = None, descending: bool = False,
              include_start: bool = True) -> CheckpointQuery:
        """The store query for these filters (AND of all given; a list inside one is an OR).

        ``last_completed_step=None`` is no filter on the step; ``[None]`` matches start
        checkpoints. ``workflow`` defaults to this checkpointer's own.
        """
        self._mark_stale_runs()
        return checkpoint_query(self._scope(), run_id, last_completed_step, input_event_type,
                                output_event_type, status, workflow, text, created_after,
                                created_before, descending, include_start)

    def filter_checkpoints(self, run_id: Any = None, last_completed_step: Any = None,
                           input_event_type: Any = None, output_event_type: Any = None,
                           status: Any = None, limit: int | None = None,
                           include_start: bool = False, **more: Any) -> list[Checkpoint]:
        """Step checkpoints matching every filter given, by SQL in the store; ``[]`` if none.

        At least one filter is required (as in LlamaIndex); ``include_start=True`` also
        returns matching start checkpoints.
        """
        given = [run_id, input_event_type, output_event_type, status, *more.values()]
        if last_completed_step is not ...:
            given.append(last_completed_step)
        if all(v is None for v in given):
            raise MissingFilter(
                "filter_checkpoints needs at least one filter (run_id=, last_completed_step=, "
                "input_event_type=, output_event_type=, status=, ...); use .checkpoints for all")
        q = self.query(run_id, last_completed_step, input_event_type, output_event_type, status,
                       include_start=include_start, **more)
        return self._listed(q, limit)

    def to_dataframe(self, run_id: Any = None, last_completed_step: Any = None,
                     input_event_type: Any = None, output_event_type: Any = None,
                     status: Any = None, limit: int | None = None, **more: Any) -> Any:
        """One row per checkpoint of this workflow, start checkpoints included, as a DataFrame;
        the same filters as filter_checkpoints (none needed)."""
        from .table import checkpoints_frame

        q = self.query(run_id, last_completed_step, input_event_type, output_event_type, status,
                       **more)
        return checkpoints_frame(self.store, q, limit=limit)

    @property
    def runs(self) -> dict[str, Run]:
        """This workflow's stored runs by id, oldest first, with their status."""
        self._mark_stale_runs()
        scope = self._scope()
        with collector_paused():
            return {r.run_id: self._run(r) for r in self.store.list_runs()
                    if scope is None or r.workflow in scope}

    def get_run(self, run_id: str) -> Run:
        """One run by id or unique id prefix."""
        rec = self.store.get_run(resolve_run_id(self.store, run_id))
        if rec is None:
            raise CheckpointNotFound(f"no run with id {run_id!r}")
        if rec.status in LIVE_STATUSES and self._interrupt_if_gone(rec):
            rec = self.store.get_run(rec.run_id) or rec
        return self._run(rec)

    def _run(self, rec: RunRecord) -> Run:
        """A run as users see it: a stale one that a read-only store still lists as running
        or waiting shows as interrupted."""
        if rec.status in LIVE_STATUSES and getattr(self.store, "read_only", False) and \
                self._is_stale(rec):
            return Run.from_record(rec, status="interrupted")
        return Run.from_record(rec)

    def _mark_stale_runs(self) -> None:
        mark_stale_runs(self.store, self._handlers)

    def _is_stale(self, rec: RunRecord) -> bool:
        return is_stale(rec, self._handlers)

    def _interrupt_if_gone(self, rec: RunRecord) -> bool:
        return interrupt_if_gone(self.store, rec, self._handlers)

    def last_checkpoint(self, run_id: str) -> Checkpoint:
        """The latest checkpoint of a run: where to resume a failed or interrupted run."""
        run_id = resolve_run_id(self.store, run_id)
        recs = self.store.list_checkpoints(CheckpointQuery(run_ids=(run_id,), descending=True),
                                           limit=1)
        if not recs:
            raise CheckpointNotFound(f"run {run_id!r} has no checkpoints")
        return self._checkpoint(recs[0])

    # --- housekeeping -----------------------------------------------------------------------------
    def prune(self, keep_last: int | None = None, older_than: Any = None) -> int:
        """Delete checkpoints beyond the last ``keep_last`` per run and/or older than a time
        (datetime, timedelta or age such as "7d" before now, or epoch seconds). Each run's
        start checkpoint is kept, and so is the newest checkpoint of a running, waiting or
        paused run. Returns how many were deleted."""
        if keep_last is None and older_than is None:
            raise ValueError("prune needs keep_last=N and/or older_than=<datetime|timedelta>")
        if keep_last is not None and keep_last < 1:
            raise ValueError(f"keep_last must be >= 1, got {keep_last}")
        cutoff = epoch(older_than, "older_than")
        self._mark_stale_runs()
        return self.store.prune(keep_last=keep_last, older_than=cutoff)

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        """Delete whole runs (ids or unique id prefixes) with their checkpoints; returns
        checkpoints deleted. CheckpointNotFound, deleting nothing, if one matches no run."""
        if isinstance(run_ids, str):
            run_ids = [run_ids]
        return self.store.delete_runs([resolve_run_id(self.store, r) for r in run_ids])

    def storage_report(self) -> dict[str, Any]:
        """How big the store is: runs, checkpoints, bytes."""
        return self.store.storage_report()

    def result_of(self, run_id: str) -> Any:
        """The stored result of a completed run, decoded; RunNotCompleted (with the run's
        status and error) for a run that did not complete."""
        run = self.get_run(run_id)
        if run.status != "completed":
            err = run.error or {}
            why = f": {err.get('type')}: {err.get('message')}" if err.get("type") else ""
            raise RunNotCompleted(f"run {run.run_id[:8]} is {run.status}{why}; only a completed "
                                  f"run has a result")
        return run.result  # decoded once, by Run.from_record
