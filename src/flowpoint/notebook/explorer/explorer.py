"""`CheckpointExplorer`: one explicit state, small views that render it, and what buttons do.

The state (:class:`ExplorerState`: selection, pin, filters, sort, page, mode) is the only thing
user actions change; :class:`ExplorerData` reads what it shows from the store, and the table,
timeline, detail, diff, edit, human and toolbar views each observe state and data themselves.
Runs are launched as tasks on the kernel's running loop and followed through widgets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import ipywidgets as w

from ...checkpoints.checkpointer import WorkflowCheckpointer
from ...checkpoints.model import Checkpoint
from ...errors import CheckpointNotFound
from ...runtime.events import Event, event_key
from ...runtime.workflow import Workflow
from .actions import Actions
from .data import READ_ONLY, ExplorerData
from .detail_view import DetailView
from .diff_view import DiffView
from .edit_view import EditView
from .human_view import HumanView
from .monitor import RunMonitor
from .source import Source, is_read_only
from .state import FILTER_KEYS, MODES, ExplorerState
from .table_view import TableView
from .timeline_view import TimelineView
from .toolbar import Toolbar
from .trees import note


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
        self._closed = False
        self._refresh_handle: asyncio.TimerHandle | None = None
        self._focus_run: str | None = None
        self.monitor = RunMonitor(checkpointer, self._on_run_end, self._on_store_event)
        self.status = self.monitor.status
        self.data = ExplorerData(self.state, checkpointer, self.source, self.read_only,
                                 self.monitor.error)
        wf = getattr(checkpointer, "_workflow", None)  # breakpoints: flowpoint's runtime only
        steps = sorted(wf.steps()) if isinstance(wf, Workflow) else []
        self.toolbar = Toolbar(self.state, self.data, self.status, self.monitor.progress, steps)
        self.resume_button = self.toolbar.resume_button
        self.pin_button = self.toolbar.pin_button
        self.note = w.HTML(note(READ_ONLY, "warn") if self.read_only else "")
        self.table = TableView(self.state, self.data)
        self.timeline = TimelineView(self.state, self.data)
        self.detail = DetailView(self.data)
        self.diff_view = DiffView(self.state, self.data, checkpointer)
        self.edit_view = EditView(self.data)
        self.human = HumanView(self.data, lambda run_id, text: self.actions.answer(run_id, text),
                               lambda c: self.actions.launch(c, what="resume"))
        self.actions = Actions(self.data, self.monitor, self.edit_view, self.human)
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
        if not self.state.selected and self.data.rows:
            self.state.selected = self.data.rows[0]["id"]

    def _wire(self) -> None:
        s = self.state
        s.observe(self._mode_changed, names="mode")
        self.tabs.observe(lambda c: setattr(s, "mode", MODES[c["new"] or 0]),
                          names="selected_index")
        self.resume_button.on_click(lambda _b: self.actions.resume())
        self.toolbar.refresh_button.on_click(lambda _b: self.refresh())
        self.edit_view.resume_button.on_click(lambda _b: self.actions.resume_with_edit())

    def _mode_changed(self, change: dict[str, Any]) -> None:
        index = MODES.index(change["new"])
        if self.tabs.selected_index != index:
            self.tabs.selected_index = index

    # --- public API -----------------------------------------------------------------------------
    @property
    def rows(self) -> list[dict[str, Any]]:
        """The rows the table shows now (this page), as plain dicts."""
        return [{"checkpoint_id": r["id"], "run_id": r["run_id"], "seq": r["seq"],
                 "step": r["step"], **{k: v for k, v in r["cells"].items()
                                      if k not in ("run", "seq", "step")},
                 "run_status": r["run_status"]} for r in self.data.rows]

    @property
    def total(self) -> int:
        """How many checkpoints match the filters (on every page)."""
        return self.data.total

    @property
    def selected(self) -> Checkpoint | None:
        """The selected checkpoint as read from the store, or None."""
        return self.data.selection.checkpoint if self.data.selection is not None else None

    @property
    def pinned(self) -> Checkpoint | None:
        """The pinned checkpoint (Diff compares the selection with it), or None."""
        return self.data.pinned

    def select(self, checkpoint_id: str) -> Checkpoint:
        """Select a checkpoint (id or unique id prefix) in the table, timeline and panels."""
        ckpt = self.checkpointer.get(str(checkpoint_id))
        self.state.selected = ckpt.id_
        if self.selected is None or self.selected.id_ != ckpt.id_:
            self.data.load_selection()
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

    # --- live updates ---------------------------------------------------------------------------
    def _on_run_end(self, run_id: str, _outcome: str) -> None:
        if self._closed:
            return
        self.refresh()
        if self.actions.keep_selection:
            self.actions.keep_selection = False
            return
        self._focus(run_id)

    def _on_store_event(self, kind: str, run_id: str, payload: Any) -> None:
        """Checkpointer events: refresh later, at most every 0.5 s (longer if refresh is slow)."""
        if self._closed:
            return
        if kind == "status" and payload == "waiting":
            self._focus_run = run_id
        if self._refresh_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            delay = max(0.5, 5 * self.data.cost)
            self._refresh_handle = loop.call_later(delay, self._scheduled_refresh)

    def _scheduled_refresh(self) -> None:
        self._refresh_handle = None
        if self._closed:
            return
        focus, self._focus_run = self._focus_run, None
        self.refresh()
        if focus and not self.actions.keep_selection:
            try:
                self._focus(focus)
            except Exception as exc:  # a timer callback must show its error, not lose it
                self.monitor.error("select failed", exc)

    def _focus(self, run_id: str) -> None:
        """Select where a run stands: its last checkpoint, or the one it was resumed from."""
        try:
            self.state.selected = self.checkpointer.last_checkpoint(run_id).id_
        except CheckpointNotFound:
            run = self.data.run(run_id)
            if run is not None and run.origin_checkpoint_id:
                self.state.selected = run.origin_checkpoint_id

    def close(self) -> None:
        """Stop listening to the checkpointer and close the widget with its parts."""
        self._closed = True
        self.data.close()
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
        return (f"CheckpointExplorer(rows={len(self.data.rows)}, matching={self.total}, "
                f"selected={sel!r})")
