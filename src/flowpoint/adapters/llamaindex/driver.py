"""The checkpointer driver for llama-index-workflows 2.x: run, record, and resume a 2.x workflow.

A run goes through the workflow's own runtime, wrapped so its ticks are watched. A resume loads
the checkpoint's snapshot of the control loop with ``Context.from_dict`` (the step's output event
and ``ctx.store`` state edited if asked) and runs the workflow on it: the step's pending output is
delivered, work that was in flight runs again, and no earlier step runs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from workflows.context import Context
from workflows.context.state_store import InMemoryStateStore
from workflows.events import Event, HumanResponseEvent, InputRequiredEvent, StopEvent
from workflows.runtime.types.ticks import TickPublishEvent

from ...checkpoints.codec import UnknownEvent
from ...checkpoints.drivers import Launch, Resume
from ...checkpoints.restore import check_raw_state
from ...errors import (
    CorruptCheckpoint,
    FlowpointError,
    InvalidEdit,
    SerializationError,
    UnknownEventType,
    UnsupportedWorkflow,
)
from .handler import RunHandler
from .runtime import RunWatch, basic_runtime_of, checkpoint_runtime, start_state
from .snapshot import state_model
from .types import TypeRegistry, changes, edited_event, type_key
from .version import check_version


class LlamaIndexDriver:
    """Serves ``workflows.Workflow`` instances, used as they are."""

    native = False

    def __init__(self, workflow: Any) -> None:
        check_version()
        if basic_runtime_of(workflow.runtime) is None:
            raise UnsupportedWorkflow(
                f"{type(workflow).__name__} runs on {type(workflow.runtime).__name__}; flowpoint "
                f"checkpoints llama-index-workflows' basic asyncio runtime (the default)")
        self.workflow = workflow
        self._registry: TypeRegistry | None = None

    # --- what the checkpointer reads --------------------------------------------------------------
    @property
    def name(self) -> str:
        return type(self.workflow).__name__

    def steps(self) -> dict[str, Any]:
        return self.workflow._get_steps()

    def registry(self, refresh: bool = False) -> TypeRegistry:
        """The classes stored names resolve to (rebuilt on refresh: classes defined since)."""
        if self._registry is None or refresh:
            self._registry = TypeRegistry(self.workflow)
        return self._registry

    @property
    def encode_event(self) -> Any:
        """``encode_event(event)``: the registry's own (a run's recorder calls it per event;
        encoding reads no stored names, so a later refresh of the registry changes nothing)."""
        return self.registry().encode_event

    def event_type(self, cls: type) -> str:
        return type_key(cls)

    def decode_event(self, data: Any) -> Any:
        ev = self.registry().decode_event(data)
        if isinstance(ev, UnknownEvent) and ev.type_key != "?":
            ev = self.registry(refresh=True).decode_event(data)
        return ev

    def human_response(self, response: str) -> Any:
        return HumanResponseEvent(response=response)

    def send_event(self, handler: Any, event: Any) -> None:
        handler.ctx.send_event(event)

    def store_for(self, given: Any) -> Any:
        return given

    # --- running ----------------------------------------------------------------------------------
    def start(self, *, ctx: Any, start_event: Any, kwargs: dict[str, Any]) -> Launch:
        if ctx is not None:
            raise FlowpointError(
                "ckptr.run(ctx=...) is not supported for a llama-index-workflows workflow: a run "
                "must start from its beginning to be resumable. Continue a run with "
                "ckptr.run_from(checkpoint) instead")
        self.workflow._validate()
        first = self.workflow._get_start_event_instance(start_event, **kwargs)
        registry = self.registry()  # writing resolves no names; reading refreshes on a miss
        return lambda run_id, recorder: self._launch(run_id, recorder, registry, first=first)

    def _launch(self, run_id: str, recorder: Any, registry: TypeRegistry, *,
                first: Event | None = None, ctx: Any = None, pending_input: Any = None,
                republish: Any = None) -> RunHandler:
        runtime = checkpoint_runtime(self.workflow)
        watch = RunWatch(recorder, registry, recorder.is_enabled, pending_input)
        runtime.watch(run_id, watch)
        try:
            if first is not None:
                recorder.record(None, None, first, None, {}, lambda encode: start_state(
                    recorder.splitter is not None))
            inner = self.workflow.run(ctx=ctx, start_event=first, run_id=run_id)
        except BaseException:
            runtime.unwatch(run_id)
            raise
        if republish is not None:  # the prompt is open again: the run waits, as when first asked
            recorder.on_status(None, "waiting")
            adapter = basic_runtime_of(runtime).get_external_adapter(run_id)
            asyncio.get_running_loop().create_task(
                adapter.send_event(TickPublishEvent(event=republish)))
        return RunHandler(inner, run_id, recorder, lambda: runtime.unwatch(run_id))

    def resume(self, ckpt: Any, *, output_event: Any, state: dict[str, Any] | None,
               kwargs: dict[str, Any], codec: Any, ctx: Any = None) -> Resume:
        short = ckpt.id_[:8]
        _check_given_context(ctx)
        registry = self.registry(refresh=True)
        original = ckpt.output_event
        if isinstance(original, UnknownEvent):
            raise UnknownEventType(f"cannot resume from checkpoint {short}: its output event has "
                                   f"type {original.type_key!r}, which cannot be loaded "
                                   f"({original.reason})")
        if ckpt.is_start:
            return self._restart(ckpt, original, output_event, state, kwargs, registry, ctx)
        if kwargs:
            raise InvalidEdit(f"keyword arguments {sorted(kwargs)} can only change the StartEvent "
                              f"of a start checkpoint (seq 0); pass output_event=... to edit the "
                              f"output of step {ckpt.last_completed_step!r}")
        if isinstance(original, StopEvent):
            raise InvalidEdit(
                f"checkpoint {short} is where its run ended: step {ckpt.last_completed_step!r} "
                f"returned a {type(original).__name__}, so no later step exists to run. Resume "
                f"from an earlier checkpoint (the one before it re-runs that step)")
        raw = ckpt.raw_state
        check_raw_state(ckpt.id_, raw)
        context = raw.get("context")
        if not isinstance(context, dict) or not isinstance(context.get("deliveries", []), list):
            raise CorruptCheckpoint(f"cannot resume from checkpoint {short}: it has no runtime "
                                    f"snapshot (was it written by the llama-index-workflows "
                                    f"adapter?)")
        context = dict(context)
        edited: dict[str, Any] = {}
        output = original
        if output_event is not None:
            if original is None:
                raise InvalidEdit(f"step {ckpt.last_completed_step!r} returned no event at "
                                  f"checkpoint {short}, so there is no output event to edit; "
                                  f"resume without output_event=, or edit the state")
            output = edited_event(original, output_event)
            edited["output_event"] = {"type": type_key(type(output)),
                                      "changes": changes(original, output, registry.encode_event)}
        if output_event is not None or _without_event(context, raw.get("output_delivery")):
            context["deliveries"] = self._with_output(context.get("deliveries", []),
                                                      raw.get("output_delivery"), output,
                                                      registry, short)
        model, state_edit = self._state(raw.get("store"), state, registry, short)
        if state_edit is not None:
            edited["state"] = state_edit
        ctx = _load_into(ctx, self._rebuild(context, model, registry, short))
        pending = registry.decode_event(raw.get("pending_input"))
        if isinstance(pending, UnknownEvent):
            raise UnknownEventType(f"cannot resume from checkpoint {short}: its pending prompt "
                                   f"has type {pending.type_key!r}, which cannot be loaded")
        prompt = output if isinstance(output, InputRequiredEvent) else pending

        def launch(run_id: str, recorder: Any) -> RunHandler:
            return self._launch(run_id, recorder, registry, ctx=ctx, pending_input=prompt,
                                republish=prompt)

        return Resume(launch, ckpt.seq + 1, edited or None)

    def _restart(self, ckpt: Any, original: Any, output_event: Any, state: Any,
                 kwargs: dict[str, Any], registry: TypeRegistry, ctx: Any = None) -> Resume:
        """A start checkpoint: a fresh run, with the StartEvent's fields edited if asked."""
        if state:
            raise InvalidEdit(f"checkpoint {ckpt.id_[:8]} is a start checkpoint: ctx.store is "
                              f"empty before the first step; edit a later checkpoint's state")
        first, edited = original, None
        edit = output_event if output_event is not None else (kwargs or None)
        if output_event is not None and kwargs:
            edit = {**(output_event if isinstance(output_event, dict) else {}), **kwargs}
        if edit is not None:
            first = edited_event(original, edit)
            edited = {"output_event": {"type": type_key(type(first)),
                                       "changes": changes(original, first,
                                                          registry.encode_event)}}

        fresh = None if ctx is None else _load_into(ctx, Context(self.workflow))

        def launch(run_id: str, recorder: Any) -> RunHandler:
            return self._launch(run_id, recorder, registry, first=first, ctx=fresh)

        return Resume(launch, 0, edited)

    @staticmethod
    def _with_output(deliveries: list[Any], index: Any, output: Event | None,
                     registry: TypeRegistry, short: str) -> list[Any]:
        """The snapshot's pending deliveries with the step's returned event put in (a
        checkpoint leaves it out of its snapshot, as it holds it as its output event)."""
        if output is None or not isinstance(index, int) or not 0 <= index < len(deliveries) \
                or not isinstance(deliveries[index], dict):
            raise CorruptCheckpoint(f"cannot resume from checkpoint {short}: its snapshot does "
                                    f"not hold the delivery of the step's output event")
        out = list(deliveries)
        out[index] = {**deliveries[index], "event": registry.serializer.serialize(output)}
        return out

    @staticmethod
    def _state(stored: Any, edit: dict[str, Any] | None, registry: TypeRegistry,
               short: str) -> tuple[Any, dict[str, Any] | None]:
        """The ``ctx.store`` state model to resume with, and the record of the edit (or None)."""
        try:
            model = registry.reading(lambda: state_model(stored, registry))
        except Exception as exc:
            if "allowed types" in str(exc):
                raise UnknownEventType(f"cannot resume from checkpoint {short}: its ctx.store "
                                       f"holds a value of a class that is not loaded ({exc})"
                                       ) from None
            raise CorruptCheckpoint(f"cannot resume from checkpoint {short}: its ctx.store state "
                                    f"does not fit {registry.state_type.__name__} ({exc})") from None
        if edit is None:
            return model, None
        if not isinstance(edit, dict) or not all(isinstance(k, str) for k in edit):
            raise InvalidEdit(f"state must be a dict of ctx.store keys to new values, got "
                              f"{type(edit).__name__}")
        from .state_edit import edit_state

        return edit_state(model, edit, registry)

    def _rebuild(self, context: dict[str, Any], model: Any, registry: TypeRegistry,
                 short: str) -> Any:
        """A context ready to run: the stored snapshot with ``model`` as its state."""
        ser = registry.serializer
        try:
            state = InMemoryStateStore(model).to_dict(ser)
        except ValueError as exc:  # a value flowpoint stores but the runtime's JSON does not
            raise SerializationError(
                f"cannot resume from checkpoint {short}: llama-index-workflows cannot load its "
                f"ctx.store into a run ({exc}); give such a value as plain JSON data with "
                f"state={{key: ...}} (a datetime as an ISO string), or keep it in a typed "
                f"state") from None
        payload = {**context, "state": state}
        try:
            with ser.validation_context():
                return Context.from_dict(self.workflow, payload, serializer=ser)
        except Exception as exc:
            if "allowed types" in str(exc):
                raise UnknownEventType(f"cannot resume from checkpoint {short}: its snapshot "
                                       f"names a class that is not loaded ({exc})") from None
            raise CorruptCheckpoint(f"cannot resume from checkpoint {short}: the runtime "
                                    f"cannot load its snapshot ({type(exc).__name__}: {exc})"
                                    ) from None


def _check_given_context(ctx: Any) -> None:
    """A ``ctx=`` given to run_from must be a 2.x Context that is not running."""
    if ctx is None:
        return
    if not isinstance(ctx, Context):
        raise InvalidEdit(f"ctx must be a workflows.Context of the workflow, got "
                          f"{type(ctx).__name__}")
    if ctx.is_running:
        raise InvalidEdit("ctx is running a workflow; pass a Context that is not running (or "
                          "none: the new run then gets its own, as handler.ctx)")


def _load_into(given: Any, loaded: Any) -> Any:
    """``given`` (the user's Context) made to hold ``loaded``'s pre-run state, as 2.x itself
    does when a context runs again; ``loaded`` if none was given."""
    if given is None:
        return loaded
    given._face = loaded._face
    return given


def _without_event(context: dict[str, Any], index: Any) -> bool:
    """True if the snapshot's delivery of the step's output is stored without its event."""
    deliveries = context.get("deliveries", [])
    return isinstance(index, int) and 0 <= index < len(deliveries) and \
        isinstance(deliveries[index], dict) and "event" not in deliveries[index]
