"""LangGraph checkpoint tuples as flowpoint runs and checkpoint records.

A thread's checkpoints form a tree through their parent links. The first child of a checkpoint
continues its branch; a later child (a replay), and any checkpoint made by ``update_state``,
starts a fork, shown as a run of its own (``"<thread>~<first checkpoint id tail>"``) resumed
from its parent. The node(s) that wrote
a checkpoint are its step (the nodes whose ``versions_seen`` moved), their writes (pending writes
of the parent) its output event, and the channel values its state.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ...errors import SerializationError
from ...runtime.events import InputRequiredEvent, event_key
from ...runtime.serde import EVENT, encode_value
from ...storage.records import CheckpointRecord, RunRecord
from .events import GraphInput, NodeWrites

INPUT_KEY = event_key(GraphInput)
WRITES_KEY = event_key(NodeWrites)
PROMPT_KEY = event_key(InputRequiredEvent)
#: Written by flowpoint into the metadata of a thread it started from another checkpoint.
ORIGIN_META = "flowpoint_origin"
EDITED_META = "flowpoint_edited"
_SPECIAL_SEEN = {"__input__", "__interrupt__"}


def plain(value: Any, depth: int = 0) -> Any:
    """Read data as JSON-able values (non-string keys become strings, tuples lists)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth > 64:
        return {"$corrupt": "nested too deep"}
    if isinstance(value, dict):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v, depth + 1) for v in value]
    return {"$type": type(value).__name__, "repr": repr(value)[:200]}


def encoded(value: Any, where: str) -> Any:
    """Plain data in flowpoint's stored form (marker keys escaped)."""
    try:
        return encode_value(plain(value), where)
    except SerializationError as exc:
        return {"$corrupt": str(exc)}


def user_channels(values: Any) -> dict[str, Any]:
    """The graph's state: channel values without LangGraph's own bookkeeping channels."""
    if not isinstance(values, dict):
        return {"$corrupt": f"channel_values is a {type(values).__name__}, not an object"}
    return {k: v for k, v in values.items()
            if not (k.startswith("branch:") or k.startswith("__"))}


def _epoch(ts: Any) -> float:
    try:
        return dt.datetime.fromisoformat(str(ts)).timestamp()
    except ValueError:
        return 0.0


def prompt_text(value: Any) -> str:
    """What an ``interrupt(value)`` asks, as text."""
    if isinstance(value, dict) and str(value.get("$type", "")).endswith("Interrupt"):
        inner = value.get("value")
        value = inner.get("value") if isinstance(inner, dict) else inner
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("question", "prompt", "prefix", "message", "text"):
            if isinstance(value.get(key), str):
                return value[key]
    return json.dumps(plain(value), ensure_ascii=False, default=str)


@dataclass
class Node:
    """One LangGraph checkpoint as read from the saver."""

    thread_id: str
    id: str
    parent_id: str | None
    created_at: float
    metadata: dict[str, Any]
    values: Any
    seen: dict[str, Any]
    writes: list[tuple[str, str, Any]]
    children: list[Node] = field(default_factory=list)
    run_id: str = ""
    seq: int = 0
    step: str | None = None
    writers: tuple[str, ...] = ()
    output: dict[str, Any] | None = None

    @property
    def source(self) -> str:
        return str(self.metadata.get("source", ""))

    def pending(self, channel: str) -> list[Any]:
        return [v for _t, c, v in self.writes if c == channel]

    def config(self) -> dict[str, Any]:
        return {"configurable": {"thread_id": self.thread_id, "checkpoint_ns": "",
                                 "checkpoint_id": self.id}}


def node_of(tup: Any) -> Node | None:
    """A root-namespace checkpoint tuple as a Node (subgraph checkpoints are left out)."""
    conf = tup.config.get("configurable", {})
    if conf.get("checkpoint_ns", ""):
        return None
    ckpt = tup.checkpoint if isinstance(tup.checkpoint, dict) else {"$corrupt": "not an object"}
    parent = (tup.parent_config or {}).get("configurable", {}).get("checkpoint_id")
    meta = tup.metadata if isinstance(tup.metadata, dict) else {"$corrupt": repr(tup.metadata)}
    seen = ckpt.get("versions_seen")
    return Node(thread_id=str(conf.get("thread_id")), id=str(conf.get("checkpoint_id")),
                parent_id=parent, created_at=_epoch(ckpt.get("ts")), metadata=meta,
                values=ckpt.get("channel_values", {}) if "$corrupt" not in ckpt else
                {"$corrupt": f"checkpoint: {ckpt['$corrupt']}"},
                seen=seen if isinstance(seen, dict) else {},
                writes=[tuple(w) for w in (tup.pending_writes or [])])


def _writers(node: Node, parent: Node) -> tuple[str, ...]:
    moved = [name for name, versions in node.seen.items()
             if name not in _SPECIAL_SEEN and parent.seen.get(name) != versions]
    return tuple(sorted(moved))


def _node_writes(parent: Node) -> dict[str, Any]:
    """The channel writes stored on ``parent`` by the tasks that ran after it."""
    out: dict[str, Any] = {}
    multi: set[str] = set()
    for _task, channel, value in parent.writes:
        if channel.startswith("branch:") or channel.startswith("__"):
            continue
        if channel in out:
            if channel not in multi:
                out[channel] = [out[channel]]
                multi.add(channel)
            out[channel].append(value)
        else:
            out[channel] = value
    return out


def _changes(node: Node, parent: Node) -> dict[str, Any]:
    before, after = user_channels(parent.values), user_channels(node.values)
    return {k: v for k, v in after.items() if k not in before or before[k] != v}


def _describe(node: Node, parent: Node | None) -> None:
    """Set the step, writers and output of ``node`` from its parent."""
    if node.source == "input" or parent is None:
        node.step = None
        start = node.values.get("__start__") if isinstance(node.values, dict) else None
        node.output = start if isinstance(start, dict) else {"input": start}
        return
    node.writers = _writers(node, parent)
    if node.writers:
        node.step = ", ".join(node.writers)
        node.output = _node_writes(parent)
    elif node.source == "update":  # update_state: the parent's node, with the values changed
        node.step, node.writers = parent.step, parent.writers
        node.output = _changes(node, parent)
    else:  # a copy ("fork") of its parent: the parent's step and output again
        node.step, node.writers, node.output = parent.step, parent.writers, parent.output


@dataclass
class Branch:
    """One run: a thread's main line, or a fork of it."""

    run_id: str
    thread_id: str
    nodes: list[Node]
    origin: Node | None = None

    @property
    def tip(self) -> Node:
        return self.nodes[-1]


def branches(nodes: Iterable[Node]) -> list[Branch]:
    """Runs from checkpoints: per thread, in checkpoint-id (creation) order."""
    by_thread: dict[str, list[Node]] = {}
    for n in nodes:
        by_thread.setdefault(n.thread_id, []).append(n)
    out: list[Branch] = []
    for thread_items in by_thread.values():
        for n in thread_items:
            n.children = []
    for thread_id, items in by_thread.items():
        items.sort(key=lambda n: n.id)
        by_id = {n.id: n for n in items}
        tips: dict[str, Branch] = {}
        used: set[str] = set()
        for n in items:
            parent = by_id.get(n.parent_id) if n.parent_id else None
            _describe(n, parent)
            if parent is not None:
                parent.children.append(n)
            # a checkpoint made by update_state always starts a run of its own
            forked = n.source == "update"
            branch = tips.pop(parent.id, None) if parent is not None and not forked else None
            if branch is None:
                if parent is None and thread_id not in used:
                    run_id = thread_id
                else:
                    run_id = f"{thread_id}~{n.id[-12:]}"
                    if run_id in used:
                        run_id = f"{thread_id}~{n.id}"
                used.add(run_id)
                branch = Branch(run_id, thread_id, [], origin=parent)
                out.append(branch)
                n.seq = parent.seq + 1 if parent is not None else 0
            else:
                n.seq = branch.tip.seq + 1
            n.run_id = branch.run_id
            branch.nodes.append(n)
            tips[n.id] = branch
    return out


def state_of(node: Node, waiting: bool) -> dict[str, Any]:
    """The ctx_state of a LangGraph checkpoint: its state, what runs next, a pending prompt."""
    values = user_channels(node.values)
    state: dict[str, Any] = {
        "store": values if set(values) == {"$corrupt"} else encoded(values, "channel_values"),
        "next": sorted({c.step for c in node.children if c.step}),
        "langgraph": {"thread_id": node.thread_id, "checkpoint_id": node.id,
                      "source": node.source, "step": node.metadata.get("step")},
    }
    interrupts = node.pending("__interrupt__")
    if interrupts:
        flat = [i for group in interrupts for i in (group if isinstance(group, list) else [group])]
        state["interrupts"] = encoded(flat, "interrupts")
        if waiting:
            text = "\n".join(prompt_text(i) for i in flat)
            state["pending_input"] = {EVENT: PROMPT_KEY, "data": {"prefix": text}}
    errors = node.pending("__error__")
    if errors:
        state["error"] = encoded(errors[-1], "error")
    return state


def record_of(node: Node, with_state: bool, waiting: bool = False) -> CheckpointRecord:
    """The flowpoint record of a LangGraph checkpoint."""
    key = INPUT_KEY if node.step is None else WRITES_KEY
    data = encoded(node.output or {}, "output")
    meta = {k: plain(v) for k, v in node.metadata.items() if k not in (ORIGIN_META, EDITED_META)}
    return CheckpointRecord(
        id=node.id, run_id=node.run_id, seq=node.seq, step=node.step, input_type=None,
        output_type=key, input_event=None,
        output_event={EVENT: key, "data": data if isinstance(data, dict) else {"value": data}},
        ctx_state=state_of(node, waiting) if with_state else None, created_at=node.created_at,
        step_duration_s=None, metadata=meta, parent_id=node.parent_id, serializer="json")


def run_of(branch: Branch, graph_name: str, status: str, origin_id: str | None,
           edited: dict[str, Any] | None) -> RunRecord:
    """The flowpoint record of a branch, with the status worked out by the caller."""
    tip = branch.tip
    error = None
    errors = tip.pending("__error__")
    if status == "failed" and errors:
        text = str(errors[-1])
        kind = text.split("(", 1)[0] if "(" in text else "Error"
        error = {"type": kind, "message": text, "traceback": ""}
    result = encoded(user_channels(tip.values), "result") if status == "completed" else None
    return RunRecord(
        run_id=branch.run_id, workflow=graph_name, status=status,
        started_at=branch.nodes[0].created_at,
        ended_at=tip.created_at if status in ("completed", "failed") else None,
        origin_checkpoint_id=origin_id, edited=edited, error=error, result=result)
