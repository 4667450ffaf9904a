"""How durable a committed checkpoint is: the two levels a store can be opened with.

``"process"`` (default): a checkpoint is committed before its output event is dispatched and
survives a crash of the process (SQLite: WAL with synchronous=NORMAL, nothing committed is lost
if the process dies, but an OS crash or power cut may lose the last commits; PostgreSQL: the
server's own settings). ``"power"``: also fsynced before dispatch, so it survives an OS crash or
power loss (SQLite: synchronous=FULL; PostgreSQL: synchronous_commit=on for the session).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import URL, Engine, event

from ..errors import StoreError

DURABILITY_LEVELS = ("process", "power")


def check_durability(level: Any) -> str:
    """The level if it is one of DURABILITY_LEVELS, else StoreError saying which are."""
    if level not in DURABILITY_LEVELS:
        raise StoreError(f"unknown durability {level!r}; use 'process' (survives a process "
                         f"crash, the default) or 'power' (also an OS crash or power loss)")
    return str(level)


def url_durability(url: URL, given: str | None) -> tuple[URL, str]:
    """The URL without its ``durability`` option and the store's level: the option
    (``?durability=power``, so ``$FLOWPOINT_STORE`` and ``--store`` can carry it), else
    ``given``, else "process". A bad value, or an option and ``given`` disagreeing, is a
    StoreError: a level asked for is never silently dropped."""
    option = url.query.get("durability")
    if option is None:
        return url, check_durability("process" if given is None else given)
    if not isinstance(option, str):
        raise StoreError(f"the store URL gives durability more than once ({list(option)!r}); "
                         "give it once: 'process' or 'power'")
    level = check_durability(option)
    if given is not None and check_durability(given) != level:
        raise StoreError(f"the store URL asks for durability={level!r} but durability="
                         f"{given!r} was given too; give one of them")
    return url.difference_update_query(["durability"]), level


def _sqlite_full(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA synchronous = FULL")


def _pg_synchronous(dbapi_conn: Any, _record: Any) -> None:
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True
    try:
        dbapi_conn.execute("SET synchronous_commit TO on")
    finally:
        dbapi_conn.autocommit = autocommit


def apply_durability(engine: Engine, level: str) -> None:
    """Make every connection the engine opens from now on commit with ``level``'s guarantee."""
    if level != "power":
        return
    listener = _sqlite_full if engine.dialect.name == "sqlite" else _pg_synchronous
    event.listen(engine, "connect", listener)
