"""The store: raw archive, fetch log, versions with diffs, and the event log.

One transaction per record (:meth:`Store.put`). The same code runs on SQLite
(WAL, the default ``sqlite:///trialmirror.db``) and PostgreSQL.

Concurrent writers: on SQLite every transaction begins IMMEDIATE (one writer
at a time). On PostgreSQL a writer takes a transaction-scoped advisory lock on
the record before it reads the latest version, so version numbers never race,
and a second one before it appends events: ``event.seq`` must grow in commit
order, or a consumer reading "everything after my cursor" could miss a row
committed late with a smaller seq.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import zstandard
from sqlalchemy import Connection, Engine, bindparam, create_engine, event, func, select, text, tuple_
from sqlmodel import SQLModel

from trialmirror.ingest.errors import require_extra
from trialmirror.models.record import Record
from trialmirror.models.tables import Event, Fetch, RawPayload, Version
from trialmirror.store import schema, search
from trialmirror.store.canonical import content_hash, content_of
from trialmirror.store.diff import Change, diff
from trialmirror.store.sql import HotSql

# PostgreSQL advisory locks (transaction-scoped). Order: record lock, then event lock.
_EVENT_LOCK = 0x7472_6D69  # "trmi": orders event appends, so seq follows commit order
_RECORD_LOCK = 0x7472  # with hashtext(registry_id/source): one writer per record
_RAW = SQLModel.metadata.tables[RawPayload.__tablename__]
_FETCH = SQLModel.metadata.tables[Fetch.__tablename__]
_VERSION = SQLModel.metadata.tables[Version.__tablename__]
_EVENT = SQLModel.metadata.tables[Event.__tablename__]

_VALIDATORS = (
    select(_FETCH.c.etag, _FETCH.c.last_modified)
    .where(_FETCH.c.registry_id == bindparam("rid"), _FETCH.c.source == bindparam("src"),
           _FETCH.c.outcome.in_(("new_version", "unchanged")))
    .order_by(_FETCH.c.id.desc()).limit(1)
)
# Events that come with a new version (the others are notes about a record).
VERSION_EVENTS = ("new_record", "status_change", "updated", "reparsed")
# Whether the registry's listing has the record: bulk runs note a change of state.
LISTING_EVENTS = ("vanished", "reappeared")
EVENT_KINDS = (*VERSION_EVENTS, *LISTING_EVENTS, "merged")
_COMPRESS = zstandard.ZstdCompressor(level=1)  # ratio 0.26 of the raw JSON; level 3 buys 0.01


def registry_order(registry: Sequence[str]) -> Callable[[Any], tuple[str, int, int]]:
    """The sort key of registry versions in the order they became current: by
    valid_from, then the later of ``registry`` (the registry's own sources, ranked by
    the caller: the live record over its history) on the same day, then the number."""
    rank = {name: i for i, name in enumerate(registry)}
    return lambda row: (row.valid_from or "", rank[row.source], row.version)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(when: datetime) -> datetime:
    """A stored time as an aware UTC datetime (SQLite may give it back naive)."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass
class FetchInfo:
    """What the pipeline knows about one attempt, for its fetch-log row."""

    source: str
    registry_id: str
    url: str | None
    started_at: datetime
    duration_ms: float
    http_status: int | None = None
    attempts: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    upstream_version: int | None = None  # the source's version number, for record history


@dataclass
class PutResult:
    outcome: str  # new_version | unchanged
    version: int
    content_hash: str
    changes: list[Change] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def _event(registry_id: str, source: str, status: str | None, number: int, first: bool,
           changes: list[Change], produced_by: str) -> dict[str, Any]:
    """One event per new version: new_record, status_change, updated, or reparsed."""
    data: dict[str, Any] = {"produced_by": produced_by, "kinds": sorted({c["kind"] for c in changes})}
    status_change = next((c for c in changes if c["path"] == "status.overall"), None)
    if produced_by == "reparse" and not first:
        # The parser changed, not the registry: its own kind, so monitors are not told
        # of a registry change (status differences are still in the data).
        kind = "reparsed"
        if status_change is not None:
            data["status"] = {"old": status_change["old"], "new": status_change["new"]}
    elif first:
        kind = "new_record"
        data["status"] = {"old": None, "new": status}
    elif status_change is not None:
        kind = "status_change"
        data["status"] = {"old": status_change["old"], "new": status_change["new"]}
    else:
        kind = "updated"
    return {"registry_id": registry_id, "source": source, "version": number, "kind": kind,
            "data": data}


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


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class Store:
    def __init__(self, url: str, *, create: bool = True, read_only: bool = False):
        """``read_only``: for readers only (the HTTP API): on SQLite, transactions that
        neither take the write lock nor can write; the schema must be at the head
        (:class:`~trialmirror.store.schema.SchemaError` otherwise). Writable: the schema
        is brought to the head on open (trialmirror.store.schema)."""
        self.url = url
        self.engine = make_engine(url, read_only=read_only)
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[Connection] = []
        self._sql = HotSql(self.is_postgres)
        dbapi = self.engine.dialect.loaded_dbapi
        self._integrity_errors = (dbapi.IntegrityError,)
        self._lost_connection = (dbapi.OperationalError, dbapi.InterfaceError)
        if create:
            self._create_schema(read_only)

    def _create_schema(self, read_only: bool) -> None:
        """Bring the schema to the head revision (a read-only store only checks it)."""
        try:
            schema.ensure(self.engine, read_only=read_only)
        except BaseException:
            self.engine.dispose()
            raise

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A transaction on this thread's own connection.

        Each thread keeps one connection for the life of the Store: checking one
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

    def transaction(self) -> Any:
        """A transaction on this thread's connection, for modules that keep their own
        tables in this store (the scheduled service's state)."""
        return self._tx()

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self.engine.dispose()

    # --- write side ---------------------------------------------------------

    def archive(self, *, source: str, registry_id: str, url: str | None, raw: bytes,
                content_type: str | None = None) -> str:
        """Keep the raw bytes (before any parsing); returns their sha256. Idempotent."""
        with self._tx() as conn:
            return self._archive(conn, source, registry_id, url, raw, content_type)

    def _archive(self, conn: Any, source: str, registry_id: str, url: str | None, raw: bytes,
                 content_type: str | None, sha: str | None = None) -> str:
        sha = sha or hashlib.sha256(raw).hexdigest()
        # ON CONFLICT DO NOTHING: the same bytes may be archived already (A -> B -> A)
        # or by a concurrent writer.
        self._sql.run(conn, "raw_insert", {
            "sha256": sha, "source": source, "registry_id": registry_id, "url": url,
            "content_type": content_type, "size": len(raw), "compression": "zstd",
            "data": _COMPRESS.compress(raw), "first_seen_at": self._sql.time(utcnow())})
        return sha

    def log_not_modified(self, info: FetchInfo) -> int | None:
        """Log a 304 against the latest version (one transaction); returns its number."""
        with self._tx() as conn:
            head = self._sql.one(conn, "latest_head", {"rid": info.registry_id, "src": info.source})
            version = None if head is None else int(head[0])
            self.log_fetch(info, outcome="not_modified", version=version, conn=conn)
            return version

    def receive(self, info: FetchInfo, raw: bytes, *, parser_version: int,
                content_type: str | None = None) -> tuple[str, int | None]:
        """Archive a payload before it is parsed, in its own transaction.

        Returns ``(sha256, version)``: ``version`` is set when the latest version
        came from these very bytes and this parser version (so they are archived
        already); the fetch is then logged as ``unchanged`` in the same
        transaction and no parse is needed.
        """
        sha = hashlib.sha256(raw).hexdigest()
        with self._tx() as conn:
            head = self._sql.one(conn, "latest_head", {"rid": info.registry_id, "src": info.source})
            if head is not None and head[1] == sha and head[2] == parser_version:
                self.log_fetch(info, outcome="unchanged", raw_sha256=sha, version=head[0], conn=conn)
                return sha, int(head[0])
            self._archive(conn, info.source, info.registry_id, info.url, raw, content_type, sha)
            return sha, None

    def _fetch_row(self, info: FetchInfo, outcome: str, error_family: str | None, error: str | None,
                   raw_sha256: str | None, version: int | None) -> dict[str, Any]:
        return {
            "source": info.source, "registry_id": info.registry_id, "url": info.url,
            "started_at": self._sql.time(info.started_at), "duration_ms": round(info.duration_ms, 2),
            "outcome": outcome, "http_status": info.http_status, "attempts": info.attempts,
            "error_family": error_family, "error": error, "raw_sha256": raw_sha256,
            "version": version, "upstream_version": info.upstream_version, "etag": info.etag,
            "last_modified": info.last_modified}

    def log_fetch(self, info: FetchInfo, *, outcome: str, error_family: str | None = None,
                  error: str | None = None, raw_sha256: str | None = None,
                  version: int | None = None, conn: Any = None) -> None:
        row = self._fetch_row(info, outcome, error_family, error, raw_sha256, version)
        if conn is not None:
            self._sql.run(conn, "fetch_insert", row)
            return
        with self._tx() as own:
            self._sql.run(own, "fetch_insert", row)

    def put(self, record: Record | str, *, fetch: FetchInfo | None, raw_sha256: str | None,
            parser_version: int = 1, produced_by: str = "fetch",
            valid_from: str | None = None, observed_at: datetime | None = None,
            upstream_version: int | None = None, searchable: bool = False) -> PutResult:
        """Store ``record`` (a Record, or its JSON from ``model_dump_json``) as a new
        version if its content changed, with its diff, event and fetch-log row: one
        transaction. ``searchable``: a registry record, kept in the search index."""
        observed_at = observed_at or utcnow()
        # model_dump_json runs in Rust; five times faster than model_dump(mode="json").
        record_json = record.model_dump_json() if isinstance(record, Record) else record
        data = orjson.loads(record_json)
        digest = content_hash(data, sort_in_place=True)  # data is ours; the diff ignores order
        for attempt in range(3):
            try:
                with self._tx() as conn:
                    result = self._put(conn, data, record_json, digest, raw_sha256, parser_version,
                                       produced_by, valid_from, observed_at, upstream_version, searchable)
                    if fetch is not None:
                        self.log_fetch(fetch, outcome=result.outcome, raw_sha256=raw_sha256,
                                       version=result.version, conn=conn)
                    return result
            except self._integrity_errors:
                if attempt == 2:
                    raise  # a concurrent writer keeps winning the same version number
        raise AssertionError("unreachable")

    def _put(self, conn: Any, data: dict[str, Any], record_json: str, digest: str,
             raw_sha256: str | None, parser_version: int, produced_by: str,
             valid_from: str | None, observed_at: datetime, upstream_version: int | None,
             searchable: bool) -> PutResult:
        registry_id, source = data["registry_id"], data["source"]
        if self.is_postgres:  # one writer per record at a time: read latest, then write it
            self._sql.run(conn, "record_lock", {"k": _RECORD_LOCK, "rid": registry_id, "src": source})
        latest = self._sql.one(conn, "latest", {"rid": registry_id, "src": source})
        if latest is not None and latest[1] == digest:
            return PutResult("unchanged", latest[0], digest)
        number = 1 if latest is None else latest[0] + 1
        changes = [] if latest is None else diff(content_of(orjson.loads(latest[2])), content_of(data))
        status = (data.get("status") or {}).get("overall")
        self._sql.run(conn, "version_insert", {
            "registry_id": registry_id, "source": source, "version": number,
            "content_hash": digest, "overall_status": status,
            "observed_at": self._sql.time(observed_at),
            "valid_from": valid_from or data.get("source_version_date"), "raw_sha256": raw_sha256,
            "parser_version": parser_version, "produced_by": produced_by,
            "upstream_version": upstream_version, "record": record_json,
            "diff": dumps(changes) if latest is not None else None})
        if searchable:  # the index moves with the version, or not at all
            search.index(conn, self.is_postgres, data, source, number,
                         valid_from or data.get("source_version_date"))
        event = _event(registry_id, source, status, number, latest is None, changes, produced_by)
        if self.is_postgres:
            self._sql.run(conn, "event_lock", {"k": _EVENT_LOCK})
        row = self._sql.one(conn, "event_insert", {
            **{k: event[k] for k in ("registry_id", "source", "version", "kind")},
            "occurred_at": self._sql.time(observed_at), "data": dumps(event["data"])})
        assert row is not None  # INSERT .. RETURNING always returns the row
        event["seq"] = row[0]
        return PutResult("new_version", number, digest, changes, [event])

    def note_event(self, registry_id: str, source: str, kind: str, data: dict[str, Any]) -> int | None:
        """An event about a record that is no new version, against its latest version.
        ``vanished`` and ``reappeared`` mark a state (listed or not): each is noted only
        when it changes it. Others (``merged``) are noted once per version. Returns its
        seq, or None when nothing was added."""
        with self._tx() as conn:
            if self.is_postgres:
                self._sql.run(conn, "record_lock", {"k": _RECORD_LOCK, "rid": registry_id, "src": source})
            head = self._sql.one(conn, "latest_head", {"rid": registry_id, "src": source})
            if head is None:
                return None
            mine = (_EVENT.c.registry_id == registry_id, _EVENT.c.source == source)
            if kind in LISTING_EVENTS:
                last = conn.execute(select(_EVENT.c.kind).where(*mine, _EVENT.c.kind.in_(LISTING_EVENTS))
                                    .order_by(_EVENT.c.seq.desc()).limit(1)).scalar()
                if (last or "reappeared") == kind:
                    return None  # the record is in that state already
            else:
                since = conn.execute(select(func.max(_EVENT.c.seq)).where(
                    *mine, _EVENT.c.kind.in_(VERSION_EVENTS))).scalar() or 0
                if conn.execute(select(_EVENT.c.seq).where(*mine, _EVENT.c.kind == kind,
                                                           _EVENT.c.seq > since).limit(1)).first():
                    return None  # said already about this version
            if self.is_postgres:
                self._sql.run(conn, "event_lock", {"k": _EVENT_LOCK})
            row = self._sql.one(conn, "event_insert", {
                "registry_id": registry_id, "source": source, "version": int(head[0]), "kind": kind,
                "occurred_at": self._sql.time(utcnow()), "data": dumps(data)})
            return int(row[0]) if row else None

    def vanished(self, source: str) -> list[str]:
        """The records of ``source`` whose last listing event is ``vanished``."""
        latest = (select(_EVENT.c.registry_id, func.max(_EVENT.c.seq).label("seq"))
                  .where(_EVENT.c.source == source, _EVENT.c.kind.in_(LISTING_EVENTS))
                  .group_by(_EVENT.c.registry_id).subquery())
        with self._tx() as conn:
            return list(conn.execute(select(_EVENT.c.registry_id).join(latest, _EVENT.c.seq == latest.c.seq)
                                     .where(_EVENT.c.kind == "vanished")
                                     .order_by(_EVENT.c.registry_id)).scalars())

    # --- read side ----------------------------------------------------------

    def last_validators(self, registry_id: str, source: str) -> tuple[str | None, str | None]:
        """ETag and Last-Modified of the last fetch that stored or matched a version."""
        with self._tx() as conn:
            row = conn.execute(_VALIDATORS, {"rid": registry_id, "src": source}).first()
        return (row.etag, row.last_modified) if row else (None, None)

    def versions(self, registry_id: str, source: str) -> list[Any]:
        with self._tx() as conn:
            return list(conn.execute(
                select(_VERSION).where(_VERSION.c.registry_id == registry_id,
                                       _VERSION.c.source == source)
                .order_by(_VERSION.c.version)))

    def version_rows(self, sources: tuple[str, ...] | list[str]) -> list[Any]:
        """Every version of ``sources`` without its record (metadata for exports)."""
        columns = [c for c in _VERSION.c if c.name not in ("record", "diff")]
        with self._tx() as conn:
            return list(conn.execute(select(*columns).where(_VERSION.c.source.in_(sources))
                                     .order_by(_VERSION.c.registry_id, _VERSION.c.source,
                                               _VERSION.c.version)))

    def version(self, registry_id: str, source: str, number: int | None = None) -> Any:
        """Version ``number`` (the latest when None), or None when there is none."""
        query = select(_VERSION).where(_VERSION.c.registry_id == registry_id,
                                       _VERSION.c.source == source)
        if number is None:
            query = query.order_by(_VERSION.c.version.desc()).limit(1)
        else:
            query = query.where(_VERSION.c.version == number)
        with self._tx() as conn:
            return conn.execute(query).first()

    def version_as_of(self, registry_id: str, sources: list[str], day: str) -> Any:
        """The version current on ``day`` (ISO date): the latest ``valid_from`` on or before
        it across ``sources`` (ties: the later-listed source, then the higher version)."""
        rank = {name: i for i, name in enumerate(sources)}
        with self._tx() as conn:
            rows = list(conn.execute(
                select(_VERSION).where(_VERSION.c.registry_id == registry_id,
                                       _VERSION.c.source.in_(sources),
                                       _VERSION.c.valid_from.is_not(None),
                                       _VERSION.c.valid_from <= day)))
        if not rows:
            return None
        return max(rows, key=lambda r: (r.valid_from, rank[r.source], r.version))

    def brief_title(self, registry_id: str, registry: Sequence[str]) -> str | None:
        """The brief title of the newest version from ``registry``, the registry's sources
        in rank order (mirrors address pages by it)."""
        row = self.version_as_of(registry_id, list(registry), "9999-12-31")
        return ((orjson.loads(row.record).get("titles") or {}).get("brief")) if row else None

    def last_capture(self, registry_id: str, source: str) -> datetime | None:
        """When the source last gave a version of the record (new, unchanged or 304)."""
        with self._tx() as conn:
            return conn.execute(
                select(func.max(_FETCH.c.started_at)).where(
                    _FETCH.c.registry_id == registry_id, _FETCH.c.source == source,
                    _FETCH.c.outcome.in_(("new_version", "unchanged", "not_modified")))).scalar()

    def first_valid_from(self, registry_id: str, sources: list[str]) -> str | None:
        with self._tx() as conn:
            return conn.execute(
                select(func.min(_VERSION.c.valid_from)).where(
                    _VERSION.c.registry_id == registry_id, _VERSION.c.source.in_(sources))).scalar()

    def fetched_upstream_versions(self, registry_id: str, source: str) -> set[int]:
        """Upstream version numbers already fetched and stored (as a version or unchanged)."""
        with self._tx() as conn:
            return {row[0] for row in conn.execute(
                select(_FETCH.c.upstream_version).where(
                    _FETCH.c.registry_id == registry_id, _FETCH.c.source == source,
                    _FETCH.c.upstream_version.is_not(None),
                    _FETCH.c.outcome.in_(("new_version", "unchanged"))))}

    def events(self, *, after: int = 0, kind: str | None = None, limit: int | None = None,
               registry_id: str | None = None, sources: list[str] | None = None,
               kinds: list[str] | None = None, before: int | None = None,
               newest_first: bool = False) -> list[Any]:
        query = select(_EVENT).where(_EVENT.c.seq > after)
        query = query.order_by(_EVENT.c.seq.desc() if newest_first else _EVENT.c.seq)
        if before is not None:
            query = query.where(_EVENT.c.seq < before)
        if kind:
            query = query.where(_EVENT.c.kind == kind)
        if kinds:
            query = query.where(_EVENT.c.kind.in_(kinds))
        if sources:
            query = query.where(_EVENT.c.source.in_(sources))
        if registry_id:
            query = query.where(_EVENT.c.registry_id == registry_id)
        if limit:
            query = query.limit(limit)
        with self._tx() as conn:
            return list(conn.execute(query))

    def fetches(self, registry_id: str | None = None, source: str | None = None) -> list[Any]:
        query = select(_FETCH).order_by(_FETCH.c.id)
        if registry_id:
            query = query.where(_FETCH.c.registry_id == registry_id)
        if source:
            query = query.where(_FETCH.c.source == source)
        with self._tx() as conn:
            return list(conn.execute(query))

    def raw(self, sha256: str) -> bytes | None:
        with self._tx() as conn:
            data = conn.execute(select(_RAW.c.data).where(_RAW.c.sha256 == sha256)).scalar()
        return zstandard.ZstdDecompressor().decompress(data) if data is not None else None

    def search(self, q: str = "", **filters: Any) -> list[search.Hit]:
        """Records whose newest registry version matches ``q`` (see trialmirror.store.search)."""
        with self._tx() as conn:
            return search.search(conn, self.is_postgres, q, **filters)

    def newest_registry_versions(self, registry: Sequence[str], day: str | None = None) -> list[Any]:
        """Per record, the newest version from ``registry`` (the registry's sources in rank
        order: by valid_from; on a tie the later source, then the higher number), or the
        one current on ``day``; rows of (registry_id, source, version, valid_from),
        ordered by registry id."""
        order = registry_order(registry)
        query = (select(_VERSION.c.registry_id, _VERSION.c.source, _VERSION.c.version,
                        _VERSION.c.valid_from).where(_VERSION.c.source.in_(registry)))
        if day is not None:
            query = query.where(_VERSION.c.valid_from.is_not(None), _VERSION.c.valid_from <= day)
        newest: dict[str, tuple[Any, Any]] = {}
        with self._tx() as conn:
            for row in conn.execute(query):
                key = order(row)
                if row.registry_id not in newest or key > newest[row.registry_id][0]:
                    newest[row.registry_id] = (key, row)
        return [newest[rid][1] for rid in sorted(newest)]

    def records(self, rows: list[Any], batch: int = 500) -> Iterator[tuple[Any, str]]:
        """(row, record JSON as stored) for version rows of (registry_id, source, version)."""
        for start in range(0, len(rows), batch):
            chunk = rows[start:start + batch]
            keys = {(r.registry_id, r.source, r.version): r for r in chunk}
            with self._tx() as conn:  # exactly these versions: not every version of the records
                found = {(x[0], x[1], x[2]): x[3] for x in conn.execute(*self._records_query(list(keys)))}
            for key, row in keys.items():
                yield row, found[key]

    def _records_query(self, keys: list[tuple[str, str, int]]) -> tuple[Any, ...]:
        if self.is_postgres:
            # A row-value IN of 500 keys is one index scan filtering every entry against
            # all of them on PostgreSQL (346 ms a batch at 40k versions); joined from
            # arrays, it is 500 key lookups (or a hash join).
            ids, sources, numbers = (list(column) for column in zip(*keys, strict=True))
            return (text(
                f"SELECT v.registry_id, v.source, v.version, v.record FROM {_VERSION.name} v JOIN unnest("
                "CAST(:ids AS text[]), CAST(:sources AS text[]), CAST(:numbers AS integer[])) "
                "AS k(registry_id, source, version) ON v.registry_id = k.registry_id "
                "AND v.source = k.source AND v.version = k.version"),
                {"ids": ids, "sources": sources, "numbers": numbers})
        key_columns = tuple_(_VERSION.c.registry_id, _VERSION.c.source, _VERSION.c.version)
        return (select(_VERSION.c.registry_id, _VERSION.c.source, _VERSION.c.version,
                       _VERSION.c.record).where(key_columns.in_(keys)),)

    def reindex(self, registry: Sequence[str]) -> int:
        """Rebuild the search rows from the stored versions of ``registry`` (the registry's
        sources in rank order; a store made before the index existed, or by an older
        build of it); returns how many records are indexed."""
        rows = self.newest_registry_versions(registry)
        for row, record in self.records(rows):
            with self._tx() as conn:
                search.index(conn, self.is_postgres, orjson.loads(record), row.source, row.version,
                             row.valid_from)
        with self._tx() as conn:
            search.mark_current(conn)
        search.forget_stats()
        return len(rows)

    def search_outdated(self) -> bool:
        """Whether an older build of the index wrote some search rows (``reindex``)."""
        with self._tx() as conn:
            return search.outdated(conn)

    def raw_url(self, sha256: str) -> str | None:
        with self._tx() as conn:
            return conn.execute(select(_RAW.c.url).where(_RAW.c.sha256 == sha256)).scalar()

    def mark_parsed(self, registry_id: str, source: str, version: int, parser_version: int) -> None:
        """A newer parser gave the same record: the version is its output now too."""
        with self._tx() as conn:
            conn.execute(_VERSION.update().where(
                _VERSION.c.registry_id == registry_id, _VERSION.c.source == source,
                _VERSION.c.version == version).values(parser_version=parser_version))

    def counts(self) -> dict[str, int]:
        with self._tx() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in (_RAW, _FETCH, _VERSION, _EVENT)}
