"""What the explorer reads: one page of table rows, counts, filter options and timeline lanes.

Every filter, the search, the sort and the paging are evaluated by the store over every run
(SQL in the SQL stores); only the page shown and the lanes of its runs are read. Context
snapshots are never read here, only by the detail of the one selected checkpoint.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from typing import Any

from ...checkpoints.checkpointer import WorkflowCheckpointer
from ...checkpoints.model import type_name
from ...checkpoints.query import checkpoint_query
from ...runtime.workflow import Workflow
from ...storage.records import TABLE_COLUMNS, CheckpointQuery, RunRecord

#: Filter value of the step filter that matches the start checkpoint (``step is None``).
START = "(start)"
#: Table columns: (key, label, store sort key, numeric).
COLUMNS = (
    ("run", "run", "run_id", False), ("seq", "seq", "seq", True), ("step", "step", "step", False),
    ("input", "input", "input_type", False), ("output", "output", "output_type", False),
    ("status", "status", "status", False), ("created", "created", "created_at", False),
    ("duration", "duration", "step_duration_s", True), ("error", "error", "error", False),
    ("metadata", "metadata", "metadata", False),
)
SORT_OF = {key: sort for key, _label, sort, _num in COLUMNS}
_IDX = {name: i for i, name in enumerate(TABLE_COLUMNS)}
_ENDED = ("completed", "failed", "cancelled", "interrupted")
_FACET_FILTERS = ("status", "step", "input_type", "output_type")


def _seq(value: Any) -> int:
    """A stored seq as an int; stored rows are untrusted, so anything else reads as -1."""
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def workflow_scope(ckptr: WorkflowCheckpointer) -> tuple[str, ...] | None:
    """The workflow names a checkpointer's explorer shows; None (the whole store) for a view."""
    wf = getattr(ckptr, "_workflow", None)
    if isinstance(wf, Workflow):
        return (wf.name,)
    driver = getattr(ckptr, "_driver", None)  # another runtime's workflow: its stored name
    return (driver.name,) if wf is not None and driver is not None else None


def is_read_only(ckptr: WorkflowCheckpointer) -> bool:
    """True for a store view without a workflow: nothing can be resumed or edited from it."""
    return getattr(ckptr, "_workflow", None) is None


def _number(value: Any) -> float | None:
    """A stored number as a float; stored rows are untrusted, so anything else reads as None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _time(epoch: Any) -> str:
    seconds = _number(epoch)
    if seconds is None:
        return ""
    try:
        return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return ""


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=repr, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_text(run: RunRecord | None) -> str:
    """"<step> failed: Type: message" for a failed run, "" otherwise."""
    err = run.error if run is not None else None
    if not isinstance(err, dict) or run is None or run.status != "failed":
        return ""
    if "$corrupt" in err:
        return f"error unreadable: {err['$corrupt']}"
    where = f"{err['step']} failed" if err.get("step") else "failed"
    return f"{where}: {err.get('type', 'Error')}: {err.get('message', '')}"


def outcome(step: str | None, output_type: str | None, is_last: bool, run: RunRecord | None
            ) -> tuple[str, str]:
    """(text, css status) of one checkpoint row: its own outcome, then its run's if it ends it."""
    own = "started" if step is None else (
        "completed" if (type_name(output_type) or "").endswith("StopEvent") else "ok")
    status = run.status if run is not None else "unknown"
    if not is_last or status in ("completed",) or own == "completed":
        return own, "ok" if own != "completed" else "completed"
    return f"{own} · then {status}", status


class Source:
    """Reads for one explorer: the checkpointer's store, scoped to its workflow."""

    def __init__(self, ckptr: WorkflowCheckpointer, run_ids: list[str] | None = None) -> None:
        self.ckptr = ckptr
        self.store = ckptr.store
        self.workflows = workflow_scope(ckptr)
        self.run_ids = run_ids
        self._groups: list[tuple[Any, ...]] | None = None  # table_facets groups of the base
        self._total: int | None = None  # checkpoints of the base, when counted

    def base(self) -> CheckpointQuery:
        """Everything this explorer may show (its workflow, or the runs it was opened on)."""
        return CheckpointQuery(workflows=self.workflows,
                               run_ids=tuple(self.run_ids) if self.run_ids else None)

    def query(self, filters: dict[str, str], sort: str = "", descending: bool = True
              ) -> CheckpointQuery:
        """The store query for the explorer's filters, search and sort."""
        kw: dict[str, Any] = {}
        if filters.get("run"):
            kw["run_id"] = self.ckptr.get_run(filters["run"]).run_id
        elif self.run_ids:
            kw["run_id"] = list(self.run_ids)
        if filters.get("step"):
            kw["last_completed_step"] = [None] if filters["step"] == START else filters["step"]
        if filters.get("input_type"):
            kw["input_event_type"] = filters["input_type"]
        if filters.get("output_type"):
            kw["output_event_type"] = filters["output_type"]
        if filters.get("status"):
            kw["status"] = filters["status"]
        if filters.get("text", "").strip():
            kw["text"] = filters["text"].strip()
        q = checkpoint_query(self.workflows, descending=descending, **kw)
        return dataclasses.replace(q, sort=SORT_OF.get(sort) or None)

    def mark_stale(self) -> None:
        """Mark runs whose process died as interrupted (the checkpointer's query does, once
        per refresh rather than at every filter)."""
        self.ckptr.query()

    def count_of(self, filters: dict[str, str]) -> int | None:
        """How many checkpoints match filters on step, event types and status, counted from
        the groups of the last :meth:`options` (None when other filters need the store, or
        before the groups are read)."""
        if any(k not in _FACET_FILTERS for k in filters):
            return None
        want = {k: v for k, v in filters.items() if v}
        if not want:
            return self._total
        if self._groups is None:
            return None

        def typed(value: str, key: Any, name: Any) -> bool:
            return key == value if "." in value else name == value

        total = 0
        for step, tin, tin_name, tout, tout_name, status, n in self._groups:
            if "step" in want and step != (None if want["step"] == START else want["step"]):
                continue
            if "input_type" in want and not typed(want["input_type"], tin, tin_name):
                continue
            if "output_type" in want and not typed(want["output_type"], tout, tout_name):
                continue
            if "status" in want and status != want["status"]:
                continue
            total += n
        return total

    def count(self, q: CheckpointQuery) -> int:
        return self.store.count_checkpoints(q)

    def page(self, q: CheckpointQuery, page: int, size: int, total: int | None = None
             ) -> tuple[list[dict[str, Any]], dict[str, RunRecord], int]:
        """The rows of one page (dicts for the table), the runs they belong to, and how many
        rows match in all (``total`` when the caller knows it; else one pass of the store where
        it can)."""
        paged = getattr(self.store, "table_page", None)
        if total is not None:
            rows = self.store.table_rows(q, limit=size, offset=page * size)
        elif paged is not None:
            rows, total = paged(q, limit=size, offset=page * size)
        else:
            rows = self.store.table_rows(q, limit=size, offset=page * size)
            total = self.store.count_checkpoints(q)
        run_ids = list(dict.fromkeys(r[_IDX["run_id"]] for r in rows))
        runs = {r.run_id: r for r in self.store.list_runs(run_ids=run_ids)} if run_ids else {}
        last = self.last_seqs(run_ids)
        return [self._row(r, runs.get(r[_IDX["run_id"]]), last) for r in rows], runs, total

    def last_seqs(self, run_ids: list[str]) -> dict[str, int]:
        """The highest seq of each run (whatever the filters), to tell where a run ended."""
        if not run_ids:
            return {}
        fast = getattr(self.store, "last_seqs", None)
        if fast is not None:
            return {run: _seq(seq) for run, seq in fast(run_ids).items()}
        q = CheckpointQuery(run_ids=tuple(run_ids))
        out: dict[str, int] = {}
        for r in self.store.table_rows(q):
            out[r[_IDX["run_id"]]] = max(out.get(r[_IDX["run_id"]], -1), _seq(r[_IDX["seq"]]))
        return out

    def _row(self, r: tuple[Any, ...], run: RunRecord | None, last: dict[str, int]
             ) -> dict[str, Any]:
        g = {name: r[i] for name, i in _IDX.items()}
        g["seq"] = _seq(g["seq"])
        is_last = last.get(g["run_id"]) == g["seq"]
        text, status = outcome(g["step"], g["output_type"], is_last, run)
        err = error_text(run) if is_last else ""
        meta = g["metadata"]
        meta_text = "" if meta in (None, "", "{}") else _short(meta)
        duration = _number(g["step_duration_s"])
        cells = {
            "run": g["run_id"][:8], "seq": str(g["seq"]),
            "step": g["step"] if g["step"] is not None else START,
            "input": type_name(g["input_type"]) or "—", "output": type_name(g["output_type"]) or "—",
            "status": text, "created": _time(g["created_at"]),
            "duration": "" if duration is None else f"{duration:.3f} s",
            "error": _short(err, 90), "metadata": meta_text,
        }
        title = {"run": g["run_id"], "input": g["input_type"] or "", "output": g["output_type"] or "",
                 "status": f"run status: {run.status if run else '?'}", "error": err,
                 "metadata": meta_text}
        return {"id": g["id"], "run_id": g["run_id"], "seq": g["seq"], "step": g["step"],
                "status": status, "run_status": run.status if run else "unknown",
                "cells": cells, "title": title}

    def options(self, filters: dict[str, str]) -> tuple[dict[str, list[list[str]]], int]:
        """Dropdown options (label, value) for status, step and the event types, and how many
        checkpoints this explorer may show in all (one pass of the store where it can)."""
        return self.menus(self.facets(), filters)

    @property
    def has_facets(self) -> bool:
        """True if the store reads the menus' values and counts in one pass (table_facets)."""
        return getattr(self.store, "table_facets", None) is not None

    def facets(self) -> dict[str, Any] | None:
        """The store's ``table_facets`` of everything this explorer may show (None if the store
        has none). Only reads: safe to call from a worker thread."""
        facets = getattr(self.store, "table_facets", None)
        return None if facets is None else facets(self.base())

    def count_all(self) -> int:
        """How many checkpoints this explorer may show (one count, not the facets' pass)."""
        self._total = self.store.count_checkpoints(self.base())
        return self._total

    def forget_counts(self) -> None:
        """The store changed: counts from the last facets no longer hold."""
        self._groups, self._total = None, None

    def menus(self, found: dict[str, Any] | None, filters: dict[str, str]
              ) -> tuple[dict[str, list[list[str]]], int]:
        """:meth:`options` from facets read by :meth:`facets` (None: read the values here)."""
        base = self.base()
        self._groups = None
        if found is not None:
            total = int(found["total"])
            self._groups = found.get("groups")

            def values(column: str) -> list[Any]:
                return list(found[column])
        else:
            distinct = getattr(self.store, "distinct_values", None)
            total = self.store.count_checkpoints(base)

            def values(column: str) -> list[Any]:
                if distinct is not None:
                    return list(distinct(column, base))
                idx = _IDX[column]
                return sorted({r[idx] for r in self.store.table_rows(base, limit=5000)},
                              key=lambda v: (v is not None, v))

        self._total = total
        steps = [START if s is None else s for s in values("step")]

        def types(keys: list[Any]) -> list[list[str]]:
            keys = [k for k in keys if k]
            names = [type_name(k) or k for k in keys]
            dup = {n for n in names if names.count(n) > 1}
            return sorted([k if n in dup else n, k] for n, k in zip(names, keys, strict=True))

        return self.keep_selected({
            "status": [["any status", ""]] + [[s, s] for s in values("status")],
            "step": [["any step", ""]] + [[s, s] for s in steps],
            "input_type": [["any input", ""]] + types(values("input_type")),
            "output_type": [["any output", ""]] + types(values("output_type")),
        }, filters), total

    @staticmethod
    def no_menus() -> dict[str, list[list[str]]]:
        """The menus before their values are read: each with its "any" entry only."""
        return {"status": [["any status", ""]], "step": [["any step", ""]],
                "input_type": [["any input", ""]], "output_type": [["any output", ""]]}

    @staticmethod
    def keep_selected(options: dict[str, list[list[str]]], filters: dict[str, str]
                      ) -> dict[str, list[list[str]]]:
        """The options with each filter's current value among them (set from code, say)."""
        out = {}
        for key, opts in options.items():
            value = filters.get(key, "")
            out[key] = opts + [[value, value]] if value and all(
                v != value for _label, v in opts) else opts
        return out

    def lanes(self, runs: dict[str, RunRecord], q: CheckpointQuery
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Timeline lanes for these runs, newest first (labelled by their start events), and
        their checkpoints matching ``q`` as timeline marks."""
        ordered = sorted(runs.values(), key=lambda r: (r.started_at, r.run_id), reverse=True)
        if not ordered:
            return [], []
        ids = tuple(r.run_id for r in ordered)
        mq = dataclasses.replace(q, run_ids=ids, sort=None, descending=False)
        marks = [{"id": m[_IDX["id"]], "run_id": m[_IDX["run_id"]], "seq": _seq(m[_IDX["seq"]]),
                  "step": m[_IDX["step"]], "output_type": m[_IDX["output_type"]],
                  "created_at": m[_IDX["created_at"]]} for m in self.store.table_rows(mq)]
        starts = {m.run_id: m for m in self.store.list_checkpoints(
            CheckpointQuery(run_ids=ids, steps=(None,)))}
        lanes = []
        for r in ordered:
            err = r.error if isinstance(r.error, dict) else {}
            start = starts.get(r.run_id)
            lanes.append({
                "run_id": r.run_id, "status": r.status, "workflow": r.workflow,
                "origin_checkpoint_id": r.origin_checkpoint_id, "started_at": r.started_at,
                "label": input_summary(start.output_event if start is not None else None, r),
                "edited": bool(r.edited), "resumed": bool(r.origin_checkpoint_id),
                "failed_step": str(err.get("step") or "") if r.status == "failed" else "",
            })
        return lanes, marks


def input_summary(start_event: Any, run: RunRecord) -> str:
    """A short summary of a run's inputs (its StartEvent fields), for its lane label."""
    data = start_event.get("data") if isinstance(start_event, dict) else None
    if isinstance(data, dict) and data:
        return _short(", ".join(f"{k}={_short(v, 24)}" for k, v in data.items()), 48)
    if run.origin_checkpoint_id:
        return f"from {run.origin_checkpoint_id[:8]}"
    return run.workflow
