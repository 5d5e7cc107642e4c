"""The database under the store: its engine, dialect facts, and transactions.

The same code runs on SQLite (WAL, the default ``sqlite:///trialmirror.db``) and
PostgreSQL. On SQLite every writing transaction begins IMMEDIATE (one writer at
a time); a read-only engine (the HTTP API) begins plain deferred transactions
that cannot write. Each thread keeps one connection for the life of the
:class:`Database` (see :meth:`Database.tx`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event

from trialmirror.errors import require_extra
from trialmirror.store import schema

# PostgreSQL advisory locks (transaction-scoped). Order: record lock, then event lock.
EVENT_LOCK = 0x7472_6D69  # "trmi": orders event appends, so seq follows commit order
RECORD_LOCK = 0x7472  # with hashtext(registry_id/source): one writer per record


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(when: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite may give it back naive)."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
    # SQLAlchemy's recipe: the driver must not open transactions itself; see _sqlite_begin.
    dbapi_conn.isolation_level = None


def _sqlite_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN. A deferred transaction that read
    # the latest version and then writes fails at once with "database is locked"
    # when another writer committed in between (busy_timeout does not apply).
    driver: Any = conn.connection.driver_connection
    driver.execute("BEGIN IMMEDIATE")


def _sqlite_connect_read_only(dbapi_conn: Any, record: Any) -> None:
    _sqlite_connect(dbapi_conn, record)
    dbapi_conn.execute("PRAGMA query_only=ON")  # a write by mistake fails loudly


def _sqlite_begin_read(conn: Connection) -> None:
    # Readers of a WAL database do not block each other nor the writer; IMMEDIATE
    # here would queue every API request behind one lock (seconds under load).
    driver: Any = conn.connection.driver_connection
    driver.execute("BEGIN")


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgresql+psycopg://"):
        require_extra("postgres", "psycopg", needed_for="a postgresql:// database")
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect_read_only if read_only else _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin_read if read_only else _sqlite_begin)
    return engine


class Database:
    """An engine, the facts of its dialect, and one connection per thread."""

    def __init__(self, url: str, *, read_only: bool = False):
        self.url, self.read_only = url, read_only
        self.engine = make_engine(url, read_only=read_only)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Connection] = []
        dbapi = self.engine.dialect.loaded_dbapi
        self.integrity_errors: tuple[type[Exception], ...] = (dbapi.IntegrityError,)
        self._lost_connection = (dbapi.OperationalError, dbapi.InterfaceError)

    def ensure_schema(self) -> None:
        """Bring the schema to the head revision (a read-only store only checks it)."""
        try:
            schema.ensure(self.engine, read_only=self.read_only)
        except BaseException:
            self.engine.dispose()
            raise

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """A transaction on this thread's own connection.

        Each thread keeps one connection for the life of the Database: checking one
        out of the pool for every transaction (with its reset on return) cost more
        than the writes themselves. A connection the database dropped is
        invalidated by SQLAlchemy and replaced on the next use.
        """
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = self.engine.connect()
            with self._lock:
                self._connections.append(conn)
        try:
            with conn.begin():
                yield conn
        except self._lost_connection:
            conn.invalidate()  # raised by the driver directly (HotSql): start afresh next time
            raise

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self.engine.dispose()
