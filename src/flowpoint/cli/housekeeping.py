"""``flowpoint prune`` and ``flowpoint report``: keeping a store small, and seeing how big it is."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import click

from ..storage import CheckpointStore
from ..storage.records import TABLE_COLUMNS, UNFINISHED_STATUSES
from .listing import output_format
from .lookup import mark_stale_runs
from .output import console, emit_json, err_console, short, size, table
from .session import CliError, Session
from .timespec import parse_time


def doomed_by_run(store: CheckpointStore, keep_last: int | None,
                  older_than: float | None) -> dict[str, list[int]]:
    """Seqs ``store.prune`` would delete, by run: beyond the last ``keep_last`` of the run AND
    created before ``older_than`` (each only if given). Never a start checkpoint, and with
    ``older_than`` never the newest checkpoint of an unfinished (running, waiting, paused) run."""
    seqs: dict[str, list[tuple[int, float]]] = defaultdict(list)
    unfinished: set[str] = set()
    col = {name: i for i, name in enumerate(TABLE_COLUMNS)}
    for row in store.table_rows():
        seqs[row[col["run_id"]]].append((row[col["seq"]], row[col["created_at"]]))
        if row[col["status"]] in UNFINISHED_STATUSES:
            unfinished.add(row[col["run_id"]])
    out: dict[str, list[int]] = {}
    for run_id, items in seqs.items():
        ordered = sorted(items)
        gone = []
        for i, (seq, created) in enumerate(ordered):
            newer = len(ordered) - i - 1
            if seq > 0 and (keep_last is None or newer >= keep_last) and (
                    older_than is None or (created < older_than
                                           and (newer > 0 or run_id not in unfinished))):
                gone.append(seq)
        if gone:
            out[run_id] = gone
    return out


@click.command()
@click.option("--keep-last", type=click.IntRange(min=1), metavar="N",
              help="keep the last N checkpoints of each run")
@click.option("--older-than", metavar="AGE",
              help="delete checkpoints created before this: an age (7d, 12h) or an ISO date")
@click.option("--dry-run", is_flag=True, help="only say what would be deleted")
@click.pass_obj
def prune(session: Session, keep_last: int | None, older_than: str | None,
          dry_run: bool) -> None:
    """Delete old checkpoints; a run's start checkpoint (seq 0) always stays.

    With both options, a checkpoint goes when it is beyond the last N of its run AND older
    than AGE; with --older-than, an unfinished run keeps its newest checkpoint. Blobs no
    checkpoint uses any more are freed.
    """
    if keep_last is None and older_than is None:
        raise CliError("prune needs --keep-last N and/or --older-than AGE (e.g. --older-than 7d)")
    cutoff = parse_time(older_than, "--older-than") if older_than else None
    store = session.store()
    out = console()
    if dry_run:
        doomed = doomed_by_run(store, keep_last, cutoff)
        total = sum(len(v) for v in doomed.values())
        runs = {r.run_id: r for r in store.list_runs(run_ids=list(doomed))} if doomed else {}
        if total:
            out.print(table(None, ["run", "workflow", "would delete seqs"],
                            ([short(rid), runs[rid].workflow if rid in runs else "?",
                              ", ".join(map(str, seqs))] for rid, seqs in doomed.items())))
        out.print(f"dry run: would delete {total} checkpoints from {len(doomed)} runs in "
                  f"{store.url}; nothing was deleted")
        return
    before = store.storage_report()
    with err_console().status("pruning…"):
        deleted = store.prune(keep_last=keep_last, older_than=cutoff)
    after = store.storage_report()
    out.print(f"deleted {deleted} checkpoints from {store.url}; "
              f"{size(before.get('bytes'))} → {size(after.get('bytes'))}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="the report as JSON on stdout")
@click.pass_obj
def report(session: Session, as_json: bool) -> None:
    """How big the store is: runs (by status), checkpoints, blobs and bytes."""
    output_format(as_json, False)
    store = session.store()
    mark_stale_runs(store)
    data: dict[str, Any] = dict(store.storage_report())
    by_status = Counter(r.status for r in store.list_runs())
    data["runs_by_status"] = dict(sorted(by_status.items()))
    if as_json:
        return emit_json(data)
    rows: list[tuple[str, Any]] = [
        ("store", data.get("url", store.url)),
        ("runs", data.get("runs")),
        *((f"  {status}", n) for status, n in data["runs_by_status"].items()),
        ("checkpoints", data.get("checkpoints")),
        ("blobs (shared state parts)", data.get("blobs")),
        ("stored bytes", f"{data.get('bytes')} ({size(data.get('bytes'))})"),
    ]
    if "file_bytes" in data:
        rows.append(("file bytes", f"{data['file_bytes']} ({size(data['file_bytes'])})"))
    console().print(table("storage report", ["", "value"], rows))
