"""The checkpointers alive in this process: the magics' default and where a live run is found."""

from __future__ import annotations

import weakref
from typing import Any

_LIVE: list[weakref.ref[Any]] = []


def register(ckptr: Any) -> None:
    """Remember ``ckptr`` as the newest checkpointer (held weakly: it may still be collected)."""
    _LIVE[:] = [r for r in _LIVE if r() is not None]
    _LIVE.append(weakref.ref(ckptr))


def forget(ckptr: Any) -> None:
    """Leave ``ckptr`` out of the magics' default and of the live-run search."""
    _LIVE[:] = [r for r in _LIVE if r() is not ckptr]


def latest_checkpointer() -> Any:
    """The checkpointer most recently created in this process (what magics use by default)."""
    for ref in reversed(_LIVE):
        ckptr = ref()
        if ckptr is not None:
            return ckptr
    return None


def live_checkpointers() -> list[Any]:
    """Every checkpointer still alive in this process, oldest first (to find a live run)."""
    return [c for c in (ref() for ref in _LIVE) if c is not None]
