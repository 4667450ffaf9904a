"""Printing results: Rich tables for people, JSON and CSV for scripts."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table


def _width() -> int | None:
    """A terminal's own width; for pipes and files, $COLUMNS or wide enough for every column."""
    if sys.stdout.isatty():
        return None
    return int(os.environ.get("COLUMNS") or 0) or 200


def console() -> Console:
    """Where tables and results go (stdout); never interprets markup in the data."""
    return Console(width=_width(), highlight=False, markup=False, emoji=False)


def err_console() -> Console:
    """Where progress and notes go (stderr), so stdout stays clean for --json/--csv."""
    return Console(stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True)


def progress(*columns: Any) -> Progress:
    """A progress bar on stderr, shown only on a terminal (pipes and logs get the summary)."""
    notes = err_console()
    return Progress(*columns, console=notes, transient=True, disable=not notes.is_terminal)


def short(ident: str | None) -> str:
    """The first 8 characters of an id: enough as a prefix for show/diff/resume."""
    return "" if not ident else ident[:8]


def when(ts: float | None) -> str:
    """Epoch seconds as UTC 'YYYY-MM-DD HH:MM:SS'."""
    if ts is None:
        return ""
    try:
        return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "?"


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC, for JSON and CSV."""
    if ts is None:
        return None
    try:
        return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def seconds(value: float | None) -> str:
    """A duration for a table cell."""
    if value is None:
        return ""
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def size(n: int | None) -> str:
    """Bytes, human-readable."""
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def type_name(key: str | None) -> str:
    """The class name of an event registry key."""
    return "" if key is None else key.rsplit(".", 1)[-1]


def text(value: Any, limit: int = 120) -> str:
    """Any value as one short line of text."""
    s = value if isinstance(value, str) else json.dumps(value, default=repr, ensure_ascii=False)
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A Rich table of plain-text cells (markup in the data is shown, never interpreted)."""
    t = Table(title=escape(title) if title else None, show_lines=False, header_style="bold")
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*["" if v is None else str(v) for v in row])
    return t


def emit_json(data: Any) -> None:
    """JSON on stdout (one document, indented)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=repr) + "\n")


def emit_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """CSV on stdout with a header; nested values as compact JSON."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else v if isinstance(v, (str, int, float))
                         else json.dumps(v, ensure_ascii=False) for v in row])
