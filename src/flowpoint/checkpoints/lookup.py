"""Reading what users type: run ids and prefixes (any case), and ages such as "7d"."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from ..errors import CheckpointNotFound
from ..storage.base import CheckpointStore

_HEX_ID = re.compile(r"[0-9A-Fa-f-]+")
_AGE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(w|d|h|m|min|s)\s*", re.I)
_UNIT_S = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "min": 60.0, "s": 1.0}
AGE_FORMS = "a datetime, a timedelta, epoch seconds, or an age such as '7d', '12h', '30m', '2w'"


def normal_id(value: Any) -> str:
    """An id or id prefix as stored: flowpoint's ids are lower-case, so upper case is folded."""
    text = str(value).strip()
    return text.lower() if _HEX_ID.fullmatch(text) else text


def resolve_run_id(store: CheckpointStore, run_id: Any) -> str:
    """The full id of the one run whose id is ``run_id`` or starts with it."""
    wanted = normal_id(run_id)
    if store.get_run(wanted) is not None:
        return wanted
    matches = [r.run_id for r in store.list_runs() if wanted and r.run_id.startswith(wanted)]
    if len(matches) != 1:
        raise CheckpointNotFound(f"no run with id or unique prefix {str(run_id)!r} "
                                 f"({len(matches)} match)")
    return matches[0]


def epoch(value: Any, what: str = "time") -> float | None:
    """Epoch seconds from a datetime, a timedelta or age string (that long before now), or a
    number; ValueError naming the accepted forms otherwise."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.astimezone()).timestamp()
    if isinstance(value, dt.timedelta):
        return time.time() - value.total_seconds()
    if isinstance(value, str):
        match = _AGE.fullmatch(value)
        if match is None:
            raise ValueError(f"{what} {value!r} is not understood; give {AGE_FORMS}")
        return time.time() - float(match[1]) * _UNIT_S[match[2].lower()]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"{what} must be {AGE_FORMS}, not a {type(value).__name__}")
