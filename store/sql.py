"""The store's hot statements, run on the DBAPI cursor of a SQLAlchemy transaction.

Measured on this project's 2-core machine: ``Connection.execute`` of a compiled
insert cost ~100 µs, the same statement on the driver's cursor ~20 µs, and a
record's ingest runs six of them. So the per-record writes and the two lookups
they need are plain SQL here; the schema (SQLModel tables), transactions and
every read for people stay with SQLAlchemy. Table names are quoted: ``fetch``
is a reserved word in PostgreSQL.

Parameters are written ``:name`` (sqlite3's named style) and rewritten to
``%(name)s`` for psycopg. Timestamps go to SQLite as the text SQLAlchemy itself
writes there ("YYYY-MM-DD HH:MM:SS.ffffff", UTC), so its reads parse them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_STATEMENTS = {
    "raw_insert": 'INSERT INTO "raw_payload" (sha256, source, registry_id, url, content_type, size, '
                  "compression, data, first_seen_at) VALUES (:sha256, :source, :registry_id, :url, "
                  ":content_type, :size, :compression, :data, :first_seen_at) "
                  "ON CONFLICT (sha256) DO NOTHING",
    "fetch_insert": 'INSERT INTO "fetch" (source, registry_id, url, started_at, duration_ms, outcome, '
                    "http_status, attempts, error_family, error, raw_sha256, version, upstream_version, "
                    "etag, last_modified) VALUES (:source, :registry_id, :url, :started_at, "
                    ":duration_ms, :outcome, :http_status, :attempts, :error_family, :error, "
                    ":raw_sha256, :version, :upstream_version, :etag, :last_modified)",
    "version_insert": 'INSERT INTO "version" (registry_id, source, version, content_hash, '
                      "overall_status, observed_at, valid_from, raw_sha256, parser_version, "
                      "produced_by, upstream_version, record, diff) VALUES (:registry_id, :source, "
                      ":version, :content_hash, :overall_status, :observed_at, :valid_from, "
                      ":raw_sha256, :parser_version, :produced_by, :upstream_version, :record, :diff)",
    "event_insert": 'INSERT INTO "event" (registry_id, source, version, kind, occurred_at, data) '
                    "VALUES (:registry_id, :source, :version, :kind, :occurred_at, :data) RETURNING seq",
    "latest": 'SELECT version, content_hash, record, raw_sha256, parser_version FROM "version" '
              "WHERE registry_id = :rid AND source = :src ORDER BY version DESC LIMIT 1",
    "latest_head": 'SELECT version, raw_sha256, parser_version FROM "version" '
                   "WHERE registry_id = :rid AND source = :src ORDER BY version DESC LIMIT 1",
    "event_lock": "SELECT pg_advisory_xact_lock(:k)",
    "record_lock": "SELECT pg_advisory_xact_lock(:k, hashtext(:rid || '/' || :src))",
}
_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class HotSql:
    """The statements in the driver's dialect, and how its timestamps are passed."""

    def __init__(self, postgres: bool):
        self.postgres = postgres
        self.sql = {name: _NAMED.sub(r"%(\1)s", sql) if postgres else sql
                    for name, sql in _STATEMENTS.items()}

    def time(self, value: datetime) -> Any:
        return value if self.postgres else _sqlite_time(value)

    def run(self, conn: Any, name: str, params: dict[str, Any]) -> None:
        """Execute on the DBAPI connection of ``conn`` (a SQLAlchemy Connection in a transaction)."""
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(self.sql[name], params)
        finally:
            cursor.close()

    def one(self, conn: Any, name: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a query (or of an INSERT .. RETURNING), or None."""
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.execute(self.sql[name], params)
            return cursor.fetchone()
        finally:
            cursor.close()
