"""The table view: one page of checkpoint rows, sortable, searchable and filterable.

Drawn by ``widgets/table.js`` (a plain anywidget front end: the store does the filtering,
sorting and paging, so the browser only ever holds one page). It mirrors the explorer state:
sort, page, filters and search go to the state; rows and counts come from it.
"""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from ..assets import asset_path
from .data import ExplorerData
from .source import COLUMNS
from .state import ExplorerState

_TABLE_FILTERS = ("status", "step", "input_type", "output_type")


class TableView(anywidget.AnyWidget):
    """Checkpoint rows of the current page; clicking a row selects its checkpoint."""

    _esm = asset_path("table.js")
    _css = asset_path("explorer.css")

    columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    options = traitlets.Dict().tag(sync=True)
    filters = traitlets.Dict().tag(sync=True)
    text = traitlets.Unicode("").tag(sync=True)
    sort = traitlets.Unicode("").tag(sync=True)
    descending = traitlets.Bool(True).tag(sync=True)
    page = traitlets.Int(0).tag(sync=True)
    page_size = traitlets.Int(100).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    total_all = traitlets.Int(0).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    busy = traitlets.Bool(False).tag(sync=True)
    debounce_ms = traitlets.Int(250).tag(sync=True)  # typing pause before a search is sent

    def __init__(self, state: ExplorerState, data: ExplorerData) -> None:
        super().__init__(columns=[{"key": k, "label": label, "numeric": num}
                                  for k, label, _sort, num in COLUMNS])
        self.state, self.data = state, data
        self._syncing = False
        for name in ("sort", "descending", "page", "page_size", "selected"):
            traitlets.link((state, name), (self, name))
        state.observe(self._from_state, names="filters")
        self.observe(self._to_state, names=["filters", "text"])
        data.observe(self._from_data, names=["rows", "total", "total_all", "options"])
        self._from_state(None)
        self._from_data(None)

    def _from_data(self, _change: Any) -> None:
        with self.hold_sync():  # one message: counts and rows drawn together
            d = self.data
            self.options, self.total, self.total_all, self.rows = (
                d.options, d.total, d.total_all, d.rows)
            # until the first search, guessed from the store's size (a scan of ~4 µs a row)
            cost = d.search_cost if d.search_cost is not None else 4e-6 * d.total_all
            self.debounce_ms = debounce_for(cost)

    def _from_state(self, _change: Any) -> None:
        self._syncing = True
        try:
            f = self.state.filters
            self.filters = {k: f.get(k, "") for k in _TABLE_FILTERS}
            self.text = f.get("text", "")
        finally:
            self._syncing = False

    def _to_state(self, _change: Any) -> None:
        if self._syncing:
            return
        merged = {k: v for k, v in self.state.filters.items()
                  if k not in _TABLE_FILTERS and k != "text"}
        merged.update({k: str(v) for k, v in self.filters.items() if k in _TABLE_FILTERS and v})
        if self.text.strip():
            merged["text"] = self.text
        with self.state.hold_trait_notifications():
            self.state.filters = merged
            self.state.page = 0

    def __repr__(self) -> str:
        return f"TableView(rows={len(self.rows)}, total={self.total}, page={self.page})"


def debounce_for(search_cost: float) -> int:
    """The typing pause (ms) before a search is sent: twice what the last one cost, within
    100–600 ms, so a fast store searches as you type and a slow one is not flooded."""
    return int(min(600, max(100, 2000 * search_cost)))
