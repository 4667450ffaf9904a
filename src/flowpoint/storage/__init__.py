"""Where checkpoints live: the store protocol, its backends, and `open_store` to pick one."""

from __future__ import annotations

import os
import re
import threading
import weakref
from pathlib import Path

from ..errors import StoreError
from .base import CheckpointStore
from .durability import DURABILITY_LEVELS, check_durability, url_durability
from .memory import MemoryStore
from .records import RUN_STATUSES, CheckpointQuery, CheckpointRecord, RunRecord
from .sql import SQLStore
from .sqlengine import mask_url, parse_url

DEFAULT_STORE = "sqlite:///./.flowpoint/checkpoints.db"
STORE_ENV = "FLOWPOINT_STORE"
_FILE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]+):")  # two letters at least: C:\ is a drive
_OPEN: weakref.WeakValueDictionary[tuple[str, str], SQLStore] = weakref.WeakValueDictionary()
_OPEN_LOCK = threading.Lock()

__all__ = [
    "DEFAULT_STORE",
    "DURABILITY_LEVELS",
    "RUN_STATUSES",
    "CheckpointQuery",
    "CheckpointRecord",
    "CheckpointStore",
    "MemoryStore",
    "RunRecord",
    "SQLStore",
    "open_store",
]


def open_store(spec: str | os.PathLike[str] | CheckpointStore | None = None,
               durability: str | None = None) -> CheckpointStore:
    """A store from a spec: None ($FLOWPOINT_STORE or ./.flowpoint/checkpoints.db), "memory",
    a URL, a path to a .db/.sqlite file, or a store object (returned as is).

    ``durability``: "process" (default: a committed checkpoint survives a process crash) or
    "power" (also an OS crash or power loss: fsync before each output is dispatched); a URL
    may carry it as ``?durability=power``.
    """
    level = check_durability("process" if durability is None else durability)
    if spec is None:
        spec = os.environ.get(STORE_ENV) or DEFAULT_STORE
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if isinstance(spec, str):
        text = spec.strip()
        if text == "memory":
            if level != "process":
                raise StoreError(f"the memory store cannot give durability={level!r} (it lives "
                                 "in this process); use a SQLite file or PostgreSQL")
            return MemoryStore()
        if "://" in text:
            return _shared_sql_store(text, durability)  # or the URL's ?durability=
        scheme = _SCHEME.match(text)
        if scheme:
            raise StoreError(
                f"cannot open a store from {mask_url(text)!r}: {scheme[1]!r} looks like a URL "
                "scheme, but a store URL needs '://'; give 'memory', "
                "sqlite:///path/to/file.db (three slashes, then the path), "
                "postgresql+psycopg://user:password@host/dbname, or a path ending in .db or .sqlite"
            )
        if text.lower().endswith(_FILE_SUFFIXES):
            return _shared_sql_store(f"sqlite:///{Path(text).expanduser().absolute()}", level)
        raise StoreError(
            f"cannot open a store from {mask_url(text)!r}; give 'memory', a URL "
            "(sqlite:///path/to/file.db or postgresql+psycopg://user:password@host/dbname), "
            "a path ending in .db or .sqlite, or a CheckpointStore"
        )
    if isinstance(spec, CheckpointStore):
        has = getattr(spec, "durability", None)
        if durability is not None and has is None and level != "process":
            raise StoreError(f"{spec!r} does not commit with flowpoint's durability levels (its "
                             f"writes are not flowpoint's: a LangGraph saver's are LangGraph's), "
                             f"so durability={level!r} cannot apply; leave durability out")
        if durability is not None and (has or "process") != level:
            raise StoreError(f"the store given was opened with durability={has!r}, not "
                             f"{level!r}; open it with open_store(url, durability={level!r}) "
                             f"instead")
        return spec
    raise StoreError(
        f"cannot open a store from a {type(spec).__name__}; give 'memory', a URL, "
        "a .db/.sqlite path, or a CheckpointStore"
    )


def _shared_sql_store(url: str, durability: str | None) -> SQLStore:
    """The store this process already has open for ``url`` at the same durability, else a new
    one: checkpointers opened on one database share its writer, so their runs share commits
    (and fsyncs) as the runs of one checkpointer do. A closed store, or one whose file was
    deleted or replaced, is not handed out again."""
    parsed, level = url_durability(parse_url(url), durability)
    key = (parsed.render_as_string(hide_password=False), level)
    with _OPEN_LOCK:
        store = _OPEN.get(key)
        if store is None or store.closed or not store.same_file():
            store = _OPEN[key] = SQLStore(url, durability=durability)
        return store
