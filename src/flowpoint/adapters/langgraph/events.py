"""The events a LangGraph checkpoint is shown with: its input, or the writes of its node."""

from __future__ import annotations

from ...runtime.events import Event


class GraphInput(Event):
    """The input a thread (or a turn of it) was started with: one field per input key."""


class NodeWrites(Event):
    """What the node(s) of a step wrote: one field per state channel written."""
