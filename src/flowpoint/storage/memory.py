"""MemoryStore: the SQL store's semantics on in-process dicts, for tests and throwaway runs."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..errors import CheckpointNotFound, StoreError
from .contentstore import reachable
from .records import (
    LIVE_STATUSES,
    RECORD_COLUMNS,
    SORT_KEYS,
    TABLE_COLUMNS,
    UNFINISHED_STATUSES,
    CheckpointQuery,
    CheckpointRecord,
    RunRecord,
)
from .rows import (
    JSON_TEXT_COLUMNS,
    PLAIN_TEXT_COLUMNS,
    RUN_TEXT_COLUMNS,
    checkpoint_record,
    checkpoint_row,
    decode_state,
    facets_of,
    fold,
    loads,
    run_record,
    run_row,
    run_updates,
    split_type_filter,
    text_needles,
    unique_prefix,
)

Row = dict[str, Any]
MAX_TEXT_REFS = 200  # blob hashes a text search follows into the content-addressed state


def _type_matches(values: tuple[str, ...], key: Any, name: Any) -> bool:
    full, bare = split_type_filter(values)
    return key in full or name in bare


def _matches(q: CheckpointQuery, needles: tuple[str, tuple[str, ...]] | None, row: Row,
             run: Row) -> bool:
    """The SQL store's WHERE clause, in Python over the same stored text."""
    if q.run_ids is not None and row["run_id"] not in q.run_ids:
        return False
    if q.steps is not None and row["step"] not in q.steps:
        return False
    if not q.include_start and row["step"] is None:
        return False
    if q.input_types is not None and not _type_matches(
        q.input_types, row["input_type"], row["input_name"]
    ):
        return False
    if q.output_types is not None and not _type_matches(
        q.output_types, row["output_type"], row["output_name"]
    ):
        return False
    if q.statuses is not None and run["status"] not in q.statuses:
        return False
    if q.workflows is not None and run["workflow"] not in q.workflows:
        return False
    if q.created_after is not None and not row["created_at"] >= q.created_after:
        return False
    if q.created_before is not None and not row["created_at"] < q.created_before:
        return False
    if needles is not None:
        plain, in_json = needles
        return any(plain in fold(row[c] or "") for c in PLAIN_TEXT_COLUMNS) or any(
            needle in fold(row[c] or "") for c in JSON_TEXT_COLUMNS for needle in in_json
        ) or any(needle in fold(run[c] or "") for c in RUN_TEXT_COLUMNS for needle in in_json
                 ) or any(h in (row["state_manifest"] or "") for h in q.state_refs or ())
    return True


def _sort_key(key: str, runs: dict[str, Row]) -> Any:
    """Order like SQL: NULLs first ascending (as SQLite does), then by value."""
    if key not in SORT_KEYS:
        raise ValueError(f"cannot sort by {key!r}; sort keys: {', '.join(SORT_KEYS)}")
    of_run = key in ("status", "error", "workflow")

    def value(row: Row) -> tuple[bool, Any]:
        v = runs[row["run_id"]][key] if of_run else row[key]
        return (v is not None, v if v is not None else 0)

    return value


class MemoryStore:
    """Runs and checkpoints in dicts, encoded exactly as the SQL store encodes them."""

    url = "memory"
    read_only = False
    accepts_encoded_state = True  # takes a state split by the run (EncodedState)
    durability = "process"  # nothing outlives the process

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._runs: dict[str, Row] = {}
        self._ckpts: dict[str, Row] = {}
        self._seqs: set[tuple[str, int]] = set()
        self._blobs: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return "MemoryStore()"

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put_run(self, run: RunRecord) -> None:
        row = run_row(run)
        with self._lock:
            if run.run_id in self._runs:
                raise StoreError(f"run '{run.run_id}' already exists")
            self._runs[run.run_id] = row

    def update_run(self, run_id: str, **fields: Any) -> None:
        values = run_updates(fields)
        with self._lock:
            if run_id not in self._runs:
                raise CheckpointNotFound(f"no run with id '{run_id}'")
            self._runs[run_id].update(values)

    def interrupt_run(self, run_id: str, heartbeat_at: float | None) -> bool:
        with self._lock:
            row = self._runs.get(run_id)
            if row is None or row["status"] not in LIVE_STATUSES:
                return False
            if row["heartbeat_at"] != heartbeat_at:
                return False
            row["status"] = "interrupted"
            return True

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._lock:
            row = self._runs.get(run_id)
            return None if row is None else run_record(row)

    def list_runs(
        self, run_ids: Sequence[str] | None = None, statuses: Sequence[str] | None = None
    ) -> list[RunRecord]:
        with self._lock:
            rows = [
                r for r in self._runs.values()
                if (run_ids is None or r["run_id"] in run_ids)
                and (statuses is None or r["status"] in statuses)
            ]
            rows.sort(key=lambda r: (r["started_at"], r["run_id"]))
            return [run_record(r) for r in rows]

    def put_checkpoint(self, ckpt: CheckpointRecord) -> None:
        row, blobs = checkpoint_row(ckpt)
        with self._lock:
            if ckpt.run_id not in self._runs:
                raise StoreError(f"checkpoint {ckpt.id}: no run '{ckpt.run_id}' in {self.url}")
            if ckpt.id in self._ckpts:
                raise StoreError(f"checkpoint '{ckpt.id}' already exists")
            if (ckpt.run_id, ckpt.seq) in self._seqs:
                raise StoreError(f"run '{ckpt.run_id}' already has a checkpoint with seq {ckpt.seq}")
            split = ckpt.encoded_state
            if split is not None and split.refs and not self._blobs.keys() >= split.refs:
                row, blobs = checkpoint_row(replace(ckpt, encoded_state=split.rebuild()))
            self._blobs.update(blobs)  # a damaged stored copy is replaced, never reused
            self._ckpts[ckpt.id] = row
            self._seqs.add((ckpt.run_id, ckpt.seq))
            self._runs[ckpt.run_id]["heartbeat_at"] = ckpt.created_at

    def _record(self, row: Row, with_state: bool) -> CheckpointRecord:
        state = decode_state(row["state_manifest"], self._blobs.get) if with_state else None
        return checkpoint_record(row, state)

    def get_checkpoint(self, id_or_prefix: str) -> CheckpointRecord:
        with self._lock:
            row = self._ckpts.get(id_or_prefix)
            if row is None:
                row = self._ckpts[unique_prefix(id_or_prefix, self._ckpts)]
            return self._record(row, with_state=True)

    def _select(self, query: CheckpointQuery | None) -> list[Row]:
        q = query or CheckpointQuery()
        needles = None if q.text is None else text_needles(q.text)
        if needles is not None and q.state_refs is None:
            q = replace(q, state_refs=self._text_refs(needles[1]))
        rows = [
            r for r in self._ckpts.values() if _matches(q, needles, r, self._runs[r["run_id"]])
        ]
        rows.sort(
            key=lambda r: (self._runs[r["run_id"]]["started_at"], r["run_id"], r["seq"]),
            reverse=q.descending,
        )
        if q.sort is not None:
            rows.sort(key=_sort_key(q.sort, self._runs), reverse=q.descending)
        return rows

    def _text_refs(self, in_json: tuple[str, ...]) -> tuple[str, ...]:
        """Hashes of the blobs holding the text and of the blobs referring to them (as SQL)."""
        texts = {h: b.decode() if isinstance(b, bytes) else str(b) for h, b in self._blobs.items()}
        level = {h for h, t in texts.items() if any(n in fold(t) for n in in_json)}
        found: set[str] = set()
        while level and len(found) < MAX_TEXT_REFS:
            found |= level
            level = {h for h, t in texts.items() if any(x in t for x in level)} - found
        return tuple(sorted(found))[:MAX_TEXT_REFS]

    def _page(self, query: CheckpointQuery | None, limit: int | None, offset: int) -> list[Row]:
        rows = self._select(query)[offset:]
        return rows if limit is None else rows[:limit]

    def list_checkpoints(
        self,
        query: CheckpointQuery | None = None,
        limit: int | None = None,
        offset: int = 0,
        with_state: bool = False,
    ) -> list[CheckpointRecord]:
        with self._lock:
            return [self._record(r, with_state) for r in self._page(query, limit, offset)]

    def record_rows(
        self, query: CheckpointQuery | None = None, limit: int | None = None, offset: int = 0
    ) -> list[tuple[Any, ...]]:
        """As SQLStore.record_rows: stored values in ``RECORD_COLUMNS`` order."""
        with self._lock:
            return [tuple(r[c] for c in RECORD_COLUMNS) for r in self._page(query, limit, offset)]

    def table_rows(
        self, query: CheckpointQuery | None = None, limit: int | None = None, offset: int = 0
    ) -> list[tuple[Any, ...]]:
        with self._lock:
            rows = self._page(query, limit, offset)
            out = []
            for r in rows:
                run = self._runs[r["run_id"]]
                out.append(tuple(r[c] for c in TABLE_COLUMNS[:10]) + (
                    run["status"], run["workflow"], run["origin_checkpoint_id"], run["edited"]))
            return out

    def table_page(self, query: CheckpointQuery | None, limit: int, offset: int = 0
                   ) -> tuple[list[tuple[Any, ...]], int]:
        """One page of ``table_rows`` and how many rows match in all (as SQLStore)."""
        with self._lock:
            total = len(self._select(query))
        return self.table_rows(query, limit=limit, offset=offset), total

    def count_checkpoints(self, query: CheckpointQuery | None = None) -> int:
        with self._lock:
            return len(self._select(query))

    def table_facets(self, query: CheckpointQuery | None = None) -> dict[str, Any]:
        """Count, distinct filter values and per-group counts of the matches (as SQLStore)."""
        counts: dict[tuple[Any, ...], int] = {}
        with self._lock:
            for r in self._select(query):
                key = (r["step"], r["input_type"], r["input_name"], r["output_type"],
                       r["output_name"], self._runs[r["run_id"]]["status"])
                counts[key] = counts.get(key, 0) + 1
        return facets_of([key + (n,) for key, n in counts.items()])

    def last_seqs(self, run_ids: Sequence[str]) -> dict[str, int]:
        """The highest stored seq of each of these runs (as SQLStore)."""
        wanted = set(run_ids)
        out: dict[str, int] = {}
        with self._lock:
            for r in self._ckpts.values():
                if r["run_id"] in wanted:
                    out[r["run_id"]] = max(out.get(r["run_id"], r["seq"]), r["seq"])
        return out

    def distinct_values(self, column: str, query: CheckpointQuery | None = None) -> list[Any]:
        """The distinct values of one column among the matching checkpoints (as SQLStore)."""
        if column not in ("status", "workflow", "step", "input_type", "output_type"):
            raise ValueError(f"no distinct values of {column!r}; columns: step, input_type, "
                             f"output_type, status, workflow")
        with self._lock:
            rows = self._select(query)
            of_run = column in ("status", "workflow")
            values = {(self._runs[r["run_id"]] if of_run else r)[column] for r in rows}
        return sorted(values, key=lambda v: (v is not None, v))

    def _delete(self, ids: list[str]) -> None:
        for cid in ids:
            row = self._ckpts.pop(cid)
            self._seqs.discard((row["run_id"], row["seq"]))

    def _collect_garbage(self) -> None:
        manifests = [loads(r["state_manifest"], "state_manifest") for r in self._ckpts.values()]
        live = reachable(manifests, lambda hs: {h: self._blobs[h] for h in hs if h in self._blobs})
        for digest in [h for h in self._blobs if h not in live]:
            del self._blobs[digest]

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        wanted = set(run_ids)
        with self._lock:
            doomed = [cid for cid, r in self._ckpts.items() if r["run_id"] in wanted]
            self._delete(doomed)
            for run_id in wanted:
                self._runs.pop(run_id, None)
            self._collect_garbage()
            return len(doomed)

    def prune(self, keep_last: int | None = None, older_than: float | None = None) -> int:
        if keep_last is not None and keep_last < 0:
            raise ValueError(f"keep_last must be >= 0, got {keep_last}")
        if keep_last is None and older_than is None:
            return 0
        with self._lock:
            by_run: dict[str, list[Row]] = {}
            for row in self._ckpts.values():
                by_run.setdefault(row["run_id"], []).append(row)
            doomed = []
            for run_id, rows in by_run.items():
                rows.sort(key=lambda r: r["seq"], reverse=True)
                live = older_than is not None and self._runs[run_id]["status"] in UNFINISHED_STATUSES
                for newer, row in enumerate(rows):
                    if row["seq"] == 0 or (live and newer == 0):
                        continue
                    if keep_last is not None and newer < keep_last:
                        continue
                    if older_than is not None and not row["created_at"] < older_than:
                        continue
                    doomed.append(row["id"])
            self._delete(doomed)
            self._collect_garbage()
            return len(doomed)

    def storage_report(self) -> dict[str, Any]:
        with self._lock:
            row_bytes = sum(r["size_bytes"] for r in self._ckpts.values())
            run_bytes = sum(_run_size(r) for r in self._runs.values())
            blob_bytes = sum(len(b) for b in self._blobs.values())
            return {
                "runs": len(self._runs),
                "checkpoints": len(self._ckpts),
                "blobs": len(self._blobs),
                "bytes": row_bytes + run_bytes + blob_bytes,
                "url": self.url,
            }

    def close(self) -> None:
        """Nothing to release; the data stays until the store is garbage-collected."""


def _run_size(row: Mapping[str, Any]) -> int:
    return 48 + sum(len(v) for v in row.values() if isinstance(v, str))
