"""Which store a command works on: ``--store URL``, else ``$FLOWPOINT_STORE``, else the default."""

from __future__ import annotations

from pathlib import Path

from ..errors import FlowpointError
from ..storage import DEFAULT_STORE, CheckpointStore, open_store


class CliError(FlowpointError):
    """A command line mistake the user can fix; the message says how."""


def _sqlite_path(spec: str) -> Path | None:
    """The file a SQLite spec points at (URL or bare path), None for other stores."""
    text = spec.strip()
    if text.startswith("sqlite:///"):
        path = text.removeprefix("sqlite:///").split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path).expanduser().absolute()
    if "://" not in text and text.lower().endswith((".db", ".sqlite", ".sqlite3")):
        return Path(text).expanduser().absolute()
    return None


class Session:
    """Opens the store once, on first use, and closes it when the command ends."""

    def __init__(self, spec: str | None) -> None:
        self.spec = spec or None
        self._store: CheckpointStore | None = None

    def store(self, create: bool = False) -> CheckpointStore:
        """The store; a SQLite file that does not exist is an error unless ``create``."""
        if self._store is None:
            spec = self.spec or DEFAULT_STORE
            path = _sqlite_path(spec)
            if path is not None and not create and not path.exists():
                hint = ("pass --store URL or set FLOWPOINT_STORE" if self.spec is None
                        else "check the path, or run a workflow with this store first")
                raise CliError(f"no store at {path}; {hint}")
            self._store = open_store(spec)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
