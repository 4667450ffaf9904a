"""LangGraph adapter: a compiled graph's own saver explored, diffed and forked by flowpoint.

``WorkflowCheckpointer(workflow=graph)`` picks `LangGraphDriver` for a compiled graph; its store is
a read-only `LangGraphStore` over the graph's checkpointer. Imported only when a graph is used.
"""

from __future__ import annotations

from .driver import LangGraphDriver
from .events import GraphInput, NodeWrites
from .handler import LangGraphHandler
from .serde import PlainSerializer
from .store import LangGraphStore
from .versions import check_versions

__all__ = [
    "GraphInput",
    "LangGraphDriver",
    "LangGraphHandler",
    "LangGraphStore",
    "NodeWrites",
    "PlainSerializer",
    "check_versions",
]
