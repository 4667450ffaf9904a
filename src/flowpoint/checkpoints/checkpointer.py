"""`WorkflowCheckpointer`: runs a workflow with step-level checkpoints and resumes from any."""

from __future__ import annotations

import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..errors import (
    CheckpointNotFound,
    InvalidEdit,
    MissingFilter,
    RunNotCompleted,
    StepNotInWorkflow,
    StoreError,
    UnknownEventType,
    WorkflowMismatch,
)
from ..runtime.context import Context
from ..runtime.events import Event, HumanResponseEvent, StartEvent
from ..runtime.handler import WorkflowHandler
from ..runtime.serializers import PickleSerializer
from ..runtime.workflow import Workflow
from ..storage import CheckpointStore, open_store
from ..storage.base import ConditionalRunStore
from ..storage.records import LIVE_STATUSES, CheckpointQuery, RunRecord
from .codec import UnknownEvent, codec_for, get_codec
from .ctxruns import note_context_run
from .drivers import Launch, driver_for
from .edit import validate_edit
from .liveness import LEASES, process_owner, run_is_stale
from .lookup import epoch, normal_id, resolve_run_id
from .model import Checkpoint, Run
from .recorder import Recorder
from .restore import check_decoded_state, check_raw_state
from .state_edit import apply_state_edit

_LIVE: list[weakref.ref[WorkflowCheckpointer]] = []


def _types(value: Any) -> tuple[str, ...] | None:
    """Type filters as store keys: classes by registry key, strings as given (bare or full)."""
    if value is None:
        return None
    items = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
    out = []
    for t in items:
        out.append(f"{t.__module__}.{t.__qualname__}" if isinstance(t, type) else str(t))
    return tuple(out)


def _names(value: Any) -> tuple[Any, ...] | None:
    if value is None:
        return None
    return tuple(value) if isinstance(value, (list, tuple, set, frozenset)) else (value,)


class WorkflowCheckpointer:
    """Runs ``workflow`` with a checkpoint after every enabled step, kept in ``store``.

    ``workflow``: an instance of a flowpoint ``Workflow`` subclass, or of another runtime an
    adapter serves (a llama-index-workflows 2.x ``workflows.Workflow``), used as it is.
    ``store``: None (``$FLOWPOINT_STORE`` or ``./.flowpoint/checkpoints.db``), a URL, ``"memory"``
    or a store object. ``serializer``: ``"json"`` (safe default) or ``"pickle"`` (trusted only).
    ``durability``: ``"process"`` (default; a checkpoint survives a crash of the process) or
    ``"power"`` (fsynced before the step's output is dispatched; survives an OS crash or power
    loss).
    """

    #: How stored events are decoded: None for flowpoint's registry, else the driver's classes.
    _decode: Callable[[Any], Any] | None = None

    def __init__(self, workflow: Workflow | Any, store: str | CheckpointStore | None = None,
                 serializer: str = "json", checkpoint_steps: Iterable[str] | None = None,
                 durability: str | None = None, checkpoint_serializer: Any = None) -> None:
        if checkpoint_serializer is not None:  # LlamaIndex's spelling: a serializer instance
            serializer = "pickle" if isinstance(checkpoint_serializer, PickleSerializer) else "json"
        self._driver = driver_for(workflow)
        self._decode = None if self._driver.native else self._driver.decode_event
        self._workflow = workflow
        steps = set(self._driver.steps())
        self._enabled = set(checkpoint_steps) if checkpoint_steps is not None else steps
        self._check_steps(self._enabled)
        self.codec = get_codec(serializer)
        self._handlers: dict[str, WorkflowHandler] = {}
        self._listeners: list[Callable[[str, str, Any], None]] = []
        spec = store if store is not None else self._driver.default_store()
        self.store: CheckpointStore = open_store(spec, durability)
        try:
            self._mark_stale_runs()
        except BaseException:
            if self.store is not spec:  # opened here: release its connections
                self.store.close()
            raise
        _LIVE[:] = [r for r in _LIVE if r() is not None]
        _LIVE.append(weakref.ref(self))

    # --- workflow and which steps checkpoint ----------------------------------------------------
    @property
    def workflow(self) -> Workflow:
        """The workflow that new runs use; assign a new instance to resume old checkpoints."""
        return self._workflow

    @workflow.setter
    def workflow(self, workflow: Workflow | Any) -> None:
        """Steps the old workflow had keep their enabled/disabled setting; new steps are enabled."""
        driver = driver_for(workflow)
        old, new = set(self._driver.steps()), set(driver.steps())
        self._enabled = (self._enabled & new) | (new - old)
        self._driver = driver
        self._decode = None if driver.native else driver.decode_event
        self._workflow = workflow

    @property
    def enabled_checkpoints(self) -> set[str]:
        """Steps that take a checkpoint when they complete."""
        return set(self._enabled)

    def enable_checkpoint(self, step: str) -> None:
        """Take a checkpoint after ``step`` from now on."""
        self._check_steps([step])
        self._enabled.add(step)

    def disable_checkpoint(self, step: str) -> None:
        """Stop taking checkpoints after ``step`` (``ctx.checkpoint()`` in it still takes one)."""
        self._check_steps([step])
        self._enabled.discard(step)

    def _check_steps(self, steps: Iterable[str]) -> None:
        known = self._driver.steps()
        for s in steps:
            if s not in known:
                raise StepNotInWorkflow(f"{self._driver.name} has no step {s!r}; its steps are "
                                        f"{sorted(known)}")

    # --- running --------------------------------------------------------------------------------
    def run(self, ctx: Context | None = None, start_event: StartEvent | None = None,
            pause_before: Iterable[str] | str | None = None, **kwargs: Any) -> WorkflowHandler:
        """Start a checkpointed run; ``await`` the handler for the result.

        ``pause_before``: step names (breakpoints); the run stops with status ``paused`` at the
        checkpoint before the first of them would run. Continue it with ``resume(run_id)``.
        """
        breaks = self._breakpoints(pause_before)
        if not self._driver.native:
            self._no_breakpoints(pause_before)
            return self._launch_driven(
                self._driver.start(ctx=ctx, start_event=start_event, kwargs=kwargs))
        ev = self._workflow._start_event(start_event, kwargs)
        return self._launch(ev, ctx=ctx, pause_before=breaks)

    def run_from(self, checkpoint: Checkpoint | str, output_event: Event | dict | None = None,
                 state: dict[str, Any] | None = None,
                 pause_before: Iterable[str] | str | None = None,
                 ctx: Context | None = None, **kwargs: Any) -> WorkflowHandler:
        """Resume in a new run from ``checkpoint`` (object, id or unique id prefix).

        A checkpoint of another workflow is refused here, before anything runs. Given ``ctx``,
        the checkpoint's state is loaded into it and the new run records on it.

        The store, buffers and event log are restored, events queued or in progress for other
        steps are re-queued, then the checkpoint's output event (or ``output_event``, a validated
        edit of it) is emitted. ``state`` sets ``ctx.store`` keys first (a typed state is
        validated by its model); both edits are recorded in the new run's ``edited``. The stored
        checkpoint is never changed.
        """
        breaks = self._breakpoints(pause_before)
        ckpt = self.get(checkpoint.id_ if isinstance(checkpoint, Checkpoint) else str(checkpoint))
        self._check_same_workflow(ckpt)
        if not self._driver.native:
            self._no_breakpoints(pause_before)
            return self._resume_driven(ckpt, output_event, state, kwargs)
        ctx, requeue, first, edited = self._restore(ckpt, output_event, state, kwargs, ctx=ctx)
        first_seq = 0 if isinstance(first, StartEvent) else ckpt.seq + 1
        return self._launch(first, ctx=ctx, requeue=requeue, origin=ckpt, edited=edited,
                            first_seq=first_seq, pause_before=breaks)

    def resume(self, run_id: str, output_event: Event | dict | None = None,
               state: dict[str, Any] | None = None,
               pause_before: Iterable[str] | str | None = None) -> WorkflowHandler:
        """Continue a paused run (stopped at a breakpoint) under its own run id, from its last
        checkpoint, optionally with edits; works in a later process too.

        ``pause_before`` sets the breakpoints of the continued run (none by default).
        """
        run = self.get_run(run_id)
        if run.status != "paused":
            raise InvalidEdit(f"run {run.run_id[:8]} is {run.status}, not paused; resume() "
                              f"continues a run stopped by pause_before=. Use run_from(its "
                              f"checkpoint) to start a new run from any checkpoint")
        breaks = self._breakpoints(pause_before)
        ckpt = self.last_checkpoint(run.run_id)
        ctx, requeue, first, edited = self._restore(ckpt, output_event, state, {})
        if edited:
            edited = {**(run.edited or {}), **edited}
        return self._launch(first, ctx=ctx, requeue=requeue, edited=edited or run.edited,
                            first_seq=ckpt.seq + 1, pause_before=breaks, continue_run=run,
                            parent=ckpt)

    def _breakpoints(self, pause_before: Iterable[str] | str | None) -> frozenset[str]:
        if pause_before is None:
            return frozenset()
        names = frozenset([pause_before] if isinstance(pause_before, str) else pause_before)
        self._check_steps(names)
        return names

    def _restore(self, ckpt: Checkpoint, output_event: Event | dict | None,
                 state_edit: dict[str, Any] | None, kwargs: dict[str, Any],
                 ctx: Context | None = None,
                 ) -> tuple[Context, dict[str, list[Event]], Event | None, dict[str, Any] | None]:
        """A context restored from ``ckpt`` with the edits applied: (ctx, requeue, first, edited)."""
        workflow = self._workflow
        steps = workflow.steps()
        if ckpt.last_completed_step is not None and ckpt.last_completed_step not in steps:
            raise StepNotInWorkflow(
                f"checkpoint {ckpt.id_[:8]} was taken after step {ckpt.last_completed_step!r}, "
                f"which {workflow.name} does not have (its steps: {sorted(steps)})")
        codec = codec_for(ckpt.serializer, self.codec, ckpt.id_)
        check_raw_state(ckpt.id_, ckpt.raw_state)
        state = codec.decode_state(ckpt.raw_state)
        check_decoded_state(ckpt.id_, state)
        store, store_edit = apply_state_edit(state.get("store") or {}, state_edit)
        ctx = ctx if ctx is not None else Context(workflow)
        requeue = ctx.restore({**state, "store": store})
        for step_name in requeue:
            if step_name not in steps:
                raise StepNotInWorkflow(
                    f"checkpoint {ckpt.id_[:8]} has events waiting for step {step_name!r}, which "
                    f"{workflow.name} does not have (its steps: {sorted(steps)})")
        first, edited = validate_edit(ckpt, output_event, kwargs)
        _refuse_unknown(first, ckpt, "its output event")
        if first is None and not requeue:
            raise InvalidEdit(f"checkpoint {ckpt.id_[:8]} has no output event and nothing in "
                              f"flight, so a run from it would do nothing; pass output_event=...")
        if store_edit is not None:
            edited = {**(edited or {}), "state": store_edit}
        return ctx, requeue, first, edited

    def _launch(self, first: Event | None, *, ctx: Context | None = None,
                requeue: dict[str, list[Event]] | None = None, origin: Checkpoint | None = None,
                edited: dict[str, Any] | None = None, first_seq: int = 0,
                pause_before: frozenset[str] = frozenset(), continue_run: Run | None = None,
                parent: Checkpoint | None = None) -> WorkflowHandler:
        workflow = self._workflow
        workflow.steps()
        ctx = ctx if ctx is not None else Context(workflow)
        run_id = continue_run.run_id if continue_run is not None else str(uuid.uuid4())
        parent = parent or origin
        recorder = Recorder(self.store, self.codec, run_id, self._enabled.__contains__,
                            first_seq=first_seq, parent_id=parent.id_ if parent else None,
                            on_change=self._notify, pause_before=pause_before)
        if continue_run is not None:
            self.store.update_run(run_id, status="running", ended_at=None, edited=edited,
                                  owner=process_owner(), heartbeat_at=time.time())
        else:
            self.store.put_run(RunRecord(
                run_id=run_id, workflow=workflow.name, status="running", started_at=time.time(),
                origin_checkpoint_id=origin.id_ if origin else None, edited=edited,
                owner=process_owner(), heartbeat_at=time.time()))
        try:
            handler = workflow._launch(first, ctx=ctx, requeue=requeue, observer=recorder,
                                       run_id=run_id)
        except BaseException as exc:
            recorder.on_status(None, "failed", error=exc)  # type: ignore[arg-type]
            raise
        note_context_run(ctx, self, run_id)
        self._track(run_id, handler)
        return handler

    def _no_breakpoints(self, pause_before: Any) -> None:
        if pause_before:
            raise InvalidEdit(f"pause_before= is not available for {self._driver.name} (a "
                              f"{type(self._workflow).__module__} workflow) yet; run without it "
                              f"and resume with run_from(checkpoint)")

    def _resume_driven(self, ckpt: Checkpoint, output_event: Any, state: dict[str, Any] | None,
                       kwargs: dict[str, Any]) -> Any:
        """run_from through a runtime adapter's driver (``state=`` edits ``ctx.store``)."""
        if ckpt.last_completed_step is not None and \
                ckpt.last_completed_step not in self._driver.steps():
            raise StepNotInWorkflow(
                f"checkpoint {ckpt.id_[:8]} was taken after step {ckpt.last_completed_step!r}, "
                f"which {self._driver.name} does not have (its steps: "
                f"{sorted(self._driver.steps())})")
        plan = self._driver.resume(ckpt, output_event=output_event, state=state, kwargs=kwargs,
                                   codec=codec_for(ckpt.serializer, self.codec, ckpt.id_))
        return self._launch_driven(plan.launch, origin=ckpt, edited=plan.edited,
                                   first_seq=plan.first_seq, run_id=plan.run_id)

    def _launch_driven(self, launch: Launch, *, origin: Checkpoint | None = None,
                       edited: dict[str, Any] | None = None, first_seq: int = 0,
                       run_id: str | None = None) -> Any:
        run_id = run_id or str(uuid.uuid4())
        recorder = Recorder(self.store, self.codec, run_id, self._enabled.__contains__,
                            first_seq=first_seq, parent_id=origin.id_ if origin else None,
                            on_change=self._notify, encode_event=self._driver.encode_event,
                            event_type=self._driver.event_type)
        self.store.put_run(RunRecord(
            run_id=run_id, workflow=self._driver.name, status="running", started_at=time.time(),
            origin_checkpoint_id=origin.id_ if origin else None, edited=edited,
            owner=process_owner(), heartbeat_at=time.time()))
        try:
            handler = launch(run_id, recorder)
        except BaseException as exc:
            recorder.on_status(None, "failed", error=exc)  # type: ignore[arg-type]
            raise
        self._track(run_id, handler)
        return handler

    def _track(self, run_id: str, handler: Any) -> None:
        """Keep the run's handler and its heartbeat lease until it ends."""
        self._handlers[run_id] = handler
        LEASES.add(run_id, self.store)

        def done(_h: Any) -> None:
            self._handlers.pop(run_id, None)
            LEASES.remove(run_id)

        handler.add_done_callback(done)
        self._notify("run", run_id, handler)

    def handler(self, run_id: str) -> WorkflowHandler | None:
        """The live handler of a run started by this checkpointer in this process, else None.

        A driver with ``attach(run_id)`` (LangGraph) also gives one for a run its runtime left
        waiting for input elsewhere, so the prompt can be answered here."""
        found = self._handlers.get(run_id) or next(
            (h for r, h in self._handlers.items() if r.startswith(run_id)), None)
        attach = getattr(self._driver, "attach", None)
        if found is None and attach is not None:
            launch = attach(run_id)
            if launch is not None:
                found = self._launch_driven(launch, run_id=run_id)
        return found

    def respond(self, run_id: str, response: str | HumanResponseEvent) -> None:
        """Answer a run waiting for human input with a HumanResponseEvent."""
        handler = self.handler(run_id)
        if handler is None:
            raise CheckpointNotFound(
                f"run {run_id!r} is not running in this process; resume it with run_from(its "
                f"last checkpoint) and answer the prompt again")
        ev = self._driver.human_response(response) if isinstance(response, str) else response
        self._driver.send_event(handler, ev)

    def subscribe(self, listener: Callable[[str, str, Any], None]) -> Callable[[], None]:
        """Call ``listener(kind, run_id, payload)`` on new runs, checkpoints and status changes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, kind: str, run_id: str, payload: Any) -> None:
        for listener in list(self._listeners):
            try:
                listener(kind, run_id, payload)
            except Exception:  # a broken display must never break a run
                pass

    # --- reading ----------------------------------------------------------------------------------
    def _checkpoint(self, rec: Any) -> Checkpoint:
        decoder = self._decode
        if decoder is None and rec.serializer == "pickle" and self.codec.name == "pickle":
            decoder = self.codec.decode_event  # opted in: pickled events load
        if rec.ctx_state is not None:
            return Checkpoint.from_record(rec, decoder=decoder)
        return Checkpoint.from_record(rec, lambda: self.store.get_checkpoint(rec.id).ctx_state,
                                      decoder)

    def get(self, checkpoint_id: str) -> Checkpoint:
        """The checkpoint with this id or unique id prefix (with its state)."""
        return self._checkpoint(self.store.get_checkpoint(normal_id(checkpoint_id)))

    def _scope(self) -> tuple[str, ...] | None:
        """The workflow name listings are scoped to (None: the whole store)."""
        return None if self._workflow is None else (self._driver.name,)

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
        for rec in self.store.list_checkpoints(self.query(include_start=False)):
            out.setdefault(rec.run_id, []).append(self._checkpoint(rec))
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
        return CheckpointQuery(
            run_ids=_names(run_id),
            steps=None if last_completed_step is None or last_completed_step is ... else
            _names(last_completed_step),
            input_types=_types(input_event_type), output_types=_types(output_event_type),
            statuses=_names(status),
            workflows=_names(workflow) if workflow is not None else self._scope(),
            text=text or None,
            created_after=epoch(created_after, "created_after"),
            created_before=epoch(created_before, "created_before"),
            descending=descending, include_start=include_start)

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
        return [self._checkpoint(r) for r in self.store.list_checkpoints(q, limit=limit)]

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
        """Runs whose process died mid-run are marked "interrupted" so they can be resumed."""
        if getattr(self.store, "read_only", False):
            return
        try:
            for rec in self.store.list_runs(statuses=LIVE_STATUSES):
                self._interrupt_if_gone(rec)
        except StoreError:
            pass  # e.g. a full disk: listing and reading must still work

    def _is_stale(self, rec: RunRecord) -> bool:
        return rec.run_id not in self._handlers and run_is_stale(rec.owner, rec.heartbeat_at)

    def _interrupt_if_gone(self, rec: RunRecord) -> bool:
        """Mark a run "interrupted" if no live process runs it (its owner is gone or its lease
        lapsed), unless it ended or renewed its lease meanwhile; True if it was marked."""
        if not self._is_stale(rec):
            return False
        if isinstance(self.store, ConditionalRunStore):
            return self.store.interrupt_run(rec.run_id, rec.heartbeat_at)
        self.store.update_run(rec.run_id, status="interrupted")
        return True

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

    def __repr__(self) -> str:
        return (f"WorkflowCheckpointer(workflow={self._driver.name}, store={self.store.url!r}, "
                f"enabled={sorted(self._enabled)})")


def _refuse_unknown(ev: Any, ckpt: Checkpoint, what: str) -> None:
    if isinstance(ev, UnknownEvent):
        raise UnknownEventType(f"cannot resume from checkpoint {ckpt.id_[:8]}: {what} has type "
                               f"{ev.type_key!r}, which cannot be loaded ({ev.reason})")


def latest_checkpointer() -> WorkflowCheckpointer | None:
    """The checkpointer most recently created in this process (what magics use by default)."""
    for ref in reversed(_LIVE):
        ckptr = ref()
        if ckptr is not None:
            return ckptr
    return None


def live_checkpointers() -> list[WorkflowCheckpointer]:
    """Every checkpointer still alive in this process, oldest first (to find a live run)."""
    return [c for c in (ref() for ref in _LIVE) if c is not None]
