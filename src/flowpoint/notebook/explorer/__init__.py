"""The checkpoint explorer: one state (:class:`ExplorerState`) and one view per file.

``state`` selection, pin, filters, sort, page, mode; ``source`` the store reads; ``table_view``,
``timeline`` (``..timeline``), ``detail_view``, ``diff_view``, ``edit_view``, ``human_view`` and
``toolbar`` render it; ``monitor`` follows launched runs; ``explorer`` puts them together.
"""

from __future__ import annotations

from .explorer import READ_ONLY, CheckpointExplorer
from .state import FILTER_KEYS, MODES, ExplorerState

__all__ = ["FILTER_KEYS", "MODES", "READ_ONLY", "CheckpointExplorer", "ExplorerState"]
