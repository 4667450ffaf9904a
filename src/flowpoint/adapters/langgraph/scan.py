"""One scan of a LangGraph saver as flowpoint sees it (runs, checkpoint records, table rows and
search text, built once per checkpoint), and queries answered over it."""

from __future__ import annotations

import json
from typing import Any

from ...storage.records import SORT_KEYS, CheckpointQuery, CheckpointRecord, RunRecord
from .history import Branch, Node, record_of


def _bare(key: str | None) -> str | None:
    return None if key is None else key.rsplit(".", 1)[-1]


def _type_ok(wanted: tuple[str, ...], key: str | None) -> bool:
    return key in wanted or _bare(key) in wanted


class ScanIndex:
    """One scan of the saver: branches as runs, nodes by checkpoint id, records in run order."""

    def __init__(self, branch_list: list[Branch], runs: dict[str, RunRecord],
                 records: dict[str, CheckpointRecord]) -> None:
        self.branches = {b.run_id: b for b in branch_list}
        self.runs = runs
        self.nodes: dict[str, Node] = {n.id: n for b in branch_list for n in b.nodes}
        order = sorted(branch_list, key=lambda b: (runs[b.run_id].started_at, b.run_id))
        self.ordered: list[Node] = [n for b in order for n in b.nodes]
        self._records = records  # kept across scans: a stored checkpoint never changes
        self._texts: dict[str, str] = {}
        self._rows: dict[str, tuple[Any, ...]] = {}
        #: Filtered, ordered checkpoints by (query, live statuses): one scan answers a page,
        #: its count and the lanes of an explorer refresh without filtering again.
        self.selected: dict[Any, list[Node]] = {}

    def record(self, node: Node) -> CheckpointRecord:
        rec = self._records.get(node.id)
        if rec is None:
            rec = self._records[node.id] = record_of(node, with_state=False)
        return rec

    def row(self, node: Node) -> tuple[Any, ...]:
        """The checkpoint's columns of a table row (its run's are added per read)."""
        row = self._rows.get(node.id)
        if row is None:
            rec = self.record(node)
            row = self._rows[node.id] = (
                rec.id, rec.run_id, rec.seq, rec.step, rec.input_type, rec.output_type,
                rec.created_at, rec.step_duration_s, json.dumps(rec.metadata, default=str),
                rec.parent_id)
        return row

    def text(self, node: Node) -> str:
        text = self._texts.get(node.id)
        if text is None:
            rec = self.record(node)
            text = " ".join([rec.id, rec.run_id, rec.step or "", rec.output_type or "",
                             json.dumps(rec.output_event, default=str),
                             json.dumps(rec.metadata, default=str)]).lower()
            self._texts[node.id] = text
        return text


def select_nodes(index: ScanIndex, q: CheckpointQuery, runs: dict[str, RunRecord]) -> list[Node]:
    """The checkpoints matching ``q`` in the order it asks for, as the SQL stores select them."""
    needle = q.text.lower() if q.text else None
    out = []
    for n in index.ordered:
        run = runs[n.run_id]
        if q.run_ids is not None and n.run_id not in q.run_ids:
            continue
        if q.steps is not None and n.step not in q.steps:
            continue
        if not q.include_start and n.step is None:
            continue
        rec = index.record(n)
        if q.input_types is not None and not _type_ok(q.input_types, rec.input_type):
            continue
        if q.output_types is not None and not _type_ok(q.output_types, rec.output_type):
            continue
        if q.statuses is not None and run.status not in q.statuses:
            continue
        if q.workflows is not None and run.workflow not in q.workflows:
            continue
        if q.created_after is not None and not n.created_at >= q.created_after:
            continue
        if q.created_before is not None and not n.created_at < q.created_before:
            continue
        if needle is not None and needle not in index.text(n):
            continue
        out.append(n)
    if q.descending:
        out.reverse()
    if q.sort is not None:
        out.sort(key=_sort_key(q.sort, index, runs), reverse=q.descending)
    return out


def _sort_key(key: str, index: ScanIndex, runs: dict[str, RunRecord]) -> Any:
    """Order like the SQL stores: missing values first ascending, then by value."""
    if key not in SORT_KEYS:
        raise ValueError(f"cannot sort by {key!r}; sort keys: {', '.join(SORT_KEYS)}")

    def value(n: Node) -> tuple[bool, Any]:
        if key in ("status", "workflow"):
            v: Any = getattr(runs[n.run_id], key)
        elif key == "error":
            err = runs[n.run_id].error
            v = err.get("message") if isinstance(err, dict) else None
        elif key == "metadata":
            v = json.dumps(index.record(n).metadata, sort_keys=True, default=str)
        else:
            v = getattr(index.record(n), "step" if key == "step" else key)
        return (v is not None, v if v is not None else 0)

    return value


def page_of(items: list[Any], limit: int | None, offset: int) -> list[Any]:
    """``limit`` items from ``offset`` on (all of them for no limit)."""
    items = items[offset:]
    return items if limit is None else items[:limit]
