"""The control loop's state in the runtime's own snapshot format, the part a resume loads.

``BrokerState.to_serialized(...).model_dump(mode="json", exclude_defaults=True)`` builds a tree of
pydantic models only to turn it into a dict, at every checkpoint. ``loop_context`` writes the
same dict directly for the states ordinary runs are in (queues, work in flight, collect buffers,
waiters, pending deliveries) and takes the runtime's own path for the rest (retried attempts that
carry an exception, collection streams, child workflows). Contract tests check both agree.
"""

from __future__ import annotations

from typing import Any

from workflows.context.context_types import CURRENT_SERIALIZED_VERSION
from workflows.runtime.types.internal_state import BrokerState

from .eventtext import EventTexts


def busy(broker: BrokerState) -> list[tuple[Any, Any]]:
    """The (step id, worker state) of steps with work in their record. Idle steps are left out
    of a snapshot (a resume takes them from the workflow's own step configuration), so its size
    follows the work in flight, not the step count."""
    return [(k, w) for k, w in broker.workers.items()
            if w.queue or w.in_progress or w.collected_events or w.collected_waiters
            or w.static_collect_events]


def loop_context(broker: BrokerState, texts: EventTexts,
                 steps: list[tuple[Any, Any]] | None = None, output: Any = None
                 ) -> tuple[dict[str, Any], int | None]:
    """The snapshot of ``broker`` without its ``state`` (ctx.store is stored apart), events as
    the runtime's serializer writes them; defaults are left out (loading fills them in).
    ``steps``: ``busy(broker)`` if already known. With the step's ``output`` event, its pending
    delivery is written without the event (the checkpoint holds it as its output event; a resume
    puts it back): also returns that delivery's index, or None."""
    if steps is None:
        steps = busy(broker)
    if broker.children or broker.streams or broker.collection_release_states:
        return _by_runtime(broker, texts, steps), _index_of(broker, output)
    text = texts.serialize
    workers: dict[str, Any] = {}
    for step_id, worker in steps:
        out: dict[str, Any] = {}
        if worker.queue:
            queue = [_attempt(a, text) for a in worker.queue]
            if None in queue:
                return _by_runtime(broker, texts, steps), _index_of(broker, output)
            out["queue"] = queue
        if worker.in_progress:
            running = [_in_progress(p, text) for p in worker.in_progress]
            if None in running:
                return _by_runtime(broker, texts, steps), _index_of(broker, output)
            out["in_progress"] = running
        if worker.collected_events:
            out["collected_events"] = {k: [text(e) for e in evs]
                                       for k, evs in worker.collected_events.items()}
        if worker.collect_generations:
            out["collect_generations"] = dict(worker.collect_generations)
        if worker.static_collect_events:
            out["static_collect_events"] = [text(e) for e in worker.static_collect_events]
        if worker.collected_waiters:
            out["collected_waiters"] = [_waiter(w, text) for w in worker.collected_waiters]
        workers[str(step_id)] = out
    context: dict[str, Any] = {}
    if broker.is_running:
        context["is_running"] = True
    if workers:
        context["workers"] = workers
    if broker.stream_seq:
        context["stream_seq"] = int(broker.stream_seq)
    if broker.work_item_seq:
        context["work_item_seq"] = int(broker.work_item_seq)
    if broker.invocation_seq:
        context["invocation_seq"] = int(broker.invocation_seq)
    index = None
    if broker.deliveries:
        deliveries = context["deliveries"] = []
        for key, d in broker.deliveries.items():
            if output is not None and index is None and d.event is output:
                index = len(deliveries)
                deliveries.append(_delivery(key, d, None))
            else:
                deliveries.append(_delivery(key, d, text))
    if broker.elapsed_alive:
        context["elapsed_alive"] = float(broker.elapsed_alive)
    if broker.last_alive_stamp is not None:
        context["last_alive_stamp"] = float(broker.last_alive_stamp)
    if broker.journal_seq:
        context["journal_seq"] = int(broker.journal_seq)
    context["version"] = CURRENT_SERIALIZED_VERSION
    return context, index


def _index_of(broker: BrokerState, output: Any) -> int | None:
    """The index of the pending delivery of ``output`` (left as the runtime writes it)."""
    if output is None:
        return None
    return next((i for i, d in enumerate(broker.deliveries.values()) if d.event is output), None)


def _by_runtime(broker: BrokerState, texts: EventTexts,
                steps: list[tuple[Any, Any]]) -> dict[str, Any]:
    """The runtime's own serialization of the busy steps (every field it knows)."""
    trimmed = object.__new__(BrokerState)
    trimmed.__dict__.update(broker.__dict__)
    trimmed.workers = dict(steps)
    serialized = trimmed.to_serialized(texts)  # type: ignore[arg-type]
    context = serialized.model_dump(mode="json", exclude_defaults=True)
    context["version"] = serialized.version  # the format marker is kept even at its default
    context.pop("state", None)
    return context


def _recovery(item: Any, out: dict[str, Any]) -> None:
    """The recovery counts and scope path of a queued item, attempt or delivery, when set."""
    if item.recovery_counts:
        out["recovery_counts"] = dict(item.recovery_counts)
    if item.scope_path:
        out["scope_path"] = list(item.scope_path)


def _common(item: Any, text: Any, out: dict[str, Any]) -> bool:
    """The fields queued and running attempts share; False if one needs the runtime's path."""
    if item.last_exception is not None:
        return False
    if item.bound_events is not None:
        out["bound_events"] = {k: text(e) for k, e in item.bound_events.items()}
    if item.attempts:
        out["attempts"] = int(item.attempts)
    if item.first_attempt_at is not None:
        out["first_attempt_at"] = float(item.first_attempt_at)
    if item.last_failed_at is not None:
        out["last_failed_at"] = float(item.last_failed_at)
    _recovery(item, out)
    return True


def _attempt(a: Any, text: Any) -> dict[str, Any] | None:
    out: dict[str, Any] = {"event": text(a.event)}
    if not _common(a, text, out):
        return None
    if a.not_before is not None:
        out["not_before"] = float(a.not_before)
    if a.collection_release_payload is not None:
        out["collection_release_payload"] = _payload(a.collection_release_payload, text)
    if a.work_item_id is not None:
        out["work_item_id"] = a.work_item_id
    return out


def _in_progress(p: Any, text: Any) -> dict[str, Any] | None:
    out: dict[str, Any] = {"event": text(p.event)}
    if not _common(p, text, out):
        return None
    shared = p.shared_state
    if shared.collection_release_payload is not None:
        out["collection_release_payload"] = _payload(shared.collection_release_payload, text)
    if p.work_item_id is not None:
        out["work_item_id"] = p.work_item_id
    if p.worker_id is not None:
        out["worker_id"] = int(p.worker_id)
    if p.invocation_id is not None:
        out["invocation_id"] = p.invocation_id
    if p.received:
        out["received"] = sorted(p.received)
    if shared.collected_events:
        out["collected_events"] = {k: [text(e) for e in evs]
                                   for k, evs in shared.collected_events.items()}
    if p.collect_generations:
        out["collect_generations"] = dict(p.collect_generations)
    return out


def _payload(payload: Any, text: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"binding_id": payload.binding_id, "stream_id": payload.stream_id}
    if payload.events:
        out["events"] = [text(e) for e in payload.events]
    if payload.output_scope_path:
        out["output_scope_path"] = list(payload.output_scope_path)
    return out


def _waiter(w: Any, text: Any) -> dict[str, Any]:
    waiting = w.waiting_for_event
    out: dict[str, Any] = {"waiter_id": w.waiter_id, "event": text(w.event)}
    if w.bound_events is not None:
        out["bound_events"] = {k: text(e) for k, e in w.bound_events.items()}
    out["waiting_for_event"] = f"{waiting.__module__}.{waiting.__name__}"
    if len(w.requirements) or w.has_requirements:
        out["has_requirements"] = True
    if w.resolved_event:
        out["resolved_event"] = text(w.resolved_event)
    if w.scope_path:
        out["scope_path"] = list(w.scope_path)
    if w.collection_release_payload is not None:
        out["collection_release_payload"] = _payload(w.collection_release_payload, text)
    if w.work_item_id is not None:
        out["work_item_id"] = w.work_item_id
    return out


def _delivery(key: Any, d: Any, text: Any) -> dict[str, Any]:
    """A pending delivery; without its event if ``text`` is None."""
    out: dict[str, Any] = {"invocation_id": key.invocation_id, "index": int(key.index)}
    if text is not None:
        out["event"] = text(d.event)
    if d.step_id is not None:
        out["step_id"] = str(d.step_id)
    _recovery(d, out)
    return out
