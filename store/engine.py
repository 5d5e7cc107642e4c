"""The database under the store: its engine, dialect facts, and transactions.

The same code runs on SQLite (WAL, the default ``sqlite:///trialmirror.db``) and
PostgreSQL; other databases are refused when the URL is read. On SQLite every
writing transaction begins IMMEDIATE (one writer at a time); a read-only engine (the
HTTP API, the read commands) opens the file read-only and begins plain deferred
transactions that cannot write, so it also reads a database on read-only media.
Each thread keeps one connection for the life of the :class:`Database` (see
:meth:`Database.tx`); an error that is the storage's fault leaves it as one
:class:`~trialmirror.errors.StorageError` (:mod:`trialmirror.store.faults`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from trialmirror.errors import ConfigError, StorageError, require_extra
from trialmirror.store import faults, geo, schema
from trialmirror.store.deferred import DEFERRED, run_deferred

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


WAL_CHECKPOINT_PAGES = 4_000


def _sqlite_functions(dbapi_conn: Any) -> None:
    # The search by place's exact distance (store/search.py): SQLite's own math
    # functions are a compile-time option that Python's sqlite3 may lack.
    dbapi_conn.create_function(geo.SQLITE_FUNCTION, 4, geo.distance_km, deterministic=True)


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    _sqlite_functions(dbapi_conn)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    # A checkpoint every ~16 MB of log, not SQLite's 4 MB: an ingest writes ~50 kB a
    # record, and each checkpoint (its copy and fsync) sat on the commit that crossed the
    # line. A quarter as many made first ingest ~10% faster; a tenth as many no faster,
    # and reads of the longer log slowed the unchanged re-ingest by a fifth
    # (benchmarks/README.md).
    cur.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
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


def _sqlite_connect_read_only(dbapi_conn: Any, _record: Any) -> None:
    # No journal_mode here: WAL is a property of the file, and setting it is a write.
    _sqlite_functions(dbapi_conn)
    dbapi_conn.execute("PRAGMA busy_timeout=30000")
    dbapi_conn.execute("PRAGMA query_only=ON")  # a write by mistake fails loudly
    dbapi_conn.isolation_level = None


def _sqlite_begin_read(conn: Connection) -> None:
    # Readers of a WAL database do not block each other nor the writer; IMMEDIATE
    # here would queue every API request behind one lock (seconds under load).
    driver: Any = conn.connection.driver_connection
    driver.execute("BEGIN")


SUPPORTED = "SQLite (sqlite:///path/to/file.db) and PostgreSQL (postgresql://user@host/dbname)"
# The URL's scheme -> the driver trialmirror installs for it.
_DRIVERS = {"sqlite": "sqlite", "sqlite+pysqlite": "sqlite", "postgresql": "postgresql+psycopg",
            "postgresql+psycopg": "postgresql+psycopg"}


def database_url(url: str) -> URL:
    """The URL parsed, on the driver trialmirror uses; ConfigError for anything else (a
    typo, another database: SQLAlchemy would fail later on a driver nobody installed)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"{faults.display_name(url)!r} is not a database URL: trialmirror "
                          f"stores in {SUPPORTED}") from None
    if parsed.drivername not in _DRIVERS:
        raise ConfigError(f"{faults.display_name(url)}: {parsed.drivername} databases are not "
                          f"supported; trialmirror stores in {SUPPORTED}")
    return parsed.set(drivername=_DRIVERS[parsed.drivername])


def _read_only_sqlite(url: URL) -> URL:
    """The file opened read-only (``mode=ro``). In a folder nobody can write (read-only
    media) and without the ``-shm`` file a WAL reader needs, SQLite cannot open it at
    all; then it is opened ``immutable``: no writer can exist there (a writer would have
    made the ``-shm`` file), so there is nothing to lock against."""
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        return url  # in memory, or the user's own URI: as given
    path = Path(url.database).resolve()
    query: dict[str, str] = {"uri": "true", "mode": "ro"}
    if not os.access(path.parent, os.W_OK) and not path.with_name(path.name + "-shm").exists():
        query["immutable"] = "1"
    return url.set(database=f"file:{quote(path.as_posix())}", query={**url.query, **query})


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    parsed = database_url(url)
    if parsed.get_backend_name() == "postgresql":
        require_extra("postgres", "psycopg", needed_for="a postgresql:// database")
    elif read_only:
        parsed = _read_only_sqlite(parsed)
    engine = create_engine(parsed)
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
        # SQLAlchemy's wrapper, and the driver's own (raised directly by HotSql).
        self._database_errors: tuple[type[Exception], ...] = (DBAPIError, dbapi.Error)

    def storage_error(self, exc: BaseException) -> StorageError | None:
        """What ``exc`` means when it is the storage's fault (full, read-only, damaged)."""
        return faults.storage_error(exc, self.url) if isinstance(exc, self._database_errors) else None

    def ensure_schema(self) -> None:
        """Bring the schema to the head revision (a read-only store only checks it)."""
        try:
            schema.ensure(self.engine, read_only=self.read_only)
        except BaseException as exc:
            self.engine.dispose()
            if (problem := self.storage_error(exc)) is not None:
                raise problem from exc
            raise

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """A transaction on this thread's own connection; within :meth:`batch`, a savepoint
        of the batch's transaction (atomic all the same, committed with the batch).

        Each thread keeps one connection for the life of the Database: checking one
        out of the pool for every transaction (with its reset on return) cost more
        than the writes themselves. A connection the database dropped is
        invalidated by SQLAlchemy and replaced on the next use.
        """
        batch = getattr(self._local, "batch", None)
        if batch is not None:
            with self._storage_errors(), self._savepoint(batch):
                yield batch
            return
        with self._storage_errors():
            conn = self._connection()
            try:
                with conn.begin():
                    yield conn
            except self._lost_connection:
                conn.invalidate()  # raised by the driver directly (HotSql): start afresh next time
                raise

    @contextmanager
    def _storage_errors(self) -> Iterator[None]:
        try:
            yield
        except self._database_errors as exc:
            if (problem := self.storage_error(exc)) is not None:
                raise problem from exc  # a full disk, a damaged file: one line, not a traceback
            raise

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Many transactions as one commit, on SQLite: each :meth:`tx` of this thread inside
        it is a savepoint, and a failure that leaves the block rolls all of them back.
        Statements given to :func:`~trialmirror.store.deferred.deferred` run at its end, in order, before the commit.

        A commit was a third of an ingest's time on SQLite (each writes its WAL frames and
        a new FTS5 segment); there one writer holds the file at a time anyway. On
        PostgreSQL this is no batch: each transaction commits on its own, because writers
        run in parallel there and one holding many records' locks and the event log's
        order lock would make the others wait (or deadlock with them).
        """
        if self.is_postgres or self.in_batch:
            yield
            return
        with self.tx() as conn:
            self._local.batch = conn
            pending: list[tuple[str, tuple[Any, ...]]] = []
            conn.info[DEFERRED] = pending
            try:
                yield
                run_deferred(conn, pending)
            finally:
                self._local.batch = None
                conn.info.pop(DEFERRED, None)

    @property
    def in_batch(self) -> bool:
        return getattr(self._local, "batch", None) is not None

    @contextmanager
    def _savepoint(self, conn: Connection) -> Iterator[None]:
        # On the driver: SQLAlchemy's begin_nested costs more than the work it guards.
        driver: Any = conn.connection.driver_connection
        pending = conn.info[DEFERRED]
        mark = len(pending)
        driver.execute("SAVEPOINT tx")
        try:
            yield
        except BaseException:
            if driver.in_transaction:  # SQLite ends it all itself on some errors (a full disk)
                driver.execute("ROLLBACK TO tx")
                driver.execute("RELEASE tx")
            del pending[mark:]  # what the rolled-back part deferred goes with it
            raise
        driver.execute("RELEASE tx")

    def _connection(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = self.engine.connect()
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self.engine.dispose()
