"""The stored JSON text of the control loop's snapshot while no step has work in flight.

Most checkpoints of a run are taken in that state: a step returned, its output is a pending
delivery and the next step has not started. Its snapshot (``loop_context``) is a handful of
counters, the alive clock and the deliveries, so its text is written here directly instead of
building the dict and encoding it; it parses to exactly what ``loop_context`` gives (contract
tests compare both at every tick).
"""

from __future__ import annotations

import math
from typing import Any

from workflows.context.context_types import CURRENT_SERIALIZED_VERSION
from workflows.runtime.types.internal_state import BrokerState

from ...storage.contentstore import BLOB_MIN, compact_text
from .eventtext import EventTexts

_VERSION = f'"version":{compact_text(CURRENT_SERIALIZED_VERSION)}'


def idle_context_text(broker: BrokerState, texts: EventTexts,
                      output: Any = None) -> tuple[str, int | None] | None:
    """The text of ``loop_context(broker, texts, [], output)`` and the index of the output's
    delivery, for a control loop whose steps are all idle; None where it does not apply (child
    workflows, streams, a clock that is not finite) or where the deliveries' event texts are
    long (those are better kept apart by the content store)."""
    if broker.children or broker.streams or broker.collection_release_states:
        return None
    elapsed, stamp = broker.elapsed_alive, broker.last_alive_stamp
    if (elapsed and not math.isfinite(elapsed)) or (stamp is not None
                                                    and not math.isfinite(stamp)):
        return None
    parts = ['"is_running":true'] if broker.is_running else []
    if broker.stream_seq:
        parts.append(f'"stream_seq":{int(broker.stream_seq)}')
    if broker.work_item_seq:
        parts.append(f'"work_item_seq":{int(broker.work_item_seq)}')
    if broker.invocation_seq:
        parts.append(f'"invocation_seq":{int(broker.invocation_seq)}')
    index = None
    if broker.deliveries:
        texts.chars = 0
        items = []
        for key, d in broker.deliveries.items():
            item = [f'{{"invocation_id":{_string(key.invocation_id)},"index":{int(key.index)}']
            if output is not None and index is None and d.event is output:
                index = len(items)
            else:
                item.append(f',"event":{compact_text(texts.serialize(d.event))}')
            if d.step_id is not None:
                item.append(f',"step_id":{_string(str(d.step_id))}')
            if d.recovery_counts:
                item.append(f',"recovery_counts":{compact_text(dict(d.recovery_counts))}')
            if d.scope_path:
                item.append(f',"scope_path":{compact_text(list(d.scope_path))}')
            item.append("}")
            items.append("".join(item))
        if texts.chars > BLOB_MIN:
            return None
        parts.append(f'"deliveries":[{",".join(items)}]')
    if elapsed:
        parts.append(f'"elapsed_alive":{float(elapsed)!r}')
    if stamp is not None:
        parts.append(f'"last_alive_stamp":{float(stamp)!r}')
    if broker.journal_seq:
        parts.append(f'"journal_seq":{int(broker.journal_seq)}')
    parts.append(_VERSION)
    return "{" + ",".join(parts) + "}", index


def _string(value: Any) -> str:
    """A JSON string; names the runtime makes (ids, step names) are written as they are."""
    if type(value) is str and value.isidentifier() and value.isascii():
        return f'"{value}"'
    return compact_text(value)
