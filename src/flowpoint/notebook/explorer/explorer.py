"""`CheckpointExplorer`: one explicit state, small views that render it, and what buttons do.

The state (:class:`ExplorerState`: selection, pin, filters, sort, page, mode) is the only thing
user actions change; the table, timeline, detail, diff, edit, human and toolbar views observe it.
Runs are launched as tasks on the kernel's running loop and followed through widgets.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

import ipywidgets as w

from ...checkpoints.checkpointer import WorkflowCheckpointer
from ...checkpoints.drivers import is_stop_event
from ...checkpoints.model import Checkpoint, Run
from ...errors import CheckpointNotFound, FlowpointError, InvalidEdit
from ...runtime.events import Event, event_key
from ...runtime.workflow import Workflow
from ..timeline import Timeline
from .detail_view import DetailView
from .diff_view import DiffView
from .edit_view import EditView
from .human_view import HumanView, live_handler
from .monitor import RunMonitor
from .source import Source, is_read_only
from .state import FILTER_KEYS, MODES, ExplorerState
from .table_view import TableView
from .toolbar import Toolbar
from .trees import hint, note

READ_ONLY = ("read-only view: no workflow is attached, so nothing can be resumed or edited "
             "here. Attach one: ckptr = WorkflowCheckpointer(workflow=YourFlow(), store=...), "
             "then %explore ckptr")


class CheckpointExplorer(w.VBox):
    """Explore runs: select, filter, compare, edit (event and state), pause and resume.

    Drive it from code as from the mouse: :meth:`select`, :meth:`set_filters`, :attr:`rows`,
    and :attr:`state` (selection, pin, filters, sort, page, mode, breakpoints).
    """

    def __init__(self, checkpointer: WorkflowCheckpointer, *,
                 run_ids: Iterable[str] | str | None = None, page_size: int = 100) -> None:
        super().__init__()
        self.add_class("fp-explorer")
        self.checkpointer = checkpointer
        self.read_only = is_read_only(checkpointer)
        ids = [run_ids] if isinstance(run_ids, str) else (
            None if run_ids is None else [str(r) for r in run_ids])
        self.source = Source(checkpointer, ids)
        self.state = ExplorerState(page_size=page_size)
        self.selected: Checkpoint | None = None
        self.pinned: Checkpoint | None = None
        self.total = 0
        self._rows: list[dict[str, Any]] = []
        self._closed = False
        self._refresh_handle: asyncio.TimerHandle | None = None
        self._refresh_cost = 0.0
        self._focus_run: str | None = None
        self._keep_selection = False
        self._seen_revision = -1
        self._options: dict[str, list[list[str]]] = {}
        self._total_all = 0
        self.monitor = RunMonitor(checkpointer, self._on_run_end, self._on_store_event)
        self.status = self.monitor.status
        wf = getattr(checkpointer, "_workflow", None)  # breakpoints: flowpoint's runtime only
        steps = sorted(wf.steps()) if isinstance(wf, Workflow) else []
        self.toolbar = Toolbar(self.status, self.monitor.progress, steps)
        self.resume_button = self.toolbar.resume_button
        self.pin_button = self.toolbar.pin_button
        self.note = w.HTML(note(READ_ONLY, "warn") if self.read_only else "")
        self.table = TableView(self.state)
        self.timeline = Timeline()
        self.detail = DetailView()
        self.diff_view = DiffView()
        self.edit_view = EditView()
        self.human = HumanView(self._answer, lambda c: self._launch(c, what="resume"))
        self.tabs = w.Tab(children=[self.detail, self.diff_view, self.edit_view],
                          titles=("Detail", "Diff", "Edit"))
        left = w.VBox([self.table], layout=w.Layout(min_width="0"))
        right = w.VBox([self.tabs], layout=w.Layout(min_width="0"))
        left.add_class("fp-col")
        left.add_class("fp-col--table")
        right.add_class("fp-col")
        main = w.HBox([left, right], layout=w.Layout(flex_flow="row wrap", width="100%"))
        main.add_class("fp-main")
        self.children = (self.note, self.toolbar, self.human, self.timeline, main)
        self._wire()
        self.refresh()
        if not self.state.selected and self._rows:
            self.state.selected = self._rows[0]["id"]

    # --- wiring ---------------------------------------------------------------------------------
    def _wire(self) -> None:
        s = self.state
        s.observe(lambda _c: self._safely("refresh", self._reload),
                  names=["filters", "sort", "descending", "page", "page_size", "revision"])
        s.observe(lambda c: self._safely("select", lambda: self._show(c["new"])), names="selected")
        s.observe(lambda _c: self._safely("pin", self._pin_changed), names="pinned")
        s.observe(self._mode_changed, names="mode")
        s.observe(lambda c: setattr(self.toolbar.breakpoint, "value",
                                    (c["new"] or [""])[0]), names="breakpoints")
        self.tabs.observe(lambda c: setattr(s, "mode", MODES[c["new"] or 0]),
                          names="selected_index")
        self.timeline.observe(self._on_timeline, names="selected")
        self.diff_view.show_all.observe(lambda c: setattr(s, "show_all", c["new"]), names="value")
        s.observe(lambda _c: self._safely("diff", self._diff), names="show_all")
        self.toolbar.breakpoint.observe(
            lambda c: setattr(s, "breakpoints", [c["new"]] if c["new"] else []), names="value")
        self.resume_button.on_click(lambda _b: self.selected is not None and self._launch(
            self.selected, what="resume"))
        self.pin_button.on_click(lambda _b: self._toggle_pin())
        self.toolbar.refresh_button.on_click(lambda _b: self.refresh())
        self.edit_view.resume_button.on_click(lambda _b: self._resume_with_edit())

    def _safely(self, what: str, fn: Any) -> None:
        try:
            fn()
        except Exception as exc:  # a widget callback must show its error, not lose it
            self.monitor.error(f"{what} failed", exc)

    # --- public API -----------------------------------------------------------------------------
    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows the table shows now (this page), as plain dicts."""
        return [{"checkpoint_id": r["id"], "run_id": r["run_id"], "seq": r["seq"],
                 "step": r["step"], **{k: v for k, v in r["cells"].items()
                                      if k not in ("run", "seq", "step")},
                 "run_status": r["run_status"]} for r in self._rows]

    def select(self, checkpoint_id: str) -> Checkpoint:
        """Select a checkpoint (id or unique id prefix) in the table, timeline and panels."""
        ckpt = self.checkpointer.get(str(checkpoint_id))
        self.state.selected = ckpt.id_
        if self.selected is None or self.selected.id_ != ckpt.id_:
            self._show(ckpt.id_)
        assert self.selected is not None
        return self.selected

    def set_filters(self, status: Any = None, step: Any = None, input_type: Any = None,
                    output_type: Any = None, text: str | None = None, run: str | None = None
                    ) -> list[dict[str, Any]]:
        """Filter the table and timeline (None or "" = any); returns the rows now shown.

        ``step="(start)"`` (or None inside a list) matches start checkpoints; event types may
        be classes or names.
        """
        def plain(v: Any) -> str:
            if v is None:
                return ""
            if isinstance(v, type) and issubclass(v, Event):
                return event_key(v)
            return str(v)

        values = {"status": plain(status), "step": plain(step), "input_type": plain(input_type),
                  "output_type": plain(output_type), "text": plain(text), "run": plain(run)}
        with self.state.hold_trait_notifications():
            self.state.filters = {k: v for k, v in values.items() if v and k in FILTER_KEYS}
            self.state.page = 0
        return self.rows

    @property
    def last_task(self) -> asyncio.Task[None] | None:
        """The task following the last run launched or answered here (``await`` it)."""
        return self.monitor.last_task

    def refresh(self) -> None:
        """Re-read the store (keeps filters, selection and pin)."""
        if self._refresh_handle is not None:
            self._refresh_handle.cancel()
            self._refresh_handle = None
        self.state.revision += 1

    # --- reading --------------------------------------------------------------------------------
    def _reload(self) -> None:
        started = time.perf_counter()
        s = self.state
        store_changed = self._seen_revision != s.revision
        if store_changed:  # the store changed: options and the total too (one pass)
            self._seen_revision = s.revision
            self._options, self._total_all = self.source.options(s.filters)
        q = self.source.query(s.filters, s.sort, s.descending)
        known = self._total_all if not s.filters else None
        rows, runs, total = self.source.page(q, s.page, s.page_size, known)
        last_page = max(0, (total - 1) // s.page_size)
        if s.page > last_page:
            s.page = last_page  # observed: reloads once more
            return
        self.total = total
        self._rows = rows
        with self.table.hold_sync():  # the table first: the timeline follows
            self.table.options = self.source.keep_selected(self._options, s.filters)
            self.table.total = total
            self.table.total_all = self._total_all
            self.table.rows = rows
        lanes, marks = self.source.lanes(runs, q)
        self.timeline.set_data(lanes, marks)
        self._refresh_cost = time.perf_counter() - started
        sel = s.selected
        if sel and not any(r["id"] == sel for r in rows) and not self._still_matches(sel, q):
            s.selected = ""  # filtered away: the detail clears
        else:
            self.timeline.selected = sel
            if sel and store_changed:
                self._show(sel, reload=True)
        self.timeline.pinned = s.pinned

    def _still_matches(self, checkpoint_id: str, q: Any) -> bool:
        if self.selected is None or self.selected.id_ != checkpoint_id:
            return False
        import dataclasses

        one_run = dataclasses.replace(q, run_ids=(self.selected.run_id,), sort=None)
        return any(r[0] == checkpoint_id for r in self.checkpointer.store.table_rows(one_run))

    def _run(self, run_id: str) -> Run | None:
        try:
            return self.checkpointer.get_run(run_id)
        except CheckpointNotFound:
            return None

    # --- selection ------------------------------------------------------------------------------
    def _on_timeline(self, change: dict[str, Any]) -> None:
        if change["new"] and change["new"] != self.state.selected:
            self.state.selected = change["new"]

    def _show(self, checkpoint_id: str, reload: bool = False) -> None:
        if not checkpoint_id:
            self.selected = None
            self.timeline.selected = ""
            self.detail.show(None, None, False, self.read_only)
            self.edit_view.load(None, "select a checkpoint")
            self.human.update(self.checkpointer, None, None, self.read_only)
            self.toolbar.set_reason(READ_ONLY if self.read_only else "select a checkpoint")
            self._diff()
            return
        fresh = self.selected is None or self.selected.id_ != checkpoint_id
        ckpt = self.checkpointer.get(checkpoint_id) if fresh or reload else self.selected
        assert ckpt is not None
        self.selected = ckpt
        self.timeline.selected = ckpt.id_
        run = self._run(ckpt.run_id)
        last = self.source.last_seqs([ckpt.run_id]).get(ckpt.run_id)
        is_last = last == ckpt.seq
        self.detail.show(ckpt, run, is_last, self.read_only)
        reason = self._resume_blocker(ckpt)
        self.toolbar.set_reason(reason)
        self.edit_view.load(ckpt, reason)
        self._update_human(ckpt, run)
        if self.state.mode == "diff":
            self._diff()

    def _resume_blocker(self, ckpt: Checkpoint) -> str | None:
        """Why Resume / Edit cannot start from ``ckpt``, or None."""
        if self.read_only:
            return READ_ONLY
        if ckpt.problems:
            return f"cannot resume from this checkpoint: {'; '.join(ckpt.problems[:2])}"
        state = ckpt.ctx_state
        busy = bool(state.get("queues") or state.get("in_progress"))
        if is_stop_event(ckpt.output_event) and not busy:
            return ("final checkpoint: its run ended here with a StopEvent, so a run from it "
                    "would do nothing. Select an earlier checkpoint to resume from.")
        return None

    def _update_human(self, ckpt: Checkpoint, run: Run | None) -> None:
        """Show the prompt of a waiting run when any of its checkpoints is selected (or of a
        run resumed from this checkpoint that has no checkpoint of its own yet)."""
        store = self.checkpointer.store
        for child in reversed(store.list_runs(statuses=("waiting",))):
            if child.origin_checkpoint_id == ckpt.id_ and not store.count_checkpoints(
                    self.checkpointer.query(run_id=child.run_id)):
                self.human.update(self.checkpointer, Run.from_record(child), ckpt,
                                  self.read_only)
                return
        if run is None or run.status != "waiting":
            self.human.update(self.checkpointer, run, None, self.read_only)
            return
        try:
            holder = self.checkpointer.last_checkpoint(run.run_id)
        except CheckpointNotFound:
            holder = ckpt
        self.human.update(self.checkpointer, run, holder, self.read_only)

    # --- pin, diff, mode ------------------------------------------------------------------------
    def _toggle_pin(self) -> None:
        sel = self.state.selected
        self.state.pinned = "" if not sel or self.state.pinned == sel else sel

    def _pin_changed(self) -> None:
        pid = self.state.pinned
        self.pinned = self.checkpointer.get(pid) if pid else None
        self.timeline.pinned = pid
        self.toolbar.pin_info.value = "" if not pid else hint(
            f"pinned {pid[:8]}: Diff compares the selected checkpoint with it (Pin again on it "
            f"to unpin)")
        if self.state.mode == "diff":
            self._diff()

    def _mode_changed(self, change: dict[str, Any]) -> None:
        index = MODES.index(change["new"])
        if self.tabs.selected_index != index:
            self.tabs.selected_index = index
        if change["new"] == "diff":
            self._safely("diff", self._diff)

    def _diff(self) -> None:
        b = self.selected
        if b is None:
            self.diff_view.show(None, None, "", "select a checkpoint first")
            return
        if self.pinned is not None and self.pinned.id_ != b.id_:
            self.diff_view.show(self.pinned, b, "pinned")
            return
        if b.parent_id is None:
            self.diff_view.show(None, None, "", (
                f"checkpoint {b.id_[:8]} is the start of run {b.run_id[:8]}: there is no "
                f"previous checkpoint. Pin another checkpoint to compare against it."))
            return
        try:
            a = self.checkpointer.get(b.parent_id)
        except CheckpointNotFound:
            self.diff_view.show(None, None, "", f"the previous checkpoint {b.parent_id[:8]} is "
                                                f"no longer stored (pruned?)")
            return
        self.diff_view.show(a, b, "previous" if a.run_id == b.run_id else "resumed from")

    # --- launching ------------------------------------------------------------------------------
    def _launch(self, ckpt: Checkpoint, output_event: dict[str, Any] | None = None,
                state: dict[str, Any] | None = None, what: str = "resume") -> None:
        reason = self._resume_blocker(ckpt)
        if reason is not None:
            self.monitor.say(reason, "fp-error")
            return
        ckptr = self.checkpointer
        breaks = list(self.state.breakpoints) or None
        run = self._run(ckpt.run_id)
        last = self.source.last_seqs([ckpt.run_id]).get(ckpt.run_id)
        if run is not None and run.status == "paused" and last == ckpt.seq:
            def start() -> Any:
                return ckptr.resume(ckpt.run_id, output_event=output_event, state=state,
                                    pause_before=breaks)
            label = f"continue paused run {ckpt.run_id[:8]}"
        else:
            def start() -> Any:
                return ckptr.run_from(ckpt, output_event=output_event, state=state,
                                      pause_before=breaks)
            label = f"{what} from {ckpt.id_[:8]}"
        self._keep_selection = what == "edit"
        on_error = self.edit_view.failed if what == "edit" else None
        expected = max(1, (last or 0) - ckpt.seq) if not ckpt.is_start else (last or 0) + 1
        self.monitor.launch(start, label, expected, on_error=on_error)

    def _resume_with_edit(self) -> None:
        ckpt = self.selected
        if ckpt is None:
            return
        self.edit_view.error.value = ""
        try:
            event, state = self.edit_view.edits()
        except InvalidEdit as exc:
            self.edit_view.failed(exc)
            self.monitor.error("edit not resumed", exc)
            return
        if event is None and state is None:
            self.edit_view.error.value = hint("no field changed: resuming with the checkpoint "
                                              "as stored")
        self._launch(ckpt, event, state, what="edit")

    def _answer(self, run_id: str, text: str) -> None:
        found = live_handler(run_id, self.checkpointer)
        if found is None:
            self.monitor.say(f"run {run_id[:8]} is not running in this kernel", "fp-error")
            return
        ckptr, handler = found
        try:
            ckptr.respond(run_id, text)
        except FlowpointError as exc:
            self.monitor.error(f"cannot answer run {run_id[:8]}", exc)
            return
        self.human.text.value = ""
        self.human.layout.display = "none"
        self.monitor.say(f"sent the response to run {run_id[:8]}")
        self.monitor.follow(handler)

    # --- live updates ---------------------------------------------------------------------------
    def _on_run_end(self, run_id: str, _outcome: str) -> None:
        if self._closed:
            return
        self.refresh()
        if self._keep_selection:
            self._keep_selection = False
            return
        self._focus(run_id)

    def _on_store_event(self, kind: str, run_id: str, _payload: Any) -> None:
        """Checkpointer events: refresh later, at most every 0.5 s (longer if refresh is slow)."""
        if self._closed:
            return
        if kind == "status" and _payload == "waiting":
            self._focus_run = run_id
        if self._refresh_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            delay = max(0.5, 5 * self._refresh_cost)
            self._refresh_handle = loop.call_later(delay, self._scheduled_refresh)

    def _scheduled_refresh(self) -> None:
        self._refresh_handle = None
        if self._closed:
            return
        focus, self._focus_run = self._focus_run, None
        self._safely("refresh", self.refresh)
        if focus and not self._keep_selection:
            self._safely("select", lambda: self._focus(focus))

    def _focus(self, run_id: str) -> None:
        """Select where a run stands: its last checkpoint, or the one it was resumed from."""
        try:
            self.state.selected = self.checkpointer.last_checkpoint(run_id).id_
        except CheckpointNotFound:
            run = self._run(run_id)
            if run is not None and run.origin_checkpoint_id:
                self.state.selected = run.origin_checkpoint_id

    def close(self) -> None:
        """Stop listening to the checkpointer and close the widget with its parts."""
        self._closed = True
        self.monitor.close()
        if self._refresh_handle is not None:
            self._refresh_handle.cancel()
        stack = list(self.children)
        while stack:
            child = stack.pop()
            stack.extend(getattr(child, "children", ()) or ())
            child.close()
        super().close()

    def __repr__(self) -> str:
        sel = self.state.selected[:8] or None
        return (f"CheckpointExplorer(rows={len(self._rows)}, matching={self.total}, "
                f"selected={sel!r})")
