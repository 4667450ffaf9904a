"""The timeline view: the lanes and marks of the table's runs, and the selection and pin.

Binds a :class:`~flowpoint.notebook.timeline.Timeline` to the explorer: it draws what
:class:`ExplorerData` read, shows the state's selection and pin, and a click on a mark or a
lane only changes the state's selection.
"""

from __future__ import annotations

from typing import Any

from ..timeline import Timeline
from .data import ExplorerData
from .state import ExplorerState


class TimelineView(Timeline):
    """A Timeline that renders the explorer's data and state."""

    def __init__(self, state: ExplorerState, data: ExplorerData) -> None:
        super().__init__()
        self.state, self.data = state, data
        data.observe(self._from_data, names=["lanes", "marks"])
        state.observe(lambda _c: self._show_selection(), names=["selected", "pinned"])
        self.observe(self._to_state, names="selected")
        self._from_data(None)

    def _from_data(self, _change: Any) -> None:
        self.set_data(self.data.lanes, self.data.marks)
        self._show_selection()

    def _show_selection(self) -> None:
        with self.hold_sync():
            self.selected = self.state.selected
            self.pinned = self.state.pinned

    def _to_state(self, change: dict[str, Any]) -> None:
        if change["new"] and change["new"] != self.state.selected:
            self.state.selected = change["new"]
