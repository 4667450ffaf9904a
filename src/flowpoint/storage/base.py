"""The store protocol: what the checkpointer needs from any backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from .records import CheckpointQuery, CheckpointRecord, RunRecord


@runtime_checkable
class CheckpointStore(Protocol):
    """Durable home of runs and checkpoints. Every write is atomic and committed on return."""

    url: str

    def put_run(self, run: RunRecord) -> None:
        """Insert a new run."""

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set fields of an existing run (status, ended_at, error, result, heartbeat_at, ...)."""

    def get_run(self, run_id: str) -> RunRecord | None:
        """The run with this exact id, or None."""

    def list_runs(
        self, run_ids: Sequence[str] | None = None, statuses: Sequence[str] | None = None
    ) -> list[RunRecord]:
        """Runs, oldest first, optionally restricted."""

    def put_checkpoint(self, ckpt: CheckpointRecord) -> None:
        """Commit a checkpoint before returning, renewing its run's heartbeat_at (SQL stores do
        that at most every few seconds, not on every checkpoint)."""

    def get_checkpoint(self, id_or_prefix: str) -> CheckpointRecord:
        """The checkpoint with this id or unique id prefix, with its ctx_state, read in one
        snapshot (a concurrent prune cannot take its blobs away half-way).

        Raises CheckpointNotFound / AmbiguousCheckpointId.
        """

    def list_checkpoints(
        self,
        query: CheckpointQuery | None = None,
        limit: int | None = None,
        offset: int = 0,
        with_state: bool = False,
    ) -> list[CheckpointRecord]:
        """Checkpoints matching the query, in run order then seq; ctx_state only if with_state."""

    def table_rows(
        self, query: CheckpointQuery | None = None, limit: int | None = None, offset: int = 0
    ) -> list[tuple[Any, ...]]:
        """Summary rows in ``TABLE_COLUMNS`` order, same filters and order as list_checkpoints;
        ``metadata`` and ``edited`` stay JSON text. For tables over many checkpoints."""

    def count_checkpoints(self, query: CheckpointQuery | None = None) -> int:
        """How many checkpoints match."""

    def delete_runs(self, run_ids: Sequence[str]) -> int:
        """Delete runs and their checkpoints; returns checkpoints deleted."""

    def prune(self, keep_last: int | None = None, older_than: float | None = None) -> int:
        """Delete checkpoints beyond the last `keep_last` of each run and/or created before
        `older_than` (epoch seconds). Always kept: each run's start checkpoint (seq 0; only
        delete_runs removes it), and with `older_than` the newest checkpoint of a running or
        waiting run (where it would resume). Returns how many were deleted.
        """

    def storage_report(self) -> dict[str, Any]:
        """{"runs": n, "checkpoints": n, "bytes": n, ...} for keeping the store small."""

    def close(self) -> None:
        """Release connections."""


@runtime_checkable
class ConditionalRunStore(Protocol):
    """What flowpoint's own stores add to CheckpointStore (optional for other stores):
    ``read_only`` (True if opened without write access; every write raises StoreError) and a
    compare-and-set for marking stale runs."""

    read_only: bool

    def interrupt_run(self, run_id: str, heartbeat_at: float | None) -> bool:
        """Mark a running or waiting run "interrupted", in one conditional update, only if its
        heartbeat is still ``heartbeat_at`` (the one the caller judged stale): a run that ended
        or renewed its lease meanwhile is left alone. True if it was marked."""
