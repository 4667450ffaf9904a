"""``flowpoint runs`` and ``flowpoint checkpoints``: tables of what a store holds."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

from ..storage import RUN_STATUSES, CheckpointQuery, RunRecord
from ..storage.records import TABLE_COLUMNS
from .lookup import find_runs, mark_stale_runs
from .output import console, emit_csv, emit_json, iso, seconds, short, table, text, type_name, when
from .session import CliError, Session
from .timespec import parse_time

_START_NAMES = ("start", "(start)", "none")
RUN_FIELDS = ("run_id", "workflow", "status", "started_at", "ended_at", "duration_s",
              "origin_checkpoint_id", "edited", "error_type", "error_message")


def values(options: Iterable[str]) -> list[str]:
    """Repeated and comma-separated option values, flattened (an OR inside one filter)."""
    return [v.strip() for opt in options for v in opt.split(",") if v.strip()]


def output_format(as_json: bool, as_csv: bool) -> str:
    if as_json and as_csv:
        raise CliError("choose one of --json and --csv")
    return "json" if as_json else "csv" if as_csv else "table"


def format_options(fn: Any) -> Any:
    fn = click.option("--csv", "as_csv", is_flag=True, help="CSV with a header on stdout.")(fn)
    return click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")(fn)


def _statuses(options: Iterable[str]) -> tuple[str, ...] | None:
    wanted = values(options)
    for s in wanted:
        if s not in RUN_STATUSES:
            raise CliError(f"unknown status {s!r}; use one of {', '.join(RUN_STATUSES)}")
    return tuple(wanted) or None


def _run_row(r: RunRecord) -> dict[str, Any]:
    err = r.error if isinstance(r.error, dict) else {}
    return {
        "run_id": r.run_id, "workflow": r.workflow, "status": r.status,
        "started_at": iso(r.started_at), "ended_at": iso(r.ended_at),
        "duration_s": None if r.ended_at is None else round(r.ended_at - r.started_at, 6),
        "origin_checkpoint_id": r.origin_checkpoint_id, "edited": bool(r.edited),
        "error_type": err.get("type"), "error_message": err.get("message", err.get("$corrupt")),
    }


@click.command()
@click.option("--status", "statuses", multiple=True, metavar="S",
              help=f"only runs with this status ({', '.join(RUN_STATUSES)}); repeat or "
                   "comma-separate for several")
@click.option("--workflow", "workflows", multiple=True, metavar="W",
              help="only runs of this workflow (its class name)")
@click.option("--limit", type=click.IntRange(min=1), help="only the newest N runs")
@format_options
@click.pass_obj
def runs(session: Session, statuses: tuple[str, ...], workflows: tuple[str, ...],
         limit: int | None, as_json: bool, as_csv: bool) -> None:
    """List runs, oldest first: status, times, where a resumed run came from, its error."""
    fmt = output_format(as_json, as_csv)
    store = session.store()
    mark_stale_runs(store)
    wanted = set(values(workflows))
    recs = [r for r in store.list_runs(statuses=_statuses(statuses))
            if not wanted or r.workflow in wanted]
    if limit is not None:
        recs = recs[-limit:]
    rows = [_run_row(r) for r in recs]
    if fmt == "json":
        return emit_json(rows)
    if fmt == "csv":
        return emit_csv(RUN_FIELDS, ([row[c] for c in RUN_FIELDS] for row in rows))
    out = console()
    out.print(table(
        f"{len(rows)} runs in {store.url}",
        ["run", "workflow", "status", "started (UTC)", "duration", "resumed from", "edited",
         "error"],
        ([short(r.run_id), r.workflow, r.status, when(r.started_at),
          "" if row["duration_s"] is None else seconds(row["duration_s"]),
          short(r.origin_checkpoint_id), "yes" if r.edited else "",
          text(f"{row['error_type']}: {row['error_message']}", 60) if row["error_type"]
          or row["error_message"] else ""] for r, row in zip(recs, rows, strict=True))))


def _steps(options: Iterable[str]) -> tuple[str | None, ...] | None:
    items = values(options)
    if not items:
        return None
    return tuple(None if s.lower() in _START_NAMES else s for s in items)


def _json_cell(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@click.command()
@click.option("--run", "--run-id", "run_ids", multiple=True, metavar="RUN",
              help="only checkpoints of this run (id or id prefix)")
@click.option("--step", "--last-completed-step", "steps", multiple=True, metavar="STEP",
              help="only checkpoints taken after this step; 'start' for the start checkpoints")
@click.option("--input-type", "--input-event-type", "input_types", multiple=True, metavar="T",
              help="input event class name (JokeEvent) or full key (pkg.mod.JokeEvent)")
@click.option("--output-type", "--output-event-type", "output_types", multiple=True, metavar="T",
              help="output event class name or full key")
@click.option("--status", "statuses", multiple=True, metavar="S",
              help="status of the checkpoint's run (completed, failed, ...)")
@click.option("--workflow", "workflows", multiple=True, metavar="W",
              help="workflow of the checkpoint's run")
@click.option("--search", "--text", "search", metavar="TEXT",
              help="case-insensitive text in ids, step, event types, events and metadata")
@click.option("--since", "--created-after", "since", metavar="WHEN",
              help="created at or after: an age (30m, 12h, 7d) or an ISO date")
@click.option("--until", "--created-before", "until", metavar="WHEN",
              help="created before: an age or an ISO date")
@click.option("--limit", type=click.IntRange(min=1), help="at most N checkpoints")
@click.option("--newest-first", "--descending", "descending", is_flag=True,
              help="newest runs first (default: oldest first, each run in seq order)")
@format_options
@click.pass_obj
def checkpoints(session: Session, run_ids: tuple[str, ...], steps: tuple[str, ...],
                input_types: tuple[str, ...], output_types: tuple[str, ...],
                statuses: tuple[str, ...], workflows: tuple[str, ...], search: str | None,
                since: str | None, until: str | None, limit: int | None, descending: bool,
                as_json: bool, as_csv: bool) -> None:
    """List checkpoints, start checkpoints (seq 0) included; filters combine with AND.

    Repeat an option (or comma-separate its values) for an OR inside that filter. The filters
    are those of WorkflowCheckpointer.filter_checkpoints, run as SQL in the store.
    """
    fmt = output_format(as_json, as_csv)
    store = session.store()
    mark_stale_runs(store)
    query = CheckpointQuery(
        run_ids=tuple(find_runs(store, values(run_ids))) or None,
        steps=_steps(steps),
        input_types=tuple(values(input_types)) or None,
        output_types=tuple(values(output_types)) or None,
        statuses=_statuses(statuses),
        workflows=tuple(values(workflows)) or None,
        text=search or None,
        created_after=parse_time(since, "--since") if since else None,
        created_before=parse_time(until, "--until") if until else None,
        descending=descending,
    )
    rows = store.table_rows(query, limit=limit)
    col = {name: i for i, name in enumerate(TABLE_COLUMNS)}
    if fmt in ("json", "csv"):
        records = []
        for r in rows:
            rec = dict(zip(TABLE_COLUMNS, r, strict=True))
            rec["created_at"] = iso(rec["created_at"])
            rec["metadata"] = _json_cell(rec["metadata"])
            rec["edited"] = _json_cell(rec["edited"])
            records.append(rec)
        if fmt == "json":
            return emit_json(records)
        return emit_csv(TABLE_COLUMNS, ([rec[c] for c in TABLE_COLUMNS] for rec in records))
    out = console()
    out.print(table(
        f"{len(rows)} checkpoints in {store.url}",
        ["id", "run", "seq", "step", "input", "output", "run status", "created (UTC)",
         "duration", "metadata"],
        ([short(r[col["id"]]), short(r[col["run_id"]]), r[col["seq"]],
          r[col["step"]] or "(start)", type_name(r[col["input_type"]]),
          type_name(r[col["output_type"]]), r[col["status"]], when(r[col["created_at"]]),
          seconds(r[col["step_duration_s"]]),
          "" if r[col["metadata"]] in (None, "{}") else text(r[col["metadata"]], 40)]
         for r in rows)))
