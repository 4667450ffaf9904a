"""What the explorer reads from the store: runs, checkpoint records (no state), filter queries.

One ``list_runs`` and one ``list_checkpoints`` per refresh, whatever the number of checkpoints;
filters become one more store query. Context snapshots are never loaded here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..checkpoints.checkpointer import WorkflowCheckpointer
from ..checkpoints.model import Run, type_name
from ..storage.records import CheckpointQuery, CheckpointRecord

#: Filter value of the step dropdown that matches the start checkpoint (``step is None``).
START = "(start)"


@dataclass
class Loaded:
    """One read of the store: the runs shown (oldest first) and all their checkpoint records.

    ``total_runs`` counts the runs that could be shown (all, or those named) before ``max_runs``.
    """

    runs: dict[str, Run]
    total_runs: int
    records: list[CheckpointRecord]
    limited: bool = False
    by_id: dict[str, CheckpointRecord] = field(default_factory=dict)
    last_of_run: dict[str, CheckpointRecord] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rec in self.records:
            self.by_id[rec.id] = rec
            last = self.last_of_run.get(rec.run_id)
            if last is None or rec.seq >= last.seq:
                self.last_of_run[rec.run_id] = rec


def load(ckptr: WorkflowCheckpointer, max_runs: int, run_ids: list[str] | None) -> Loaded:
    """Read the newest ``max_runs`` runs (or the runs named by id / prefix) and their records."""
    runs = ckptr.runs
    ids = list(runs) if run_ids is None else [
        r for r in runs if any(r.startswith(p) for p in run_ids)]
    wanted = ids[-max_runs:] if max_runs > 0 else []
    shown = {r: runs[r] for r in wanted}
    if not wanted:
        records: list[CheckpointRecord] = []
    else:
        query = None if len(wanted) == len(runs) else CheckpointQuery(run_ids=tuple(wanted))
        records = [r for r in ckptr.store.list_checkpoints(query) if r.run_id in shown]
    return Loaded(shown, len(ids), records, limited=len(wanted) < len(runs))


def run_label(run: Run) -> str:
    """The text of a run in lanes and dropdowns: workflow, and whether it was resumed or edited."""
    extra = " · edited" if run.edited else (" · resumed" if run.origin_checkpoint_id else "")
    return f"{run.workflow}{extra}"


def timeline_runs(runs: dict[str, Run]) -> list[dict[str, Any]]:
    """Lanes for the timeline, one per run, in the order given."""
    return [{"run_id": r.run_id, "label": run_label(r), "status": r.status,
             "workflow": r.workflow, "origin_checkpoint_id": r.origin_checkpoint_id,
             "started_at": r.started_at} for r in runs.values()]


def options(loaded: Loaded) -> dict[str, list[tuple[str, str]]]:
    """Dropdown options (label, value) for run, step, input type, output type, status."""
    steps: dict[str, None] = {}
    inputs: dict[str, None] = {}
    outputs: dict[str, None] = {}
    for rec in loaded.records:
        steps[rec.step if rec.step is not None else START] = None
        if rec.input_type:
            inputs[rec.input_type] = None
        if rec.output_type:
            outputs[rec.output_type] = None
    runs = [(f"{r.run_id[:8]} {run_label(r)} ({r.status})", r.run_id)
            for r in reversed(list(loaded.runs.values()))]
    statuses = sorted({r.status for r in loaded.runs.values()})

    def types(keys: dict[str, None]) -> list[tuple[str, str]]:
        names = [type_name(k) or k for k in keys]
        dup = {n for n in names if names.count(n) > 1}
        return sorted((k if n in dup else n, k) for n, k in zip(names, keys, strict=True))

    step_opts = [(s, s) for s in sorted(steps, key=lambda s: (s != START, s))]
    return {
        "run": [("all runs", "")] + runs,
        "step": [("any step", "")] + step_opts,
        "input_type": [("any input", "")] + types(inputs),
        "output_type": [("any output", "")] + types(outputs),
        "status": [("any status", "")] + [(s, s) for s in statuses],
    }


def filter_kwargs(values: dict[str, str]) -> dict[str, Any]:
    """``checkpointer.query`` keyword arguments for the filter widgets' values ("" = any)."""
    kw: dict[str, Any] = {}
    if values.get("run"):
        kw["run_id"] = values["run"]
    if values.get("step"):
        kw["last_completed_step"] = [None] if values["step"] == START else values["step"]
    if values.get("input_type"):
        kw["input_event_type"] = values["input_type"]
    if values.get("output_type"):
        kw["output_event_type"] = values["output_type"]
    if values.get("status"):
        kw["status"] = values["status"]
    if values.get("text", "").strip():
        kw["text"] = values["text"].strip()
    return kw


def filtered(ckptr: WorkflowCheckpointer, loaded: Loaded,
             values: dict[str, str]) -> list[CheckpointRecord]:
    """The records matching the filters, queried from the store (all shown runs if none is set)."""
    kw = filter_kwargs(values)
    if not kw:
        return loaded.records
    if "run_id" not in kw and loaded.limited:
        kw["run_id"] = list(loaded.runs)
    query = ckptr.query(**kw)
    return [r for r in ckptr.store.list_checkpoints(query) if r.run_id in loaded.runs]


def row_label(rec: CheckpointRecord, run: Run | None) -> str:
    """One fixed-width line of the table (plain text: the list widget shows it as text)."""
    step = rec.step if rec.step is not None else START
    status = run.status if run is not None else "?"
    return (f"{rec.run_id[:8]} {rec.seq:>4}  {_fit(step, 16)} "
            f"{_fit(type_name(rec.output_type) or '—', 16)} {status}")


ROW_HEADER = f"{'run':<8} {'seq':>4}  {'step':<16} {'output':<16} status"


def _fit(text: str, width: int) -> str:
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)
