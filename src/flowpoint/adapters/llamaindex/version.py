"""Which llama-index-workflows releases the adapter supports, checked before anything runs.

The adapter relies on runtime internals that 2.26 introduced (tick hooks that fire before a step's
output is dispatched, journal replay in the basic runtime), so the range is pinned.
"""

from __future__ import annotations

import re
from importlib import metadata

from ...errors import UnsupportedVersion

DISTRIBUTION = "llama-index-workflows"
SUPPORTED = ">=2.26,<3"
_LOW, _HIGH = (2, 26), (3, 0)


def installed_version() -> str | None:
    """The installed version of llama-index-workflows, or None if it is not installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None


def _release(version: str) -> tuple[int, int]:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def check_version() -> str:
    """The installed version if supported; else UnsupportedVersion naming both ranges."""
    version = installed_version()
    if version is None:
        raise UnsupportedVersion(
            f"checkpointing a workflows.Workflow needs {DISTRIBUTION}{SUPPORTED}, which is not "
            f"installed; pip install 'flowpoint[llamaindex]'")
    if not _LOW <= _release(version) < _HIGH:
        raise UnsupportedVersion(
            f"{DISTRIBUTION} {version} is installed, but flowpoint supports {DISTRIBUTION}"
            f"{SUPPORTED} (it relies on runtime hooks of those releases); install a supported "
            f"version: pip install '{DISTRIBUTION}{SUPPORTED}'")
    return version
