"""The SQL text of the writer's statements, for SQLite and PostgreSQL, and how they are
prepared once.

On PostgreSQL a checkpoint is one statement (one round trip): its blobs, heartbeat or run update
ride in CTEs of its INSERT. Column names come from the schema and run_updates, never from data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.sql import ClauseElement

#: A run's row update written with its checkpoint: (run id, column values).
RunUpdate = tuple[str, Mapping[str, Any]]

class Prepared:
    """A statement compiled once for the engine's dialect, with its parameter order."""

    def __init__(self, stmt: ClauseElement, engine: Engine) -> None:
        compiled = stmt.compile(dialect=engine.dialect)
        self.sql = compiled.string
        order = compiled.positiontup
        self._pick: Callable[[Mapping[str, Any]], Any] | None = None  # named: values as given
        if order is not None and len(order) > 1:
            self._pick = itemgetter(*order)  # one C call instead of a tuple built in Python
        elif order is not None:
            self._pick = lambda values: tuple(values[k] for k in order)

    def params(self, values: Mapping[str, Any]) -> Any:
        """The statement's parameters from ``values`` by name (a tuple for positional ones)."""
        return values if self._pick is None else self._pick(values)


SQLITE_UPSERT_BLOB = (
    "INSERT INTO flowpoint_blobs (hash, data, size) VALUES (?, ?, ?) ON CONFLICT (hash) DO UPDATE"
    " SET data = excluded.data, size = excluded.size WHERE flowpoint_blobs.data IS NOT excluded.data"
)
_PG_TYPES = {"INTEGER": "integer", "FLOAT": "double precision", "TEXT": "text"}


_REFS_STORED = "(SELECT count(*) FROM flowpoint_blobs WHERE hash = ANY(%(refs)s::text[])) = %(n_refs)s"


def _pg_cast(name: str, types: Mapping[str, str]) -> str:
    return f"%({name})s::{_PG_TYPES.get(types.get(name[2:], 'TEXT'), 'text')}"


def pg_put_statement(cols: tuple[str, ...], types: Mapping[str, str],
                     run_cols: tuple[str, ...] = ()) -> str:
    """The checkpoint's INSERT with CTEs: the new blobs upserted, the heartbeat renewed (or,
    with ``run_cols``, the run row updated) and the INSERT done only if the referenced blobs
    are all still stored."""
    values = ", ".join(_pg_cast(f"c_{c}", types) for c in cols)
    if run_cols:
        sets = ", ".join(f"{c} = {_pg_cast(f'r_{c}', types)}" for c in run_cols)
        run = (f"fin AS (UPDATE flowpoint_runs SET {sets} WHERE run_id = %(r_run)s::text "
               f"AND {_REFS_STORED} RETURNING 1) ")
    else:
        run = ("beat AS (UPDATE flowpoint_runs SET heartbeat_at = %(hb_at)s::double precision "
               "WHERE %(beat)s AND run_id = %(hb_run)s::text RETURNING 1) ")
    return (
        "WITH new_blobs AS (INSERT INTO flowpoint_blobs (hash, data, size) "
        "SELECT * FROM unnest(%(b_hash)s::text[], %(b_data)s::text[], %(b_size)s::integer[]) "
        "ON CONFLICT (hash) DO UPDATE SET data = EXCLUDED.data, size = EXCLUDED.size "
        "WHERE flowpoint_blobs.data IS DISTINCT FROM EXCLUDED.data RETURNING 1), "
        f"{run}INSERT INTO flowpoint_checkpoints ({', '.join(cols)}) SELECT {values} "
        f"WHERE {_REFS_STORED}"
    )


@lru_cache(maxsize=64)  # the few column sets of run ends: built once each
def _sqlite_run_update(names: tuple[str, ...]) -> str:
    return (f"UPDATE flowpoint_runs SET {', '.join(f'{n} = ?' for n in names)} "
            "WHERE run_id = ?")


def pg_insert_statement(cols: tuple[str, ...], run_cols: tuple[str, ...] = ()) -> str:
    """The checkpoint's INSERT alone: for one that sends no blobs, refers to none stored earlier
    and renews no heartbeat (most of them), so the server runs no CTE at all; with
    ``run_cols``, one CTE updating the run's row.
    Its parameters are positional (see pg_plain_params): psycopg maps no names per call."""
    values = ", ".join("%s" for _ in cols)
    run = ""
    if run_cols:
        sets = ", ".join(f"{c} = %s" for c in run_cols)
        run = f"WITH fin AS (UPDATE flowpoint_runs SET {sets} WHERE run_id = %s) "
    return f"{run}INSERT INTO flowpoint_checkpoints ({', '.join(cols)}) VALUES ({values})"


def pg_plain_params(row: Mapping[str, Any], run: RunUpdate | None) -> tuple[Any, ...]:
    """The parameters of _pg_insert_statement, in the order they appear in it."""
    if run is None:
        return tuple(row.values())
    return (*run[1].values(), run[0], *row.values())


def sqlite_run_params(run: RunUpdate) -> tuple[str, tuple[Any, ...]]:
    """The UPDATE of a run's row and its parameters, for SQLite."""
    run_id, values = run
    return _sqlite_run_update(tuple(values)), (*values.values(), run_id)
