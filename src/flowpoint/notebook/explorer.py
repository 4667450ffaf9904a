"""`CheckpointExplorer`: timeline, filterable table, detail, diff, edit and resume in one widget.

It reads only through the checkpointer and its store (one run list and one checkpoint list per
refresh; the context snapshot of the selected checkpoint only), launches runs as tasks on the
kernel's running loop, and escapes every stored string it renders.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

import ipywidgets as w

from ..checkpoints.checkpointer import WorkflowCheckpointer
from ..checkpoints.model import Checkpoint, Run
from ..errors import AmbiguousCheckpointId, CheckpointNotFound
from . import explorer_data as data
from .explorer_actions import DETAIL, DIFF, EDIT, ExplorerActions, hint
from .explorer_human import HumanPanel
from .explorer_runs import RunMonitor
from .forms import EditForm
from .timeline import Timeline
from .trees import EXPLORER_CSS, detail_html, esc

PAGE = 200  # table rows per page
__all__ = ["CheckpointExplorer", "DETAIL", "DIFF", "EDIT"]


class CheckpointExplorer(ExplorerActions, w.VBox):
    """Explore a checkpointer's runs: select, compare, edit and resume checkpoints.

    ``max_runs``: lanes shown (the newest runs); ``run_ids``: only these runs (ids or prefixes).
    """

    def __init__(self, checkpointer: WorkflowCheckpointer, *, max_runs: int = 500,
                 run_ids: Iterable[str] | str | None = None) -> None:
        super().__init__()
        self.add_class("fp-explorer")
        self.checkpointer = checkpointer
        self.max_runs = max_runs
        self.run_ids = [run_ids] if isinstance(run_ids, str) else (
            None if run_ids is None else [str(r) for r in run_ids])
        self.selected: Checkpoint | None = None
        self.pinned: Checkpoint | None = None
        self._rows: list[Any] = []
        self._row_index: dict[str, int] = {}
        self._page = 0
        self._filtering = False
        self._guard = False
        self._closed = False
        self._diffed: tuple[str, str] | None = None
        self._refresh_handle: asyncio.TimerHandle | None = None
        self._refresh_cost = 0.0
        self._focus_run: str | None = None
        self._build_widgets()
        self.monitor = RunMonitor(checkpointer, self._on_run_end, self._on_store_event)
        self.status = self.monitor.status
        self.children = self._layout()
        self.refresh()

    # --- widgets --------------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.note = w.HTML()
        self._loaded = data.load(self.checkpointer, self.max_runs, self.run_ids)
        self._just_loaded = True
        self.timeline = Timeline()  # filled once by refresh()
        small = w.Layout(width="auto", min_width="120px", flex="1 1 120px")
        self.filters: dict[str, w.Widget] = {
            name: w.Dropdown(options=[(label, "")], value="", layout=small)
            for name, label in (("run", "all runs"), ("step", "any step"),
                                ("input_type", "any input"), ("output_type", "any output"),
                                ("status", "any status"))}
        self.filters["text"] = w.Text(placeholder="search ids, events, metadata…",
                                      continuous_update=False, layout=small)
        self.table = w.Select(options=[], rows=18, layout=w.Layout(width="100%"))
        self.table.add_class("fp-rows")
        self.table_head = w.HTML(f"<div class='fp-rowhead'>{esc(data.ROW_HEADER)}</div>")
        self.table_info = w.HTML()
        self.prev_button = w.Button(description="◀ newer", layout=w.Layout(width="auto"))
        self.next_button = w.Button(description="older ▶", layout=w.Layout(width="auto"))
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.resume_button = w.Button(description="Resume", icon="play", button_style="primary",
                                      tooltip="run_from(selected) as a task on the kernel's loop")
        self.pin_button = w.Button(description="Pin", icon="thumb-tack",
                                   tooltip="pin the selected checkpoint: Diff compares against it")
        self.diff_button = w.Button(description="Diff", icon="columns",
                                    tooltip="compare with the previous (or pinned) checkpoint")
        self.pin_info = w.HTML()
        self.detail = w.HTML(hint("select a checkpoint"))
        self.diff_view = w.HTML(hint("press Diff"))
        self.edit_form = EditForm()
        self.edit_button = w.Button(description="Resume with edit", icon="pencil",
                                    button_style="primary", disabled=True,
                                    layout=w.Layout(width="auto"))
        self.edit_error = w.HTML()
        self.human = HumanPanel()
        self.respond_text = self.human.text
        self.respond_button = self.human.send_button
        self.tabs = w.Tab(children=[w.Box([self.detail]), w.Box([self.diff_view]),
                                    w.VBox([self.edit_form, w.HBox([self.edit_button]), self.edit_error])],
                          titles=("Detail", "Diff", "Edit"))
        for widget in self.filters.values():
            widget.observe(self._on_filter, names="value")
        self.timeline.observe(self._on_timeline, names="selected")
        self.table.observe(self._on_table, names="value")
        self.tabs.observe(self._on_tab, names="selected_index")
        self.prev_button.on_click(lambda _b: self._turn_page(-1))
        self.next_button.on_click(lambda _b: self._turn_page(1))
        self.refresh_button.on_click(lambda _b: self._safely("refresh", self.refresh))
        self.resume_button.on_click(self._on_resume)
        self.pin_button.on_click(self._on_pin)
        self.diff_button.on_click(self._on_diff)
        self.edit_button.on_click(self._on_edit)
        self.human.send_button.on_click(self._on_respond)
        self.human.resume_button.on_click(self._on_resume_waiting)

    def _layout(self) -> tuple[w.Widget, ...]:
        filters = w.HBox(list(self.filters.values()), layout=w.Layout(flex_flow="row wrap"))
        pager = w.HBox([self.prev_button, self.next_button, self.table_info])
        left = w.VBox([filters, self.table_head, self.table, pager],
                      layout=w.Layout(width="48%", min_width="360px"))
        toolbar = w.HBox([self.refresh_button, self.resume_button, self.pin_button,
                          self.diff_button, self.pin_info])
        right = w.VBox([toolbar, self.human, self.tabs],
                       layout=w.Layout(width="52%", min_width="360px"))
        bottom = w.HBox([self.monitor.progress, self.status])
        return (w.HTML(EXPLORER_CSS), self.note, self.timeline,
                w.HBox([left, right], layout=w.Layout(width="100%")), bottom)

    @property
    def last_task(self) -> asyncio.Task[None] | None:
        """The task following the last run launched or answered here (``await`` it)."""
        return self.monitor.last_task

    # --- reading --------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read runs and checkpoints from the store; keeps filters, selection and pin."""
        if self._refresh_handle is not None:
            self._refresh_handle.cancel()
            self._refresh_handle = None
        started = time.perf_counter()
        if not self._just_loaded:  # the first read happened while building the widgets
            self._loaded = data.load(self.checkpointer, self.max_runs, self.run_ids)
        self._just_loaded = False
        loaded = self._loaded
        self._guard = True
        try:
            for name, opts in data.options(loaded).items():
                widget = self.filters[name]
                keep = widget.value if any(v == widget.value for _, v in opts) else ""
                widget.options = opts
                widget.value = keep
        finally:
            self._guard = False
        self._apply_filters()
        shown, total = len(loaded.runs), loaded.total_runs
        self.note.value = "" if shown == total else hint(
            f"showing the newest {shown} of {total} runs (max_runs={self.max_runs}); "
            f"filter by run or pass run_ids=[...] to see others")
        if self.selected is not None:
            self._show(self.selected)
        elif loaded.runs:
            last = loaded.last_of_run.get(next(reversed(loaded.runs)))
            if last is not None:
                self._select_id(last.id)
        self._refresh_cost = time.perf_counter() - started

    def _apply_filters(self) -> None:
        values = {name: widget.value or "" for name, widget in self.filters.items()}
        self._filtering = bool(data.filter_kwargs(values))
        records = data.filtered(self.checkpointer, self._loaded, values)
        self._rows = records[::-1]
        self._row_index = {r.id: i for i, r in enumerate(self._rows)}
        runs = self._loaded.runs
        if self._filtering:
            matched = {r.run_id for r in records}
            runs = {k: v for k, v in runs.items() if k in matched}
        self._guard = True
        try:
            self.timeline.set_data(data.timeline_runs(runs), records)
            if self.selected is not None and self.selected.id_ in self._row_index:
                self.timeline.selected = self.selected.id_
        finally:
            self._guard = False
        index = self._row_index.get(self.selected.id_) if self.selected else None
        self._page = index // PAGE if index is not None else 0
        self._show_rows()

    def _show_rows(self) -> None:
        start = self._page * PAGE
        page = self._rows[start:start + PAGE]
        runs = self._loaded.runs
        self._guard = True
        try:
            self.table.options = [(data.row_label(r, runs.get(r.run_id)), r.id) for r in page]
            sel = self.selected.id_ if self.selected else None
            self.table.value = sel if sel is not None and sel in self._row_index and \
                start <= self._row_index[sel] < start + PAGE else None
        finally:
            self._guard = False
        n = len(self._rows)
        what = "matching checkpoints" if self._filtering else "checkpoints"
        self.table_info.value = (hint(f"no {what}") if not n else hint(
            f"showing {start + 1}–{start + len(page)} of {n} {what}"))
        self.prev_button.disabled = self._page == 0
        self.next_button.disabled = start + PAGE >= n

    def _turn_page(self, step: int) -> None:
        last = max(0, (len(self._rows) - 1) // PAGE)
        self._page = min(last, max(0, self._page + step))
        self._show_rows()

    def _run(self, run_id: str) -> Run | None:
        try:
            return self.checkpointer.get_run(run_id)
        except CheckpointNotFound:
            return None

    # --- selection ------------------------------------------------------------------------------
    def select(self, checkpoint_id: str) -> Checkpoint:
        """Select a checkpoint (id or unique id prefix) in the timeline, table and every panel."""
        cid = str(checkpoint_id)
        if cid not in self._loaded.by_id:
            hits = [k for k in self._loaded.by_id if k.startswith(cid)]
            if len(hits) > 1:
                raise AmbiguousCheckpointId(f"{cid!r} matches {len(hits)} checkpoints; give more "
                                            f"characters")
            cid = hits[0] if hits else self.checkpointer.get(cid).id_
        self._select_id(cid)
        assert self.selected is not None
        return self.selected

    def _select_id(self, checkpoint_id: str) -> None:
        ckpt = self.checkpointer.get(checkpoint_id)
        self._guard = True
        try:
            self.timeline.selected = ckpt.id_
        finally:
            self._guard = False
        self._show(ckpt)

    def _show(self, ckpt: Checkpoint) -> None:
        fresh = self.selected is None or self.selected.id_ != ckpt.id_
        self.selected = ckpt
        run = self._run(ckpt.run_id)
        self.detail.value = detail_html(ckpt, run)
        self._sync_table(ckpt.id_)
        if fresh:
            self.edit_form.load(ckpt.output_event)
            self.edit_button.disabled = self.edit_form.disabled
            self.edit_error.value = ""
            self._diffed = None
            if self.tabs.selected_index == DIFF:
                self._diff()
            else:
                self.diff_view.value = hint("press Diff")
        self._update_human(ckpt, run)

    def _update_human(self, ckpt: Checkpoint, run: Run | None) -> None:
        """Show the prompt of a waiting run: a live run resumed from ``ckpt`` that has no
        checkpoints yet (it re-emitted ckpt's prompt), else ``ckpt``'s own run."""
        loaded = self._loaded
        for child in reversed(list(loaded.runs.values())):
            if (child.origin_checkpoint_id == ckpt.id_ and child.status == "waiting"
                    and child.run_id not in loaded.last_of_run
                    and self.checkpointer.handler(child.run_id) is not None):
                self.human.update(self.checkpointer, child, ckpt)
                return
        last = loaded.last_of_run.get(ckpt.run_id)
        self.human.update(self.checkpointer, run,
                          ckpt if last is not None and last.id == ckpt.id_ else None)

    def _sync_table(self, checkpoint_id: str) -> None:
        """Highlight the row of the selected checkpoint, turning to its page if needed."""
        index = self._row_index.get(checkpoint_id)
        if index is not None and index // PAGE != self._page:
            self._page = index // PAGE
            self._show_rows()
            return
        self._guard = True
        try:
            self.table.value = checkpoint_id if index is not None else None
        finally:
            self._guard = False

    def _on_timeline(self, change: dict[str, Any]) -> None:
        if self._guard:
            return
        if change["new"]:
            self._safely("select", lambda: self._select_id(change["new"]))

    def _on_table(self, change: dict[str, Any]) -> None:
        if self._guard or not change["new"]:
            return
        if self.selected is None or change["new"] != self.selected.id_:
            self._safely("select", lambda: self._select_id(change["new"]))

    def _on_filter(self, _change: dict[str, Any]) -> None:
        if not self._guard:
            self._safely("filter", self._apply_filters)

    def _on_tab(self, change: dict[str, Any]) -> None:
        if change["new"] == DIFF and self.selected is not None:
            self._diff()

    def _safely(self, what: str, fn: Any) -> None:
        try:
            fn()
        except Exception as exc:  # a widget callback must show its error, not lose it
            self.monitor.error(f"{what} failed", exc)

    # --- live updates ---------------------------------------------------------------------------
    def _on_run_end(self, run_id: str, _outcome: str) -> None:
        if self._closed:
            return
        self.refresh()
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
            delay = max(0.5, 5 * self._refresh_cost)
            self._refresh_handle = loop.call_later(delay, self._scheduled_refresh)

    def _scheduled_refresh(self) -> None:
        self._refresh_handle = None
        if self._closed:
            return
        focus, self._focus_run = self._focus_run, None
        self._safely("refresh", self.refresh)
        if focus:
            self._safely("select", lambda: self._focus(focus))

    def _focus(self, run_id: str) -> None:
        """Select where a run stands: its last checkpoint, or the one it was resumed from."""
        last = self._loaded.last_of_run.get(run_id)
        run = self._loaded.runs.get(run_id)
        if last is not None:
            self._select_id(last.id)
        elif run is not None and run.origin_checkpoint_id:
            self._select_id(run.origin_checkpoint_id)

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
        sel = self.selected.id_[:8] if self.selected is not None else None
        return (f"CheckpointExplorer(runs={len(self._loaded.runs)}, "
                f"checkpoints={len(self._loaded.records)}, selected={sel!r})")
