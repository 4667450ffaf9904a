"""Moving runs between stores as JSON lines, every record carrying the sha256 of its content.

An export is a header line, then each run followed by its checkpoints (with their full context
state), then an end line with the counts. An import reads the file twice: first it checks every
line (JSON, hash, shape, counts) and compares it with what the target already holds, then it
writes what is missing and reads each run back to check that what landed hashes the same. So a
damaged or truncated file writes nothing, and importing a file twice changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from ..errors import FlowpointError
from ..storage import CheckpointQuery, CheckpointRecord, CheckpointStore, RunRecord
from ..storage.contentstore import canonical
from ..storage.records import LIVE_STATUSES

FORMAT = "flowpoint-runs"
VERSION = 1
_PAGE = 200
_RUN_FIELDS = {f.name for f in dataclasses.fields(RunRecord)}
_CKPT_FIELDS = {f.name for f in dataclasses.fields(CheckpointRecord)}


class TransferError(FlowpointError):
    """An export file cannot be imported as it is (damaged, truncated, or conflicting)."""


def content_hash(data: dict[str, Any]) -> str:
    """sha256 of a record's canonical JSON (sorted keys, no spaces): what the file vouches for."""
    return hashlib.sha256(canonical(data)).hexdigest()


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def _checkpoints(store: CheckpointStore, run_id: str) -> Iterator[CheckpointRecord]:
    """A run's checkpoints in seq order, with state, a page at a time."""
    offset = 0
    query = CheckpointQuery(run_ids=(run_id,))
    while True:
        page = store.list_checkpoints(query, limit=_PAGE, offset=offset, with_state=True)
        yield from page
        if len(page) < _PAGE:
            return
        offset += len(page)


@dataclass
class ExportSummary:
    runs: int = 0
    checkpoints: int = 0


def export_runs(store: CheckpointStore, runs: list[RunRecord], out: IO[str],
                on_run: Callable[[RunRecord, int], None] | None = None) -> ExportSummary:
    """Write ``runs`` and all their checkpoints to ``out``."""
    summary = ExportSummary()
    out.write(_line({"kind": "header", "format": FORMAT, "version": VERSION,
                     "source": store.url, "runs": len(runs),
                     "exported_at": dt.datetime.now(dt.timezone.utc).isoformat()}))
    for run in runs:
        data = dataclasses.asdict(run)
        out.write(_line({"kind": "run", "sha256": content_hash(data), "data": data}))
        count = 0
        for ckpt in _checkpoints(store, run.run_id):
            cdata = dataclasses.asdict(ckpt)
            out.write(_line({"kind": "checkpoint", "sha256": content_hash(cdata), "data": cdata}))
            count += 1
        summary.runs += 1
        summary.checkpoints += count
        if on_run is not None:
            on_run(run, count)
    out.write(_line({"kind": "end", "runs": summary.runs, "checkpoints": summary.checkpoints}))
    return summary


@dataclass
class ImportSummary:
    runs_added: int = 0
    runs_present: int = 0
    checkpoints_added: int = 0
    checkpoints_present: int = 0
    added_run_ids: list[str] = field(default_factory=list)


@dataclass
class _Target:
    """What the target already holds of one run in the file: checkpoint hashes by id, seqs."""

    present: bool
    hashes: dict[str, str] = field(default_factory=dict)
    seqs: set[int] = field(default_factory=set)
    heartbeat_at: float | None = None
    live: bool = False


def _records(lines: IO[str], on_progress: Callable[[int], None] | None
             ) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in enumerate(lines, start=1):
        if on_progress is not None:
            on_progress(len(raw.encode()))
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise TransferError(f"line {number} is not JSON ({exc}); the file is damaged, "
                                f"export it again") from None
        if not isinstance(obj, dict):
            raise TransferError(f"line {number} is not a JSON object; the file is damaged")
        yield number, obj


def _verified(number: int, obj: dict[str, Any], fields: set[str], kind: str) -> dict[str, Any]:
    data = obj.get("data")
    if not isinstance(data, dict):
        raise TransferError(f"line {number}: a {kind} line without its data")
    if obj.get("sha256") != content_hash(data):
        raise TransferError(f"line {number}: the {kind} does not match its sha256 (the file was "
                            f"changed or damaged after export); nothing was imported")
    if set(data) != fields:
        raise TransferError(f"line {number}: the {kind} has fields {sorted(data)}, expected "
                            f"{sorted(fields)}; export it again with this flowpoint version")
    return data


class Importer:
    """Imports one export file into ``store``; see the module docstring for the two passes."""

    def __init__(self, store: CheckpointStore) -> None:
        self.store = store
        self.targets: dict[str, _Target] = {}

    def _target(self, run_id: str) -> _Target:
        existing = self.store.get_run(run_id)
        if existing is None:
            return _Target(present=False)
        target = _Target(present=True, heartbeat_at=existing.heartbeat_at,
                         live=existing.status in LIVE_STATUSES)
        for rec in _checkpoints(self.store, run_id):
            target.hashes[rec.id] = content_hash(dataclasses.asdict(rec))
            target.seqs.add(rec.seq)
        return target

    def check(self, lines: IO[str], on_progress: Callable[[int], None] | None = None) -> None:
        """Pass 1: the whole file is sound and agrees with what the target holds."""
        header_seen = end_seen = False
        runs = checkpoints = 0
        current: str | None = None
        seen_ids: set[str] = set()
        for number, obj in _records(lines, on_progress):
            kind = obj.get("kind")
            if not header_seen:
                if kind != "header" or obj.get("format") != FORMAT:
                    raise TransferError(f"not a flowpoint export (line {number} is not a "
                                        f"'{FORMAT}' header); make one with 'flowpoint export'")
                if obj.get("version") != VERSION:
                    raise TransferError(f"export format version {obj.get('version')!r}; this "
                                        f"flowpoint reads version {VERSION}: upgrade flowpoint")
                header_seen = True
                continue
            if end_seen:
                raise TransferError(f"line {number} comes after the end line; the file is damaged")
            if kind == "run":
                data = _verified(number, obj, _RUN_FIELDS, "run")
                current = str(data["run_id"])
                if current in self.targets:
                    raise TransferError(f"line {number}: run {current} appears twice")
                self.targets[current] = self._target(current)
                runs += 1
            elif kind == "checkpoint":
                data = _verified(number, obj, _CKPT_FIELDS, "checkpoint")
                if data["run_id"] != current:
                    raise TransferError(f"line {number}: checkpoint {data['id']} is not after "
                                        f"the line of its run {data['run_id']}")
                if data["id"] in seen_ids:
                    raise TransferError(f"line {number}: checkpoint {data['id']} appears twice")
                seen_ids.add(data["id"])
                target = self.targets[current]
                have = target.hashes.get(data["id"])
                if have is not None and have != obj["sha256"]:
                    raise TransferError(f"checkpoint {data['id']} is already in {self.store.url} "
                                        f"with different content; nothing was imported")
                if have is None and data["seq"] in target.seqs:
                    raise TransferError(f"run {current} in {self.store.url} already has a "
                                        f"different checkpoint at seq {data['seq']}; nothing "
                                        f"was imported")
                checkpoints += 1
            elif kind == "end":
                if (obj.get("runs"), obj.get("checkpoints")) != (runs, checkpoints):
                    raise TransferError(f"the end line counts {obj.get('runs')} runs and "
                                        f"{obj.get('checkpoints')} checkpoints but the file has "
                                        f"{runs} and {checkpoints}; the file is damaged")
                end_seen = True
            else:
                raise TransferError(f"line {number}: unknown kind {kind!r}")
        if not header_seen:
            raise TransferError("the file is empty; make an export with 'flowpoint export'")
        if not end_seen:
            raise TransferError("the file ends before its end line (truncated?); export it again")

    def apply(self, lines: IO[str], on_progress: Callable[[int], None] | None = None
              ) -> ImportSummary:
        """Pass 2: write what the target does not have, and check each run as it landed."""
        summary = ImportSummary()
        run: RunRecord | None = None
        written: dict[str, str] = {}
        for _number, obj in _records(lines, on_progress):
            kind = obj.get("kind")
            if kind in ("run", "end") and run is not None:
                self._finish(run, written)
                run, written = None, {}
            if kind == "run":
                run = RunRecord(**obj["data"])
                if self.targets[run.run_id].present:
                    summary.runs_present += 1
                else:
                    self.store.put_run(run)
                    summary.runs_added += 1
                    summary.added_run_ids.append(run.run_id)
            elif kind == "checkpoint" and run is not None:
                data = obj["data"]
                if data["id"] in self.targets[run.run_id].hashes:
                    summary.checkpoints_present += 1
                    continue
                self.store.put_checkpoint(CheckpointRecord(**data))
                written[data["id"]] = obj["sha256"]
                summary.checkpoints_added += 1
        return summary

    def _finish(self, run: RunRecord, written: dict[str, str]) -> None:
        """Put back the run's own heartbeat and check that what was written reads back the same."""
        target = self.targets[run.run_id]
        if target.present and written and not target.live:
            self.store.update_run(run.run_id, heartbeat_at=target.heartbeat_at)
        if not target.present:
            if written:
                self.store.update_run(run.run_id, heartbeat_at=run.heartbeat_at)
            landed = self.store.get_run(run.run_id)
            if landed is None or content_hash(dataclasses.asdict(landed)) != content_hash(
                    dataclasses.asdict(run)):
                raise TransferError(f"run {run.run_id} reads back from {self.store.url} "
                                    f"differently from the file")
        if not written:
            return
        for rec in _checkpoints(self.store, run.run_id):
            expected = written.pop(rec.id, None)
            if expected is not None and content_hash(dataclasses.asdict(rec)) != expected:
                raise TransferError(f"checkpoint {rec.id} reads back from {self.store.url} "
                                    f"differently from the file")
        if written:
            raise TransferError(f"checkpoints {sorted(written)[:3]} of run {run.run_id} are "
                                f"missing from {self.store.url} after writing them")
