"""The store's tables, and its hot statements run on the DBAPI cursor of a SQLAlchemy transaction.

Measured on this project's 2-core machine: ``Connection.execute`` of a compiled
insert cost ~100 µs, the same statement on the driver's cursor ~20 µs, and a
record's ingest runs six of them. So the per-record writes and the two lookups
they need are plain SQL here; the schema (SQLModel tables), transactions and
every read for people stay with SQLAlchemy. The INSERTs take their columns from
the SQLModel tables (``models/tables.py``), once, at import. Table names are
quoted: ``fetch`` is a reserved word in PostgreSQL.

Parameters are written ``:name`` (sqlite3's named style) and rewritten to
``%(name)s`` for psycopg. Timestamps go to SQLite as the text SQLAlchemy itself
writes there ("YYYY-MM-DD HH:MM:SS.ffffff", UTC), so its reads parse them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, Table
from sqlmodel import SQLModel

from trialmirror.models.tables import (
    Delivery,
    DriftFlag,
    Event,
    Fetch,
    Lease,
    NotifyCursor,
    RawPayload,
    SyncCheckpoint,
    Version,
    Watch,
)

RAW = SQLModel.metadata.tables[RawPayload.__tablename__]
FETCH = SQLModel.metadata.tables[Fetch.__tablename__]
VERSION = SQLModel.metadata.tables[Version.__tablename__]
EVENT = SQLModel.metadata.tables[Event.__tablename__]
WATCH = SQLModel.metadata.tables[Watch.__tablename__]
LEASE = SQLModel.metadata.tables[Lease.__tablename__]
CURSOR = SQLModel.metadata.tables[NotifyCursor.__tablename__]
DELIVERY = SQLModel.metadata.tables[Delivery.__tablename__]
CHECKPOINT = SQLModel.metadata.tables[SyncCheckpoint.__tablename__]
DRIFT = SQLModel.metadata.tables[DriftFlag.__tablename__]


def columns(table: Table, row: Any) -> list[Column[Any]]:
    """The columns of ``table`` named by the fields of the NamedTuple ``row``, in its order."""
    return [table.c[name] for name in row._fields]


def _insert(table: Table, *, tail: str = "") -> str:
    """An INSERT of every column the database does not number itself."""
    names = [c.name for c in table.c if c is not table.autoincrement_column]
    return (f'INSERT INTO "{table.name}" ({", ".join(names)}) '
            f'VALUES ({", ".join(":" + n for n in names)}){tail}')


_STATEMENTS = {
    "raw_insert": _insert(RAW, tail=" ON CONFLICT (sha256) DO NOTHING"),
    "fetch_insert": _insert(FETCH),
    "version_insert": _insert(VERSION),
    "drift_insert": _insert(DRIFT),
    "event_insert": _insert(EVENT, tail=" RETURNING seq"),
    "latest": 'SELECT version, content_hash, record, raw_sha256, parser_version FROM "version" '
              "WHERE registry_id = :rid AND source = :src ORDER BY version DESC LIMIT 1",
    "latest_head": 'SELECT version, raw_sha256, parser_version FROM "version" '
                   "WHERE registry_id = :rid AND source = :src ORDER BY version DESC LIMIT 1",
    "raw_get": 'SELECT data, url FROM raw_payload WHERE sha256 = :sha',
    "mark_parsed": 'UPDATE "version" SET parser_version = :pv '
                   "WHERE registry_id = :rid AND source = :src AND version = :v",
    "event_lock": "SELECT pg_advisory_xact_lock(:k)",
    "record_lock": "SELECT pg_advisory_xact_lock(:k, hashtext(:rid || '/' || :src))",
}
_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def _sqlite_time(value: datetime) -> str:
    # "%Y-%m-%d %H:%M:%S.%f", as isoformat writes it three times faster (four a record)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class HotSql:
    """The statements in the driver's dialect, and how its timestamps are passed."""

    def __init__(self, postgres: bool):
        self.postgres = postgres
        self.sql = {name: _NAMED.sub(r"%(\1)s", sql) if postgres else sql
                    for name, sql in _STATEMENTS.items()}

    def time(self, value: datetime) -> Any:
        return value if self.postgres else _sqlite_time(value)

    def run(self, conn: Connection, name: str, params: dict[str, Any]) -> None:
        """Execute on the DBAPI connection of ``conn`` (a SQLAlchemy Connection in a transaction)."""
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self.sql[name], params)
        finally:
            cursor.close()

    def one(self, conn: Connection, name: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a query (or of an INSERT .. RETURNING), or None."""
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self.sql[name], params)
            return cursor.fetchone()
        finally:
            cursor.close()
