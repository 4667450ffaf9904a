"""SQLStore: runs and checkpoints in SQLite or PostgreSQL through SQLAlchemy Core."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..errors import CheckpointNotFound, StoreError
from .contentstore import reachable
from .durability import apply_durability, url_durability
from .records import LIVE_STATUSES, UNFINISHED_STATUSES, CheckpointRecord, RunRecord
from .rows import checkpoint_row, loads, run_row, run_updates
from .sharedcommit import PendingCommit, SharedCommits
from .sqlengine import make_engine, parse_url, sqlite_read_only_reason
from .sqlreads import SQLReads
from .sqlreads import batches as _batches
from .sqlschema import (
    blobs,
    check_foreign_sqlite,
    checkpoints,
    ensure_schema,
    runs,
    schema_is_current,
    statistics_due,
)
from .sqlstatements import RunUpdate
from .sqlwriter import Duplicate, MissingBlobs, Writer

HEARTBEAT_EVERY_S = 5.0  # a running run's heartbeat_at is renewed by a checkpoint at most this often
_C, _R, _B = checkpoints.c, runs.c, blobs.c
_NO_REFS: frozenset[str] = frozenset()


class SQLStore(SQLReads):
    """A CheckpointStore in one SQL database; every write is one committed transaction."""

    accepts_encoded_state = True  # takes a state split by the run (EncodedState)
    _beats: dict[str, float]  # run id -> heartbeat_at last written by this store

    def __init__(self, url: str, read_only: bool | None = None,
                 durability: str | None = None) -> None:
        """Open (creating or migrating if needed) the store at ``url``.

        ``read_only``: True opens without ever writing; None (default) does so only when the
        SQLite file cannot be written (a read-only filesystem or file), with a warning saying so.
        ``durability``: "process" (default) or "power" (fsync before returning from each write;
        see flowpoint.storage.durability), here or as the URL's ``?durability=`` option.
        """
        self._url, self.durability = url_durability(parse_url(url), durability)
        self.url = self._url.render_as_string(hide_password=True)
        self._is_sqlite = self._url.get_backend_name() == "sqlite"
        path = self._url.database or ""
        if self._is_sqlite:
            check_foreign_sqlite(path)
            if read_only is None and (reason := sqlite_read_only_reason(path)):
                warnings.warn(f"{reason}: opened the store read-only", stacklevel=2)
                read_only = True
        self.read_only = bool(read_only)
        self.closed = False  # close() called: open_store opens a new store for this URL
        self._beats = {}
        self._shared = SharedCommits(self._write_batch)
        self._engine = make_engine(self._url, self.read_only)
        apply_durability(self._engine, self.durability)
        insert = (sqlite if self._is_sqlite else postgresql).insert
        self._writer = Writer(self._engine, self.url, [
            ("blobs", insert(blobs).on_conflict_do_nothing(index_elements=["hash"])),
            ("checkpoint", checkpoints.insert()),
            ("heartbeat", update(runs).where(_R.run_id == bindparam("hb_run")).values(
                heartbeat_at=bindparam("hb_at"))),
        ], read_only=self.read_only, durability=self.durability)
        try:
            self._open_schema()
        except BaseException:
            self.close()
            raise
        self._file = _file_id(path) if self._is_sqlite else None

    def same_file(self) -> bool:
        """Whether the store's SQLite path still names the file it opened (not deleted or
        replaced since); True on PostgreSQL."""
        return not self._is_sqlite or _file_id(self._url.database or "") == self._file

    def _open_schema(self) -> None:
        """Check the schema in a read; write only to create, migrate or refresh statistics, so
        a full disk or a read-only store can still be opened and read."""
        with self._read() as conn:
            current = schema_is_current(conn, self.url)
            analyse = current and not self.read_only and statistics_due(conn)
        if not current:
            if self.read_only:
                raise StoreError(f"store at {self.url} is opened read-only but needs its tables "
                                 "created or migrated first; open it once writable")
            with self._writer.transaction() as conn:
                ensure_schema(conn, self.url)
        if analyse:
            try:
                with self._writer.transaction() as conn:
                    conn.exec_driver_sql("ANALYZE")
            except StoreError:
                pass  # only planner statistics: the next open tries again

    def __repr__(self) -> str:
        return f"SQLStore({self.url!r}{', read_only=True' if self.read_only else ''})"

    def __enter__(self) -> SQLStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put_run(self, run: RunRecord) -> None:
        """Insert a new run's row. With durability="power" on SQLite it is not fsynced by
        itself: the run's start checkpoint, committed with an fsync before its first step runs,
        makes it durable too."""
        row = run_row(run)
        try:
            self._writer.execute("run", runs.insert, row, fsync=False)
        except Duplicate:
            raise StoreError(f"run '{run.run_id}' already exists in {self.url}") from None
        if run.heartbeat_at is not None:  # the lease is fresh: no checkpoint renews it yet
            self._beaten(run.run_id, run.heartbeat_at)

    def update_run(self, run_id: str, **fields: Any) -> None:
        values = run_updates(fields)
        if values:
            names = tuple(sorted(values))
            missing = self._writer.execute(
                ("update_run", names),
                lambda: update(runs).where(_R.run_id == bindparam("_run_id")).values(
                    {n: bindparam(n) for n in names}),
                {**values, "_run_id": run_id}) == 0
        else:
            missing = self.get_run(run_id) is None
        if missing:
            raise CheckpointNotFound(f"no run with id '{run_id}'")
        if isinstance(values.get("heartbeat_at"), float):
            self._beaten(run_id, values["heartbeat_at"])

    def interrupt_run(self, run_id: str, heartbeat_at: float | None) -> bool:
        live = _R.status.in_(LIVE_STATUSES)
        same = _R.heartbeat_at.is_(None) if heartbeat_at is None else _R.heartbeat_at == heartbeat_at
        with self._writer.transaction() as conn:
            done = conn.execute(update(runs).where(_R.run_id == run_id, live, same)
                                .values(status="interrupted")).rowcount
        return bool(done)

    def put_checkpoint(self, ckpt: CheckpointRecord) -> None:
        row, new_blobs = checkpoint_row(ckpt)
        self._put(ckpt, row, new_blobs)

    def put_last_checkpoint(self, ckpt: CheckpointRecord, **run_fields: Any) -> None:
        """put_checkpoint of a run's last checkpoint and update_run(ckpt.run_id,
        **run_fields) (its end: status, ended_at, result) in one transaction: one commit where
        a run's end took two. Neither is written if either fails."""
        values = run_updates(run_fields)
        row, new_blobs = checkpoint_row(ckpt)
        self._put(ckpt, row, new_blobs, values or None)

    def put_checkpoint_soon(self, ckpt: CheckpointRecord,
                            run_fields: Mapping[str, Any] | None = None) -> PendingCommit:
        """Commit ``ckpt`` together with the checkpoints other runs on this event loop hand
        over in the same turn of the loop: one transaction, so one commit (and one fsync with
        durability="power") for all (see flowpoint.storage.sharedcommit). Await the result for
        the commit, which raises what put_checkpoint would. Call it on the loop's thread.
        ``run_fields``: as put_last_checkpoint's, updated in the same transaction."""
        values = run_updates(run_fields) if run_fields else None
        row, new_blobs = checkpoint_row(ckpt)
        return self._shared.submit((ckpt, row, new_blobs, values or None))

    def flush_checkpoints(self) -> None:
        """Commit now what put_checkpoint_soon queued on the running loop."""
        self._shared.flush()

    def _write_batch(self, batch: Sequence[Any]) -> list[BaseException | None]:
        """One transaction for the batch; if that fails, each on its own, so that each caller
        gets its own outcome."""
        if len(batch) > 1:
            writes = [self._with_run(ckpt, values) for ckpt, _, _, values in batch]
            try:
                self._writer.put_many([
                    (new, row, beat, ckpt.encoded_state.refs if ckpt.encoded_state else
                     frozenset(), run)
                    for (ckpt, row, new, _), (beat, run) in zip(batch, writes, strict=True)])
            except Exception:  # noqa: BLE001 - each is tried alone below
                pass
            else:
                for (ckpt, _, _, _), (beat, run) in zip(batch, writes, strict=True):
                    self._noted(ckpt, beat, run)
                return [None] * len(batch)
        outcomes: list[BaseException | None] = []
        for ckpt, row, new, values in batch:
            try:
                self._put(ckpt, row, new, values)
            except Exception as exc:  # noqa: BLE001 - handed to the caller waiting for it
                outcomes.append(exc)
            else:
                outcomes.append(None)
        return outcomes

    def _heartbeat(self, ckpt: CheckpointRecord) -> dict[str, Any] | None:
        """The run's heartbeat renewal to write with this checkpoint, if one is due."""
        last_beat = self._beats.get(ckpt.run_id)
        if last_beat is None or not 0 <= ckpt.created_at - last_beat < HEARTBEAT_EVERY_S:
            return {"hb_run": ckpt.run_id, "hb_at": ckpt.created_at}
        return None

    def _beaten(self, run_id: str, at: float) -> None:
        """Note the heartbeat_at this store last wrote for the run."""
        if len(self._beats) > 4096:
            self._beats.clear()
        self._beats[run_id] = at

    def _with_run(self, ckpt: CheckpointRecord, values: Mapping[str, Any] | None
                  ) -> tuple[dict[str, Any] | None, RunUpdate | None]:
        """The heartbeat renewal and run update to write with ``ckpt``: a due heartbeat joins
        the run update if there is one (one UPDATE of the run's row, not two)."""
        heartbeat = self._heartbeat(ckpt)
        if values is None:
            return heartbeat, None
        if heartbeat is not None and "heartbeat_at" not in values:
            values = {**values, "heartbeat_at": heartbeat["hb_at"]}
        return None, (ckpt.run_id, values)

    def _noted(self, ckpt: CheckpointRecord, heartbeat: Any, run: RunUpdate | None) -> None:
        """Remember the heartbeat_at just committed for the checkpoint's run, if any."""
        beat = heartbeat["hb_at"] if heartbeat is not None else (
            run[1].get("heartbeat_at") if run is not None else None)
        if isinstance(beat, float):
            self._beaten(ckpt.run_id, beat)

    def _put(self, ckpt: CheckpointRecord, row: dict[str, Any], new_blobs: Any,
             values: Mapping[str, Any] | None = None) -> None:
        split = ckpt.encoded_state
        heartbeat, run = ((self._heartbeat(ckpt), None) if values is None
                          else self._with_run(ckpt, values))
        try:
            try:
                self._writer.put(new_blobs, row, heartbeat, split.refs if split else _NO_REFS,
                                 run)
            except MissingBlobs:  # blobs of earlier checkpoints were pruned: store them again
                row, new_blobs = checkpoint_row(replace(ckpt, encoded_state=split.rebuild()))
                self._writer.put(new_blobs, row, heartbeat, _NO_REFS, run)
        except Duplicate:
            raise StoreError(self._why_rejected(ckpt)) from None
        if heartbeat is not None or run is not None:
            self._noted(ckpt, heartbeat, run)

    def _why_rejected(self, ckpt: CheckpointRecord) -> str:
        with self._read() as conn:
            if conn.execute(select(_R.run_id).where(_R.run_id == ckpt.run_id)).first() is None:
                return f"checkpoint {ckpt.id}: no run '{ckpt.run_id}' in {self.url}"
            if conn.execute(select(_C.id).where(_C.id == ckpt.id)).first() is not None:
                return f"checkpoint '{ckpt.id}' already exists"
        return f"run '{ckpt.run_id}' already has a checkpoint with seq {ckpt.seq}"

    def _lock_blobs(self, conn: Connection) -> None:
        """Keep writers from re-using a blob while garbage collection decides to drop it."""
        if not self._is_sqlite:
            conn.exec_driver_sql("LOCK TABLE flowpoint_blobs IN EXCLUSIVE MODE")

    def _collect_garbage(self, conn: Connection) -> int:
        manifests = [
            loads(text, "state_manifest")
            for text in conn.execute(select(_C.state_manifest).where(_C.state_manifest.like("%$%")))
            .scalars()
        ]

        def fetch(hashes: list[str]) -> dict[str, str]:
            found: dict[str, str] = {}
            for batch in _batches(hashes):
                found.update(conn.execute(select(_B.hash, _B.data).where(_B.hash.in_(batch))).all())
            return found

        live = reachable(manifests, fetch)
        dead = [h for h in conn.execute(select(_B.hash)).scalars() if h not in live]
        for batch in _batches(dead):
            conn.execute(delete(blobs).where(_B.hash.in_(batch)))
        return len(dead)

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        ids = list(run_ids)
        with self._writer.transaction() as conn:
            self._lock_blobs(conn)
            count = 0
            for batch in _batches(ids):
                count += conn.execute(delete(checkpoints).where(_C.run_id.in_(batch))).rowcount
                conn.execute(delete(runs).where(_R.run_id.in_(batch)))
            self._collect_garbage(conn)
        return count

    def prune(self, keep_last: int | None = None, older_than: float | None = None) -> int:
        if keep_last is not None and keep_last < 0:
            raise ValueError(f"keep_last must be >= 0, got {keep_last}")
        if keep_last is None and older_than is None:
            return 0
        conds = [_C.seq > 0]
        if keep_last is not None:
            newer = checkpoints.alias("newer")
            n_newer = (
                select(func.count())
                .where(newer.c.run_id == _C.run_id, newer.c.seq > _C.seq)
                .scalar_subquery()
            )
            conds.append(n_newer >= keep_last)
        if older_than is not None:
            conds.append(_C.created_at < older_than)
            newer = checkpoints.alias("newest")
            newest = select(func.max(newer.c.seq)).where(newer.c.run_id == _C.run_id)
            live = select(_R.run_id).where(_R.status.in_(UNFINISHED_STATUSES))
            conds.append(or_(_C.run_id.not_in(live), _C.seq < newest.scalar_subquery()))
        with self._writer.transaction() as conn:
            self._lock_blobs(conn)
            count = conn.execute(delete(checkpoints).where(and_(*conds))).rowcount
            if count:
                self._collect_garbage(conn)
        return count

    def storage_report(self) -> dict[str, Any]:
        run_cols = ("run_id", "workflow", "status", "edited", "error", "result", "owner",
                    "origin_checkpoint_id")
        run_bytes = sum((func.coalesce(func.length(_R[c]), 0) for c in run_cols), 48)
        with self._read() as conn:
            n_runs, b_runs = conn.execute(select(func.count(), func.sum(run_bytes))).one()
            n_ckpts, b_ckpts = conn.execute(select(func.count(), func.sum(_C.size_bytes))).one()
            n_blobs, b_blobs = conn.execute(select(func.count(), func.sum(_B.size))).one()
        report: dict[str, Any] = {
            "runs": n_runs,
            "checkpoints": n_ckpts,
            "blobs": n_blobs,
            "bytes": int((b_runs or 0) + (b_ckpts or 0) + (b_blobs or 0)),
            "url": self.url,
        }
        if self._is_sqlite:
            path = self._url.database or ""
            report["file_bytes"] = sum(
                os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p)
            )
        return report

    def close(self) -> None:
        """Close the writer connection and the pool; a later call opens new connections."""
        self.closed = True
        self._writer.close()
        self._engine.dispose()


def _file_id(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``, None if there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino
