"""The explorer's one state: what is selected, pinned, filtered, sorted, paged and shown.

Views observe these traits and render them; user actions (a click in the table or timeline, a
filter, a tab) only change the state. It is also what notebooks and tests drive.
"""

from __future__ import annotations

from typing import Any

import traitlets

#: The filters ``set_filters`` takes; "" (or None) means "any".
FILTER_KEYS = ("status", "step", "input_type", "output_type", "text", "run")
#: Detail panels: the ``mode`` trait.
MODES = ("detail", "diff", "edit")


class ExplorerState(traitlets.HasTraits):
    """Selection, pin, filters, sort, page and mode of one explorer (all plain values)."""

    selected = traitlets.Unicode("")  # checkpoint id
    pinned = traitlets.Unicode("")  # checkpoint id Diff compares against
    filters = traitlets.Dict(value_trait=traitlets.Unicode())
    sort = traitlets.Unicode("")  # a table column key; "" = run order (newest first)
    descending = traitlets.Bool(True)
    page = traitlets.Int(0)
    page_size = traitlets.Int(100)
    mode = traitlets.Unicode("detail")
    show_all = traitlets.Bool(False)  # diff: show runtime bookkeeping too
    breakpoints = traitlets.List(traitlets.Unicode())  # steps new runs pause before
    revision = traitlets.Int(0)  # bumped whenever the store may have changed

    @traitlets.validate("filters")
    def _valid_filters(self, proposal: dict[str, Any]) -> dict[str, str]:
        value = proposal["value"]
        unknown = sorted(set(value) - set(FILTER_KEYS))
        if unknown:
            raise traitlets.TraitError(f"unknown filter(s) {unknown}; filters are "
                                       f"{list(FILTER_KEYS)}")
        return {k: v for k, v in value.items() if v}

    @traitlets.validate("mode")
    def _valid_mode(self, proposal: dict[str, Any]) -> str:
        if proposal["value"] not in MODES:
            raise traitlets.TraitError(f"mode must be one of {MODES}, got {proposal['value']!r}")
        return proposal["value"]

    @traitlets.validate("page")
    def _valid_page(self, proposal: dict[str, Any]) -> int:
        return max(0, int(proposal["value"]))
