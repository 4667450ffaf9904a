"""The ``flowpoint`` command: list, show, diff, prune, export/import and resume runs from a shell.

Built on Click (exact control over one-line errors and exit codes) with Rich for tables and
progress; both come with the ``cli`` extra, so a missing one is reported instead of a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    try:
        from .app import run
    except ModuleNotFoundError as exc:
        if exc.name not in ("click", "rich"):
            raise
        print(f"flowpoint: error: the command line needs {exc.name}; install it with "
              f"pip install 'flowpoint[cli]'", file=sys.stderr)
        return 1
    return run(list(sys.argv[1:] if argv is None else argv))
