"""Times on the command line: an age like ``7d`` / ``12h`` / ``30m``, or an ISO date."""

from __future__ import annotations

import datetime as dt
import re
import time

from .session import CliError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)


def parse_time(value: str, option: str) -> float:
    """Epoch seconds for an age before now (``7d``) or an ISO date/datetime (local if no zone)."""
    match = _AGE.match(value)
    if match:
        return time.time() - float(match.group(1)) * _UNITS[match.group(2).lower()]
    raw = value.strip()
    try:
        moment = dt.datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
    except ValueError:
        raise CliError(f"{option} {value!r} is not a time; give an age like 30m, 12h, 7d or 2w, "
                       f"or an ISO date like 2024-05-01 or 2024-05-01T12:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.timestamp()
