"""What the explorer state shows, read from the store: the page of rows, the counts, the filter
menus, the timeline's lanes and marks, and the selected and pinned checkpoints.

:class:`ExplorerData` observes the :class:`ExplorerState` and re-reads only what a change needs
(a filter reads one page; the menus and the total are read again only when the store changed);
the views observe these traits and render them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from typing import Any

import traitlets

from ...checkpoints.checkpointer import WorkflowCheckpointer
from ...checkpoints.drivers import is_stop_event
from ...checkpoints.model import Checkpoint, Run
from ...errors import CheckpointNotFound
from .source import Source
from .state import ExplorerState

#: Above this many checkpoints, with the kernel's loop running, the filter menus (one grouped
#: pass over every row) are read in a worker thread and filled in when ready: the table first.
MENUS_LATER_OVER = 10_000

READ_ONLY = ("read-only view: no workflow is attached, so nothing can be resumed or edited "
             "here. Attach one: ckptr = WorkflowCheckpointer(workflow=YourFlow(), store=...), "
             "then %explore ckptr")


def resume_blocker(ckpt: Checkpoint, read_only: bool) -> str | None:
    """Why Resume / Edit cannot start from ``ckpt``, or None."""
    if read_only:
        return READ_ONLY
    if ckpt.problems:
        return f"cannot resume from this checkpoint: {'; '.join(ckpt.problems[:2])}"
    state = ckpt.ctx_state
    busy = bool(state.get("queues") or state.get("in_progress"))
    if is_stop_event(ckpt.output_event) and not busy:
        return ("final checkpoint: its run ended here with a StopEvent, so a run from it "
                "would do nothing. Select an earlier checkpoint to resume from.")
    return None


@dataclasses.dataclass(frozen=True, eq=False)
class Selection:
    """The selected checkpoint as read once for every view: its run, whether it is the run's
    last checkpoint, and why it cannot be resumed (None if it can)."""

    checkpoint: Checkpoint
    run: Run | None
    is_last: bool
    blocker: str | None


class ExplorerData(traitlets.HasTraits):
    """The store's answer to the explorer state; every trait is re-read when the state (or,
    through ``state.revision``, the store) changes."""

    rows = traitlets.List()  # the table page: dicts made by Source
    total = traitlets.Int(0)  # checkpoints matching the filters
    total_all = traitlets.Int(0)  # checkpoints the explorer may show
    options = traitlets.Dict()  # filter menus: {filter: [[label, value], ...]}
    lanes = traitlets.List()  # timeline lanes of the page's runs, newest first
    marks = traitlets.List()  # their checkpoints matching the filters
    selection = traitlets.Instance(Selection, allow_none=True)
    pinned = traitlets.Instance(Checkpoint, allow_none=True)

    def __init__(self, state: ExplorerState, ckptr: WorkflowCheckpointer, source: Source,
                 read_only: bool, on_error: Callable[[str, BaseException], None]) -> None:
        super().__init__()
        self.state = state
        self.ckptr = ckptr
        self.source = source
        self.read_only = read_only
        self.on_error = on_error
        self.cost = 0.0  # seconds the last page read took
        self.search_cost: float | None = None  # seconds the last text search's page took
        self._seen_revision = -1
        self._closed = False
        #: The task reading the filter menus off the loop, if any (``await`` it for them).
        self.menus_pending: asyncio.Task[None] | None = None
        state.observe(lambda _c: self._safely("refresh", self.load_page),
                      names=["filters", "sort", "descending", "page", "page_size", "revision"])
        state.observe(lambda _c: self._safely("select", self.load_selection), names="selected")
        state.observe(lambda _c: self._safely("pin", self.load_pinned), names="pinned")

    def _safely(self, what: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as exc:  # a widget callback must show its error, not lose it
            self.on_error(f"{what} failed", exc)

    # --- the page -------------------------------------------------------------------------------
    def load_page(self) -> None:
        """Read the page the state asks for (and the menus and total if the store changed)."""
        started = time.perf_counter()
        s = self.state
        store_changed = self._seen_revision != s.revision
        if store_changed:
            self._seen_revision = s.revision
            self.source.mark_stale()
            options, total_all = self._menus(s.revision)
        else:
            options, total_all = self.options, self.total_all
        q = self.source.query(s.filters, s.sort, s.descending)
        rows, runs, total = self.source.page(q, s.page, s.page_size,
                                             self.source.count_of(s.filters))
        if q.text is not None:
            self.search_cost = time.perf_counter() - started
        last_page = max(0, (total - 1) // s.page_size)
        if s.page > last_page:
            s.page = last_page  # observed: reads once more
            return
        with self.hold_trait_notifications():  # the table renders these first
            self.options = self.source.keep_selected(options, s.filters)
            self.total, self.total_all, self.rows = total, total_all, rows
        lanes, marks = self.source.lanes(runs, q)
        with self.hold_trait_notifications():
            self.lanes, self.marks = lanes, marks
        self.cost = time.perf_counter() - started
        sel = s.selected
        if sel and not any(r["id"] == sel for r in rows) and not self._still_matches(sel, q):
            s.selected = ""  # filtered away: the views clear
        elif store_changed:
            self.load_selection(reload=True)
            self.load_pinned()

    def _menus(self, revision: int) -> tuple[dict[str, list[list[str]]], int]:
        """The filter menus and how many checkpoints the explorer may show. Over a big store
        with a running loop, only the count is read now; the menus' values are read in a worker
        thread once the loop runs again (the table shows first) and filled in when ready. The
        menus shown meanwhile are the last ones (the "any" entries at first)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if self.menus_pending is not None:
            self.menus_pending.cancel()
            self.menus_pending = None
        if loop is None or not self.source.has_facets:
            return self.source.options(self.state.filters)
        self.source.forget_counts()
        total_all = self.source.count_all()
        if total_all <= MENUS_LATER_OVER:
            return self.source.options(self.state.filters)
        self.menus_pending = loop.create_task(self._menus_later(revision))
        return self.options or self.source.no_menus(), total_all

    async def _menus_later(self, revision: int) -> None:
        """Read the menus in a worker thread and fill them in, unless the store changed again
        (or the explorer closed) meanwhile."""
        try:
            found = await asyncio.get_running_loop().run_in_executor(None, self.source.facets)
            if self._closed or revision != self._seen_revision:
                return
            options, total_all = self.source.menus(found, self.state.filters)
            with self.hold_trait_notifications():
                self.options = self.source.keep_selected(options, self.state.filters)
                self.total_all = total_all
        except Exception as exc:  # a task must show its error, not lose it
            self.on_error("filter menus failed", exc)

    def close(self) -> None:
        """Stop filling in what is read off the loop."""
        self._closed = True
        if self.menus_pending is not None:
            self.menus_pending.cancel()
            self.menus_pending = None

    def _still_matches(self, checkpoint_id: str, q: Any) -> bool:
        """True if the selected checkpoint matches the filters on another page."""
        current = self.selection
        if current is None or current.checkpoint.id_ != checkpoint_id:
            return False
        one_run = dataclasses.replace(q, run_ids=(current.checkpoint.run_id,), sort=None)
        return any(r[0] == checkpoint_id for r in self.source.store.table_rows(one_run))

    # --- selection and pin ----------------------------------------------------------------------
    def load_selection(self, reload: bool = False) -> None:
        """Read the selected checkpoint with its run (again if ``reload``: the store changed)."""
        cid = self.state.selected
        if not cid:
            self.selection = None
            return
        current = self.selection
        if current is not None and current.checkpoint.id_ == cid and not reload:
            return
        ckpt = self.ckptr.get(cid)
        run = self.run(ckpt.run_id)
        last = self.source.last_seqs([ckpt.run_id]).get(ckpt.run_id)
        self.selection = Selection(ckpt, run, last == ckpt.seq,
                                   resume_blocker(ckpt, self.read_only))

    def load_pinned(self) -> None:
        pid = self.state.pinned
        self.pinned = self.ckptr.get(pid) if pid else None

    def run(self, run_id: str) -> Run | None:
        """The run as stored now, or None if it is gone."""
        try:
            return self.ckptr.get_run(run_id)
        except CheckpointNotFound:
            return None
