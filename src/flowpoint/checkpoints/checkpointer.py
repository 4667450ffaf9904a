"""`WorkflowCheckpointer`: runs a workflow with step-level checkpoints and resumes from any."""

from __future__ import annotations

import inspect
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import (
    CheckpointNotFound,
    InvalidEdit,
    StepNotInWorkflow,
)
from ..runtime.context import Context
from ..runtime.events import Event, HumanResponseEvent, StartEvent
from ..runtime.handler import WorkflowHandler
from ..runtime.serializers import PickleSerializer
from ..runtime.workflow import Workflow
from ..storage import CheckpointStore, open_store
from ..storage.records import RunRecord
from .codec import codec_for, get_codec
from .context_restore import restore_context
from .ctxruns import note_context_run
from .drivers import Launch, driver_for
from .live import latest_checkpointer, live_checkpointers, register
from .liveness import LEASES, process_owner
from .model import Checkpoint, Run
from .reading import CheckpointReader
from .recorder import Recorder

__all__ = ["WorkflowCheckpointer", "latest_checkpointer", "live_checkpointers"]


class WorkflowCheckpointer(CheckpointReader):
    """Runs ``workflow`` with a checkpoint after every enabled step, kept in ``store``.

    ``workflow``: an instance of a flowpoint ``Workflow`` subclass, or of another runtime an
    adapter serves (a llama-index-workflows 2.x ``workflows.Workflow``), used as it is.
    ``store``: None (``$FLOWPOINT_STORE`` or ``./.flowpoint/checkpoints.db``), a URL, ``"memory"``
    or a store object. ``serializer``: ``"json"`` (safe default) or ``"pickle"`` (trusted only).
    ``durability``: ``"process"`` (default; a checkpoint survives a crash of the process) or
    ``"power"`` (fsynced before the step's output is dispatched; survives an OS crash or power
    loss). ``checkpoint_steps``: the steps that take checkpoints (default: all);
    ``disabled_steps``: steps left out of those, as LlamaIndex's checkpointer takes them.
    """

    def __init__(self, workflow: Workflow | Any, store: str | CheckpointStore | None = None,
                 serializer: str = "json", checkpoint_steps: Iterable[str] | None = None,
                 durability: str | None = None, checkpoint_serializer: Any = None,
                 disabled_steps: Iterable[str] = ()) -> None:
        if checkpoint_serializer is not None:  # LlamaIndex's spelling: a serializer instance
            # flowpoint's PickleSerializer or llama-index-workflows' own (known by class name)
            pickled = isinstance(checkpoint_serializer, PickleSerializer) or any(
                c.__name__ == "PickleSerializer" for c in type(checkpoint_serializer).__mro__)
            serializer = "pickle" if pickled else "json"
        self._driver = driver_for(workflow)
        self._decode = None if self._driver.native else self._driver.decode_event
        self._workflow = workflow
        steps = set(self._driver.steps())
        for name, given in (("checkpoint_steps", checkpoint_steps),
                            ("disabled_steps", disabled_steps)):
            if isinstance(given, str):
                raise TypeError(f"{name} takes a list of step names, not the string "
                                f"{given!r}: write {name}=[{given!r}]")
        self._enabled = set(checkpoint_steps) if checkpoint_steps is not None else steps
        disabled = set(disabled_steps)  # LlamaIndex's spelling: the steps to leave out
        self._check_steps(self._enabled | disabled)
        self._enabled -= disabled
        self.codec = get_codec(serializer)
        self._handlers: dict[str, WorkflowHandler] = {}
        self._listeners: list[Callable[[str, str, Any], None]] = []
        spec = self._driver.store_for(store)
        self.store: CheckpointStore = open_store(spec, durability)
        try:
            self._mark_stale_runs()
        except BaseException:
            if self.store is not spec:  # opened here: release its connections
                self.store.close()
            raise
        register(self)

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
            return self._resume_driven(ckpt, output_event, state, kwargs, ctx)
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
        return restore_context(self._workflow, ckpt, codec_for(ckpt.serializer, self.codec,
                                                              ckpt.id_),
                               output_event, state_edit, kwargs, ctx=ctx)

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
                       kwargs: dict[str, Any], ctx: Any = None) -> Any:
        """run_from through a runtime adapter's driver (``state=`` edits ``ctx.store``; a
        ``ctx`` given is passed on only if set, for drivers that take one)."""
        if ckpt.last_completed_step is not None and \
                ckpt.last_completed_step not in self._driver.steps():
            raise StepNotInWorkflow(
                f"checkpoint {ckpt.id_[:8]} was taken after step {ckpt.last_completed_step!r}, "
                f"which {self._driver.name} does not have (its steps: "
                f"{sorted(self._driver.steps())})")
        given = {} if ctx is None else {"ctx": ctx}
        if given and "ctx" not in inspect.signature(self._driver.resume).parameters:
            raise InvalidEdit(f"run_from(ctx=...) is not available for {self._driver.name} (a "
                              f"{type(self._workflow).__module__} workflow); the run keeps its "
                              f"state in its own runtime, so resume without ctx=")
        plan = self._driver.resume(ckpt, output_event=output_event, state=state, kwargs=kwargs,
                                   codec=codec_for(ckpt.serializer, self.codec, ckpt.id_),
                                   **given)
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

    def _scope(self) -> tuple[str, ...] | None:
        """Listings show this checkpointer's own workflow."""
        return None if self._workflow is None else (self._driver.name,)

    def __repr__(self) -> str:
        return (f"WorkflowCheckpointer(workflow={self._driver.name}, store={self.store.url!r}, "
                f"enabled={sorted(self._enabled)})")
