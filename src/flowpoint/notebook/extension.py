"""``%load_ext flowpoint``: registers the magics and makes sure checkpoints, runs and diffs render."""

from __future__ import annotations

from typing import Any

from .magics import FlowpointMagics


def _html(obj: Any) -> str:
    return obj._repr_html_()


def load_ipython_extension(ip: Any) -> None:
    """Register the flowpoint magics and HTML display of Checkpoint, Run and CheckpointDiff."""
    from ..checkpoints import Checkpoint, CheckpointDiff, Run

    ip.register_magics(FlowpointMagics)
    html = ip.display_formatter.formatters["text/html"]
    for cls in (Checkpoint, Run, CheckpointDiff):
        html.for_type(cls, _html)


def unload_ipython_extension(ip: Any) -> None:
    """Remove the magics and formatters that :func:`load_ipython_extension` registered."""
    from ..checkpoints import Checkpoint, CheckpointDiff, Run

    magics = ip.magics_manager.magics
    for name in ("checkpoints", "runs", "ckpt_diff", "run_from", "explore"):
        magics["line"].pop(name, None)
    ip.magics_manager.registry.pop(FlowpointMagics.__name__, None)
    html = ip.display_formatter.formatters["text/html"]
    for cls in (Checkpoint, Run, CheckpointDiff):
        html.type_printers.pop(cls, None)
