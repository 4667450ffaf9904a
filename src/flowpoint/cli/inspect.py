"""``flowpoint show`` and ``flowpoint diff``: one checkpoint or run, or what changed between two.

Stored events are shown as stored data (type name and fields); nothing named in them is imported.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from ..checkpoints import Checkpoint, diff
from ..checkpoints.lookup import normal_id
from ..checkpoints.restore import corrupt_paths
from ..storage import CheckpointQuery, CheckpointRecord, CheckpointStore, RunRecord
from ..storage.records import TABLE_COLUMNS
from .listing import output_format
from .lookup import find_checkpoint_or_run, mark_stale_runs
from .output import console, emit_json, iso, seconds, short, table, text, type_name, when
from .session import Session


def _event(raw: Any) -> str:
    """A stored event as 'TypeName {fields}'."""
    if raw is None:
        return ""
    if isinstance(raw, dict) and "__event__" in raw:
        data = raw.get("data")
        if "__pickle__" in raw:
            data = "(pickled; not loaded)"
        return f"{type_name(str(raw['__event__']))} {text(data, 400)}"
    return text(raw, 400)


def checkpoint_json(rec: CheckpointRecord) -> dict[str, Any]:
    """A checkpoint record as JSON-able data, times in ISO 8601."""
    data = dataclasses.asdict(rec)
    data["created_at"] = iso(rec.created_at)
    return data


def run_json(rec: RunRecord) -> dict[str, Any]:
    """A run record as JSON-able data, times in ISO 8601."""
    data = dataclasses.asdict(rec)
    for name in ("started_at", "ended_at", "heartbeat_at"):
        data[name] = iso(data[name])
    return data


def _show_checkpoint(store: CheckpointStore, rec: CheckpointRecord, full: bool) -> None:
    run = store.get_run(rec.run_id)
    state = rec.ctx_state if isinstance(rec.ctx_state, dict) else {}
    out = console()
    fields = [
        ("checkpoint", rec.id), ("run", rec.run_id),
        ("workflow", run.workflow if run else "?"), ("run status", run.status if run else "?"),
        ("seq", rec.seq), ("step", rec.step or "(start: before the StartEvent)"),
        ("created (UTC)", when(rec.created_at)), ("step duration", seconds(rec.step_duration_s)),
        ("parent", rec.parent_id or ""), ("serializer", rec.serializer),
        ("metadata", text(rec.metadata, 400) if rec.metadata else ""),
        ("input event", _event(rec.input_event)), ("output event", _event(rec.output_event)),
    ]
    store_state = state.get("store")
    if isinstance(store_state, dict):
        for key, value in store_state.items():
            fields.append((f"store[{key!r}]", text(value, 400)))
    for part in ("queues", "in_progress"):
        pending = state.get(part)
        if isinstance(pending, dict):
            for step, events in pending.items():
                if events:
                    fields.append((f"{part}[{step}]",
                                   ", ".join(_event(e) for e in events[:5])
                                   + (f" … {len(events) - 5} more" if len(events) > 5 else "")))
    log = state.get("event_log")
    if isinstance(log, list):
        fields.append(("event log", f"{len(log)} events"))
    damaged = corrupt_paths(rec.ctx_state) if rec.ctx_state is not None else []
    if damaged:
        fields.append(("damaged", "; ".join(damaged[:5])))
    out.print(table(f"checkpoint {short(rec.id)}", ["field", "value"], fields))
    if full:
        out.print_json(data=rec.ctx_state, default=repr)


def _show_run(store: CheckpointStore, rec: RunRecord, full: bool) -> None:
    out = console()
    err = rec.error if isinstance(rec.error, dict) else {}
    fields: list[tuple[str, Any]] = [
        ("run", rec.run_id), ("workflow", rec.workflow), ("status", rec.status),
        ("started (UTC)", when(rec.started_at)), ("ended (UTC)", when(rec.ended_at)),
        ("duration", "" if rec.ended_at is None else seconds(rec.ended_at - rec.started_at)),
        ("resumed from", rec.origin_checkpoint_id or ""),
        ("edited", text(rec.edited, 400) if rec.edited else ""),
    ]
    if err:
        fields.append(("error", text(f"{err.get('type', '')}: "
                                     f"{err.get('message', err.get('$corrupt', ''))}", 400)))
    if rec.result is not None:
        fields.append(("result", text(rec.result, 400)))
    out.print(table(f"run {short(rec.run_id)}", ["field", "value"], fields))
    if full and err.get("traceback"):
        out.print(str(err["traceback"]))
    rows = store.table_rows(CheckpointQuery(run_ids=(rec.run_id,)))
    col = {name: i for i, name in enumerate(TABLE_COLUMNS)}
    out.print(table(f"{len(rows)} checkpoints", ["id", "seq", "step", "output", "created (UTC)"],
                    ([short(r[col["id"]]), r[col["seq"]], r[col["step"]] or "(start)",
                      type_name(r[col["output_type"]]), when(r[col["created_at"]])]
                     for r in rows)))


@click.command()
@click.argument("ident", metavar="ID")
@click.option("--full", is_flag=True, help="also the whole context snapshot / the traceback")
@click.option("--json", "as_json", is_flag=True, help="the whole record as JSON on stdout")
@click.pass_obj
def show(session: Session, ident: str, full: bool, as_json: bool) -> None:
    """Show one checkpoint or run, by id or unique id prefix."""
    store = session.store()
    mark_stale_runs(store)
    found = find_checkpoint_or_run(store, ident)
    if isinstance(found, CheckpointRecord):
        if as_json:
            return emit_json({"checkpoint": checkpoint_json(found)})
        return _show_checkpoint(store, found, full)
    if as_json:
        rows = store.list_checkpoints(CheckpointQuery(run_ids=(found.run_id,)))
        return emit_json({"run": run_json(found),
                          "checkpoints": [checkpoint_json(r) for r in rows]})
    return _show_run(store, found, full)


@click.command("diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("--json", "as_json", is_flag=True, help="the changes as JSON on stdout")
@click.pass_obj
def diff_cmd(session: Session, a: str, b: str, as_json: bool) -> None:
    """What changed from checkpoint A to checkpoint B: events, metadata and context state."""
    output_format(as_json, False)
    store = session.store()
    left = Checkpoint.from_record(store.get_checkpoint(normal_id(a)))
    right = Checkpoint.from_record(store.get_checkpoint(normal_id(b)))
    d = diff(left, right)
    if as_json:
        return emit_json({"a": left.id_, "b": right.id_, "counts": d.counts(),
                          "changes": [dataclasses.asdict(c) for c in d.changes]})
    counts = d.counts()
    title = (f"{short(left.id_)} → {short(right.id_)}: {counts['added']} added, "
             f"{counts['removed']} removed, {counts['changed']} changed")
    out = console()
    if not d.changes:
        out.print(f"{title}: no differences")
        return
    out.print(table(title, ["path", "change", "before", "after"],
                    ([c.path, c.kind, "" if c.kind == "added" else text(c.before),
                      "" if c.kind == "removed" else text(c.after)] for c in d.changes)))
