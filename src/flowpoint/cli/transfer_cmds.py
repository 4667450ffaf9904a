"""``flowpoint export`` and ``flowpoint import``: runs from one store into another, verified."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click
from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn

from .listing import values
from .lookup import find_runs, mark_stale_runs
from .output import console, err_console, progress
from .session import Session
from .transfer import Importer, export_runs


@click.command("export")
@click.argument("run_ids", nargs=-1, metavar="[RUN]...")
@click.option("-o", "--output", default="-", metavar="FILE", show_default=True,
              help="where to write the JSON lines ('-' for stdout)")
@click.option("--status", "statuses", multiple=True, metavar="S", help="only runs with this status")
@click.option("--workflow", "workflows", multiple=True, metavar="W",
              help="only runs of this workflow")
@click.pass_obj
def export_cmd(session: Session, run_ids: tuple[str, ...], output: str,
               statuses: tuple[str, ...], workflows: tuple[str, ...]) -> None:
    """Write runs (ids or id prefixes; default all) with their checkpoints as JSON lines.

    Each line carries the sha256 of its content; 'flowpoint import' checks them all.
    """
    store = session.store()
    mark_stale_runs(store)
    ids = find_runs(store, run_ids) if run_ids else None
    wanted_status, wanted_wf = set(values(statuses)), set(values(workflows))
    runs = [r for r in store.list_runs(run_ids=ids)
            if (not wanted_status or r.status in wanted_status)
            and (not wanted_wf or r.workflow in wanted_wf)]
    bar = progress(TextColumn("export"), BarColumn(), TextColumn("{task.completed}/"
                   "{task.total} runs"))
    with bar:
        task = bar.add_task("export", total=len(runs))
        if output == "-":
            summary = export_runs(store, runs, sys.stdout,
                                  on_run=lambda r, n: bar.advance(task))
        else:
            target = Path(output)
            fd, tmp = tempfile.mkstemp(dir=target.parent.absolute(), prefix=f".{target.name}.")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    summary = export_runs(store, runs, out,
                                          on_run=lambda r, n: bar.advance(task))
                os.replace(tmp, target)
            except BaseException:
                os.unlink(tmp)
                raise
    where = "stdout" if output == "-" else output
    err_console().print(f"exported {summary.runs} runs ({summary.checkpoints} checkpoints) "
                        f"from {store.url} to {where}")


@click.command("import")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@click.pass_obj
def import_cmd(session: Session, path: str) -> None:
    """Add the runs of an export file to the store; what it already holds is left as it is.

    Every line's sha256 is checked before anything is written, and every run is read back
    after it is written; a damaged file imports nothing, and importing twice changes nothing.
    """
    store = session.store(create=True)
    importer = Importer(store)
    total = os.path.getsize(path)
    bar = progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                   TimeRemainingColumn())
    with bar:
        check = bar.add_task("check ", total=total)
        with open(path, encoding="utf-8") as lines:
            importer.check(lines, on_progress=lambda n: bar.advance(check, n))
        write = bar.add_task("import", total=total)
        with open(path, encoding="utf-8") as lines:
            summary = importer.apply(lines, on_progress=lambda n: bar.advance(write, n))
    console().print(
        f"imported {summary.runs_added} runs ({summary.checkpoints_added} checkpoints) into "
        f"{store.url}; already there: {summary.runs_present} runs, "
        f"{summary.checkpoints_present} checkpoints")
