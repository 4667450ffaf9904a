"""A timeline of workflow runs and their checkpoints, as a Jupyter widget.

One lane per run, one mark per checkpoint (x = the checkpoint's ``seq``); a resumed run
branches off the checkpoint it was resumed from. Clicking a mark sets :attr:`Timeline.selected`.
The drawing lives in ``widgets/timeline.js`` / ``widgets/timeline.css``.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import anywidget
import traitlets

from flowpoint.notebook.assets import asset_path

__all__ = ["PALETTE", "START_STEP", "START_COLOR", "Timeline", "assign_step_colors"]

#: Name under which the start checkpoint (``step is None``) appears in ``step_colors``.
START_STEP = "(start)"
#: Colour of the start checkpoint; never taken from the palette.
START_COLOR = "#9e9e9e"
#: Step colours, handed out in order of first appearance (then reused cyclically).
PALETTE: tuple[str, ...] = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#86bcb6",
    "#d37295",
    "#8cd17d",
    "#499894",
    "#f1ce63",
    "#a0cbe8",
    "#ffbe7d",
)

_RUN_KEYS = ("run_id", "label", "status", "workflow", "origin_checkpoint_id", "started_at")
_MARK_KEYS = ("id", "run_id", "seq", "step", "output_type", "created_at", "label")


def _step_key(step: Any) -> str:
    return START_STEP if step is None else str(step)


def assign_step_colors(
    marks: Iterable[Mapping[str, Any]],
    palette: tuple[str, ...] = PALETTE,
    *,
    existing: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Map every step seen in ``marks`` to a colour, deterministically.

    ``"(start)"`` gets :data:`START_COLOR`; other steps take palette entries in order of first
    appearance in ``marks``. Entries of ``existing`` are kept, so colours stay put when new
    checkpoints arrive.
    """
    colors: dict[str, str] = dict(existing or {})
    used = sum(1 for k in colors if k != START_STEP)
    for mark in marks:
        key = _step_key(mark.get("step"))
        if key in colors:
            continue
        if key == START_STEP:
            colors[key] = START_COLOR
        else:
            colors[key] = palette[used % len(palette)]
            used += 1
    return colors


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.timestamp()
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _short_type(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.rsplit(".", 1)[-1]


def _normalize_run(run: Any) -> dict[str, Any]:
    run_id = str(_get(run, "run_id"))
    origin = _get(run, "origin_checkpoint_id")
    return {
        "run_id": run_id,
        "label": str(_get(run, "label") or ""),
        "status": str(_get(run, "status") or ""),
        "workflow": str(_get(run, "workflow") or ""),
        "origin_checkpoint_id": None if origin in (None, "") else str(origin),
        "started_at": _epoch(_get(run, "started_at")),
        "edited": bool(_get(run, "edited")),
        "resumed": bool(_get(run, "resumed", origin not in (None, ""))),
        "failed_step": str(_get(run, "failed_step") or ""),
    }


def _normalize_mark(mark: Any) -> dict[str, Any]:
    step = _get(mark, "step")
    output_type = _get(mark, "output_type")
    label = _get(mark, "label")
    if label is None:
        label = _short_type(output_type)
    seq = _get(mark, "seq")
    return {
        "id": str(_get(mark, "id")),
        "run_id": str(_get(mark, "run_id")),
        "seq": int(seq) if seq is not None else None,
        "step": None if step is None else str(step),
        "output_type": None if output_type is None else str(output_type),
        "created_at": _epoch(_get(mark, "created_at")),
        "label": str(label),
    }


class Timeline(anywidget.AnyWidget):
    """Lanes of runs with one mark per checkpoint.

    Synced traits:

    ``runs``
        ``[{"run_id", "label", "status", "workflow", "origin_checkpoint_id", "started_at",
        "edited", "resumed", "failed_step"}]``, one lane per run, drawn top down in this order.
    ``marks``
        ``[{"id", "run_id", "seq", "step", "output_type", "created_at", "label"}]``, one per
        checkpoint; ``step`` is ``None`` for the start checkpoint.
    ``step_colors``
        step name -> CSS colour (``"(start)"`` for the start checkpoint).
    ``selected``
        checkpoint id, ``""`` for none. Set by a click in the browser; set it from Python to
        highlight a checkpoint and scroll it into view.
    ``pinned``
        checkpoint id with a second (dashed) highlight, ``""`` for none.
    ``zoom``
        horizontal scale, 1.0 by default; the view fits the width when first drawn.
    ``x_axis``
        ``"seq"`` (checkpoint order) or ``"time"`` (wall clock of ``created_at``).
    """

    _esm = asset_path("timeline.js")
    _css = asset_path("timeline.css")

    runs = traitlets.List(traitlets.Dict()).tag(sync=True)
    marks = traitlets.List(traitlets.Dict()).tag(sync=True)
    step_colors = traitlets.Dict(value_trait=traitlets.Unicode()).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    pinned = traitlets.Unicode("").tag(sync=True)
    zoom = traitlets.Float(1.0).tag(sync=True)
    x_axis = traitlets.Enum(("seq", "time"), "seq").tag(sync=True)

    MIN_ZOOM = 0.02
    MAX_ZOOM = 12.0

    @traitlets.validate("zoom")
    def _validate_zoom(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if not math.isfinite(value) or value <= 0:
            raise traitlets.TraitError(f"zoom must be a positive finite number, got {value!r}")
        return min(self.MAX_ZOOM, max(self.MIN_ZOOM, value))

    @traitlets.validate("selected", "pinned")
    def _validate_id(self, proposal: dict[str, Any]) -> str:
        value = proposal["value"]
        return "" if value is None else str(value)

    @classmethod
    def from_data(
        cls,
        runs: Iterable[Any],
        marks: Iterable[Any],
        *,
        palette: tuple[str, ...] = PALETTE,
        **kwargs: Any,
    ) -> Timeline:
        """Build a timeline from run and checkpoint data.

        Items may be dicts or objects with the same attributes (e.g. ``RunRecord`` /
        ``CheckpointRecord``); datetimes become epoch seconds, a missing mark label becomes
        the short output type name. Step colours follow the palette in order of first
        appearance of each step in ``marks``.
        """
        run_list = [_normalize_run(r) for r in runs]
        mark_list = [_normalize_mark(m) for m in marks]
        kwargs.setdefault("step_colors", assign_step_colors(mark_list, palette))
        return cls(runs=run_list, marks=mark_list, **kwargs)

    def set_data(self, runs: Iterable[Any], marks: Iterable[Any]) -> None:
        """Replace runs and marks, keeping colours of steps already shown and the selection
        if it still exists."""
        run_list = [_normalize_run(r) for r in runs]
        mark_list = [_normalize_mark(m) for m in marks]
        colors = assign_step_colors(mark_list, existing=self.step_colors)
        ids = {m["id"] for m in mark_list}
        with self.hold_sync():
            self.runs = run_list
            self.marks = mark_list
            self.step_colors = colors
            if self.selected and self.selected not in ids:
                self.selected = ""
            if self.pinned and self.pinned not in ids:
                self.pinned = ""

    @property
    def selected_mark(self) -> dict[str, Any] | None:
        """The mark dict of the selected checkpoint, or ``None``."""
        if not self.selected:
            return None
        for mark in self.marks:
            if mark.get("id") == self.selected:
                return mark
        return None

    def on_select(self, callback: Callable[[str], Any]) -> Callable[[dict[str, Any]], None]:
        """Call ``callback(checkpoint_id)`` whenever the selection changes ("" = cleared).

        Returns the observer, which can be passed to ``unobserve(observer, "selected")``.
        """

        def _observer(change: dict[str, Any]) -> None:
            callback(change["new"])

        self.observe(_observer, names="selected")
        return _observer

    def __repr__(self) -> str:
        return f"Timeline(runs={len(self.runs)}, checkpoints={len(self.marks)}, selected={self.selected!r})"
