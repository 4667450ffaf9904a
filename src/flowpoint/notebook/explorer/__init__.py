"""The checkpoint explorer: one state (:class:`ExplorerState`) and one view per file.

``state`` selection, pin, filters, sort, page, mode; ``data`` what the state shows, read by
``source`` from the store; ``table_view``, ``timeline_view``, ``detail_view``, ``diff_view``,
``edit_view``, ``human_view`` and ``toolbar`` each observe state and data and render them;
``actions`` is what the buttons do; ``monitor`` follows launched runs; ``explorer`` lays them out.
"""

from __future__ import annotations

from .data import READ_ONLY, ExplorerData, Selection
from .explorer import CheckpointExplorer
from .state import FILTER_KEYS, MODES, ExplorerState

__all__ = ["FILTER_KEYS", "MODES", "READ_ONLY", "CheckpointExplorer", "ExplorerData",
           "ExplorerState", "Selection"]
