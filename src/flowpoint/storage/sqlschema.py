"""The SQL tables, their schema version, and the migrations from older versions."""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from collections.abc import Callable

from sqlalchemy import (
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    inspect,
    select,
    update,
)

from ..errors import SchemaVersionError, StoreError
from .rows import bare_name

SCHEMA_VERSION = 2
_PG_SCHEMA_LOCK = 0x666C6F77706F696E  # any constant: serialises schema setup across processes

metadata = MetaData()

meta = Table(
    "flowpoint_meta",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "flowpoint_runs",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("workflow", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("origin_checkpoint_id", Text),
    Column("edited", Text),
    Column("error", Text),
    Column("result", Text),
    Column("owner", Text),
    Column("heartbeat_at", Float),
    Index("ix_flowpoint_runs_started_at", "started_at"),
    Index("ix_flowpoint_runs_status", "status"),
)

checkpoints = Table(
    "flowpoint_checkpoints",
    metadata,
    Column("id", Text, primary_key=True),
    Column(
        "run_id",
        Text,
        ForeignKey("flowpoint_runs.run_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False),
    Column("step", Text),
    Column("input_type", Text),
    Column("output_type", Text),
    Column("input_name", Text),
    Column("output_name", Text),
    Column("input_event", Text),
    Column("output_event", Text),
    Column("state_manifest", Text),
    Column("created_at", Float, nullable=False),
    Column("step_duration_s", Float),
    Column("metadata", Text),
    Column("parent_id", Text),
    Column("serializer", Text, nullable=False),
    Column("size_bytes", Integer, nullable=False, server_default="0"),
    UniqueConstraint("run_id", "seq", name="uq_flowpoint_checkpoints_run_seq"),
)
#: Indexes of schema versions 0 and 1 that version 2 dropped: every checkpoint written paid for
#: them (a page each per commit), while filters on these low-selectivity columns read about as
#: fast through the runs' started_at index and (run_id, seq).
DROPPED_INDEXES = ("ix_flowpoint_checkpoints_step", "ix_flowpoint_checkpoints_input_name",
                   "ix_flowpoint_checkpoints_output_name", "ix_flowpoint_checkpoints_created_at")

blobs = Table(
    "flowpoint_blobs",
    metadata,
    Column("hash", Text, primary_key=True),
    Column("data", Text, nullable=False),
    Column("size", Integer, nullable=False),
)


def _migrate_0_to_1(conn: Connection) -> None:
    """v0 lacked the bare type names and row sizes: add them and fill them in."""
    for column, kind in (("input_name", "TEXT"), ("output_name", "TEXT"),
                         ("size_bytes", "INTEGER NOT NULL DEFAULT 0")):
        conn.exec_driver_sql(f"ALTER TABLE flowpoint_checkpoints ADD COLUMN {column} {kind}")
    c = checkpoints.c
    rows = conn.execute(select(c.id, c.input_type, c.output_type)).all()
    if rows:
        conn.execute(
            update(checkpoints).where(c.id == bindparam("cid")).values(
                input_name=bindparam("iname"), output_name=bindparam("oname")
            ),
            [{"cid": r.id, "iname": bare_name(r.input_type), "oname": bare_name(r.output_type)}
             for r in rows],
        )
    text_columns = ("id", "run_id", "step", "input_type", "output_type", "input_event",
                    "output_event", "state_manifest", "metadata", "parent_id", "serializer")
    size = " + ".join(f"COALESCE(LENGTH({col}), 0)" for col in text_columns)
    conn.exec_driver_sql(f"UPDATE flowpoint_checkpoints SET size_bytes = 48 + {size}")


def _migrate_1_to_2(conn: Connection) -> None:
    """v2 keeps no secondary checkpoint indexes (see DROPPED_INDEXES)."""
    for name in DROPPED_INDEXES:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")


MIGRATIONS: dict[int, Callable[[Connection], None]] = {0: _migrate_0_to_1, 1: _migrate_1_to_2}


def _stored_version(conn: Connection, tables: set[str], where: str) -> int:
    if meta.name not in tables:
        return 0
    value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        raise StoreError(f"store at {where} has an unreadable schema_version {value!r}") from None


def _set_version(conn: Connection, version: int) -> None:
    done = conn.execute(
        update(meta).where(meta.c.key == "schema_version").values(value=str(version))
    ).rowcount
    if not done:
        conn.execute(meta.insert().values(key="schema_version", value=str(version)))


_FLOWPOINT_TABLES = frozenset(("flowpoint_meta", "flowpoint_checkpoints"))


def check_foreign_sqlite(path: str) -> None:
    """Refuse a SQLite file that holds another application's tables (or is no database at all),
    reading it without writing anything, so flowpoint never adds tables to it or changes its
    journal mode."""
    try:
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            return
        conn = sqlite3.connect(f"file:{urllib.parse.quote(path)}?mode=ro", uri=True)
    except (OSError, sqlite3.Error):
        return  # cannot look: opening the store reports the real problem
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise StoreError(f"{path} is not a SQLite database ({exc}); give the path of a "
                             "flowpoint store, or of a new file") from None
        return
    finally:
        conn.close()
    foreign = sorted(n for n in names if not n.startswith("sqlite_"))
    if foreign and not _FLOWPOINT_TABLES & names:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise StoreError(f"{path} is another application's SQLite database (tables: {shown}), "
                         "not a flowpoint store; give a new file for the checkpoints")


def _complete(conn: Connection, tables: set[str]) -> bool:
    """Every table and index of this schema version exists."""
    if not all(t.name in tables for t in metadata.sorted_tables):
        return False
    inspector = inspect(conn)
    for table in metadata.sorted_tables:
        have = {ix["name"] for ix in inspector.get_indexes(table.name)}
        if any(ix.name not in have for ix in table.indexes):
            return False
    return True


def schema_is_current(conn: Connection, where: str) -> bool:
    """True if the store needs no creation or migration (read only; SchemaVersionError if it
    was written by a newer flowpoint)."""
    tables = set(inspect(conn).get_table_names())
    if meta.name not in tables:
        return False
    version = _stored_version(conn, tables, where)
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"store at {where} was written by schema version {version}; this flowpoint reads "
            f"up to {SCHEMA_VERSION}: upgrade flowpoint"
        )
    return version == SCHEMA_VERSION and _complete(conn, tables)


def ensure_schema(conn: Connection, where: str) -> None:
    """Create the tables, or check and migrate existing ones, inside the caller's transaction."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_SCHEMA_LOCK})")
    tables = set(inspect(conn).get_table_names())
    if checkpoints.name not in tables and meta.name not in tables:
        metadata.create_all(conn)
        _set_version(conn, SCHEMA_VERSION)
        return
    version = _stored_version(conn, tables, where)
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"store at {where} was written by schema version {version}; this flowpoint reads "
            f"up to {SCHEMA_VERSION}: upgrade flowpoint"
        )
    if version < SCHEMA_VERSION:
        if version not in MIGRATIONS or checkpoints.name not in tables:
            raise SchemaVersionError(
                f"store at {where} has schema version {version}, which this flowpoint cannot "
                "migrate: move it aside and let flowpoint create a new one"
            )
        for step in range(version, SCHEMA_VERSION):
            MIGRATIONS[step](conn)
    metadata.create_all(conn)
    for table in metadata.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)
    if version != SCHEMA_VERSION:
        _set_version(conn, SCHEMA_VERSION)


def statistics_due(conn: Connection) -> bool:
    """True when SQLite's checkpoints table has no statistics or doubled since the last ones,
    so that ANALYZE helps its planner pick the selective index for filters (PostgreSQL's
    autovacuum does this by itself). ANALYZE costs ~80 ms per 100,000 checkpoints."""
    if conn.dialect.name != "sqlite":
        return False
    rows = conn.exec_driver_sql(f"SELECT max(rowid) FROM {checkpoints.name}").scalar() or 0
    if rows < 5000:
        return False
    try:
        stat = conn.exec_driver_sql(
            f"SELECT stat FROM sqlite_stat1 WHERE tbl = '{checkpoints.name}' LIMIT 1").scalar()
    except Exception:
        stat = None
    analysed = int(str(stat).split()[0]) if stat else 0
    return rows > 2 * analysed
