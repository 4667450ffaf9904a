"""The Jupyter layer: magics, DataFrames, the timeline and the checkpoint explorer widget.

Widget classes are imported lazily so ``%load_ext flowpoint`` stays fast.
"""

from __future__ import annotations

from typing import Any

from .extension import load_ipython_extension, unload_ipython_extension
from .magics import FlowpointMagics, StoreView, runs_frame

__all__ = [
    "CheckpointExplorer",
    "FlowpointMagics",
    "StoreView",
    "Timeline",
    "load_ipython_extension",
    "runs_frame",
    "unload_ipython_extension",
]


def __getattr__(name: str) -> Any:
    if name == "CheckpointExplorer":
        from .explorer import CheckpointExplorer

        return CheckpointExplorer
    if name == "Timeline":
        from .timeline import Timeline

        return Timeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
