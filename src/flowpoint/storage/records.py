"""Plain records the stores keep: JSON-able data only, nothing that knows about events."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: The columns of ``CheckpointStore.table_rows``: checkpoint fields then its run's, no events/state.
TABLE_COLUMNS = (
    "id", "run_id", "seq", "step", "input_type", "output_type", "created_at", "step_duration_s",
    "metadata", "parent_id", "status", "workflow", "origin_checkpoint_id", "edited",
)

#: The columns of ``SQLStore.record_rows``: a checkpoint's fields as stored (JSON still text).
RECORD_COLUMNS = (
    "id", "run_id", "seq", "step", "input_type", "output_type", "input_event", "output_event",
    "created_at", "step_duration_s", "metadata", "parent_id", "serializer",
)

#: Columns ``CheckpointQuery.sort`` can order by.
SORT_KEYS = ("run_id", "seq", "step", "input_type", "output_type", "status", "created_at",
             "step_duration_s", "metadata", "error", "workflow")

RUN_STATUSES = ("running", "waiting", "completed", "failed", "cancelled", "interrupted", "paused")
LIVE_STATUSES = ("running", "waiting")  # a process runs the run (or did, until it died)
#: Runs that may still continue from their newest checkpoint: prune(older_than=) keeps it.
UNFINISHED_STATUSES = ("running", "waiting", "paused")


class EncodedState:
    """A ctx_state already split into a manifest and blobs by the run that took it.

    ``blobs`` holds only the blobs new since that run's previous checkpoint; ``refs`` names the
    older ones the manifest or the new blobs refer to directly, which the store checks are still
    there. If some are gone (pruned meanwhile), ``rebuild()`` gives the state with every blob.
    ``text`` is the manifest as the store writes it (compact JSON), when the run built that
    text itself; the manifest value is then parsed from it only if asked for.
    """

    __slots__ = ("_manifest", "text", "blobs", "refs", "rebuild")

    def __init__(self, manifest: Any, blobs: dict[str, bytes], refs: frozenset[str],
                 rebuild: Callable[[], EncodedState], text: str | None = None) -> None:
        self._manifest = manifest
        self.text = text
        self.blobs = blobs
        self.refs = refs
        self.rebuild = rebuild

    @property
    def manifest(self) -> Any:
        """The manifest as a JSON value."""
        if self._manifest is _FROM_TEXT:
            self._manifest = json.loads(self.text)  # type: ignore[arg-type]
        return self._manifest

    @classmethod
    def of_text(cls, text: str, blobs: dict[str, bytes], refs: frozenset[str],
                rebuild: Callable[[], EncodedState]) -> EncodedState:
        """The state whose manifest is the compact JSON ``text``."""
        return cls(_FROM_TEXT, blobs, refs, rebuild, text)


_FROM_TEXT: Any = object()


@dataclass(frozen=True, slots=True)
class CheckpointRecord:
    """One stored checkpoint. Events are already encoded (``{"type": key, "data": {...}}``)."""

    id: str
    run_id: str
    seq: int
    step: str | None  # last completed step; None for the start checkpoint (seq 0)
    input_type: str | None  # event registry key, "module.QualName"
    output_type: str | None
    input_event: Any
    output_event: Any
    ctx_state: dict[str, Any] | None  # None when listed with with_state=False
    created_at: float  # epoch seconds, UTC
    step_duration_s: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    parent_id: str | None = None
    serializer: str = "json"
    encoded_state: EncodedState | None = field(default=None, repr=False, compare=False)
    # the JSON text of input_event and output_event, when the run that took it made them
    event_texts: tuple[str | None, str | None] | None = field(default=None, repr=False,
                                                               compare=False)


class _Draft:
    """CheckpointRecord's slots, writable: ``taken_record`` fills one, then makes it the record."""

    __slots__ = CheckpointRecord.__slots__


def taken_record(id: str, run_id: str, seq: int, step: str | None, input_type: str | None,
                 output_type: str | None, input_event: Any, output_event: Any,
                 ctx_state: dict[str, Any] | None, created_at: float,
                 step_duration_s: float | None, metadata: dict[str, Any], parent_id: str | None,
                 serializer: str, encoded_state: EncodedState | None,
                 event_texts: tuple[str | None, str | None] | None) -> CheckpointRecord:
    """``CheckpointRecord(...)`` with every field given, in a fraction of its time: a frozen
    dataclass sets each field through ``object.__setattr__``, and a run takes one per step."""
    r: Any = object.__new__(_Draft)
    r.id, r.run_id, r.seq, r.step, r.input_type, r.output_type = (
        id, run_id, seq, step, input_type, output_type)
    r.input_event, r.output_event, r.ctx_state, r.created_at = (
        input_event, output_event, ctx_state, created_at)
    r.step_duration_s, r.metadata, r.parent_id, r.serializer = (
        step_duration_s, metadata, parent_id, serializer)
    r.encoded_state, r.event_texts = encoded_state, event_texts
    r.__class__ = CheckpointRecord  # same slots, so the layout is the same: now frozen
    return r  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One workflow run: its status, where it came from and how it ended."""

    run_id: str
    workflow: str
    status: str
    started_at: float
    ended_at: float | None = None
    origin_checkpoint_id: str | None = None
    edited: dict[str, Any] | None = None
    error: dict[str, Any] | None = None  # {"type", "message", "traceback"}
    result: Any = None  # JSON-able encoding of the StopEvent result
    owner: str | None = None  # "host:pid:boot" of the process running it
    heartbeat_at: float | None = None


@dataclass(frozen=True, slots=True)
class CheckpointQuery:
    """Filters combined with AND; each tuple is an OR of its values. Pushed down to the store.

    Type filters match a full registry key ("pkg.mod.JokeEvent") or a bare class name ("JokeEvent").
    """

    run_ids: tuple[str, ...] | None = None
    steps: tuple[str | None, ...] | None = None  # None in the tuple matches the start checkpoint
    input_types: tuple[str, ...] | None = None
    output_types: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None  # of the run the checkpoint belongs to
    workflows: tuple[str, ...] | None = None
    text: str | None = None  # case-insensitive substring of ids, step, types, events, metadata,
    # ctx_state values kept inline (small ones, e.g. most ctx.store values) and the run's error
    created_after: float | None = None
    created_before: float | None = None
    descending: bool = False  # order by (run started_at, run_id, seq); newest first if True
    state_refs: tuple[str, ...] | None = None  # set by a store: blobs of state the text is in
    sort: str | None = None  # one of SORT_KEYS to order by first (then run order); descending too
    include_start: bool = True  # False leaves out start checkpoints (step None), as steps=... can't
