"""The store: raw archive, fetch log, versions with diffs, the event log, the search index.

All SQL of trialmirror lives in this package. :class:`Store` is its façade; the
work is done by its parts:

- ``engine``: the engine, SQLite's pragmas and transaction hooks, one connection
  per thread (:class:`~trialmirror.store.engine.Database`).
- ``faults``: a full disk, a read-only or damaged database as one clear error.
- ``integrity``: the database's own integrity check (``trialmirror db check``).
- ``schema``, ``migrations``: the schema, owned by Alembic.
- ``write``: archive, fetch log, versions (one transaction per record, or a batch of them).
- ``events``: the event kinds, which one a new version makes, the log's reads.
- ``queries``: reads of versions, fetches and raw payloads.
- ``rows``: the typed rows all of them take and give back.
- ``sql``: table handles and the hot statements (on the driver's cursor).
- ``deferred``: statements a batch of writes runs at its end (FTS5 postings).
- ``search``, ``views``: the full-text index and the SQL views of records.
- ``ranked``: the ranked search index beside the store (Tantivy: top-k without scoring
  every match), derived from the search rows through the event log.
- ``facets``, ``geo``: the search by MeSH term and by place (side tables, distances).
- ``reporting``: results reporting under FDAAA (the search index's side table of periods,
  the view for today, the records that became overdue).
- ``service_state``, ``checkpoints``: the scheduled service's tables, bulk sync's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection

from trialmirror.errors import StorageError
from trialmirror.store import faults, schema, search
from trialmirror.store import ranked as ranked_index
from trialmirror.store.engine import Database
from trialmirror.store.events import Events
from trialmirror.store.queries import Reads
from trialmirror.store.sql import HotSql
from trialmirror.store.write import Writer

log = logging.getLogger(__name__)


class Store:
    """One database's store: each method is its part's (see the module's list)."""

    def __init__(self, url: str, *, create: bool = True, read_only: bool = False,
                 search_dir: Path | None = None, ranked: bool = True):
        """``read_only``: for readers only (the HTTP API): on SQLite, transactions that
        neither take the write lock nor can write; the schema must be at the head
        (:class:`~trialmirror.store.schema.SchemaError` otherwise). Writable: the schema
        is brought to the head on open (trialmirror.store.schema). ``search_dir``: where
        a PostgreSQL store's ranked search index lives (store/ranked.py); ``ranked``
        False: searches use the store's own ranking only."""
        self.db = Database(url, read_only=read_only)
        self.url, self.engine, self.is_postgres = url, self.db.engine, self.db.is_postgres
        location = ranked_index.default_location(url, sqlite_path=faults.sqlite_path(url), search_dir=search_dir)
        self._reader: Database | None = None
        self._ranked = ranked_index.Ranked(location, self._read) if ranked else None
        if create:
            self.db.ensure_schema()
        sql = HotSql(self.is_postgres)
        events = Events(self.db, sql)
        writer, reads = Writer(self.db, sql, events), Reads(self.db, sql)
        # The write path.
        self.archive, self.receive, self.put = writer.archive, writer.receive, writer.put
        self.log_fetch, self.log_not_modified = writer.log_fetch, writer.log_not_modified
        self.mark_parsed = writer.mark_parsed
        # The event log.
        self.note_event, self.vanished, self.events = events.note, events.vanished, events.events
        self.note_overdue = events.note_overdue
        # Reads.
        self.version, self.versions, self.version_rows = reads.version, reads.versions, reads.version_rows
        self.version_as_of, self.latest_versions = reads.version_as_of, reads.latest_versions
        self.count_records = reads.count_records
        self.newest_registry_versions, self.records = reads.newest_registry_versions, reads.records
        self.newest_registry_pages, self.count_newest = reads.newest_registry_pages, reads.count_newest
        self.brief_title, self.first_valid_from = reads.brief_title, reads.first_valid_from
        self.last_validators, self.last_capture = reads.last_validators, reads.last_capture
        self.fetched_upstream_versions, self.fetches = reads.fetched_upstream_versions, reads.fetches
        self.raw, self.raw_url, self.counts = reads.raw, reads.raw_url, reads.counts
        self.raw_payload = reads.raw_payload
        self.stored_since, self.coverage_since = reads.stored_since, reads.coverage_since
        self.drift = reads.drift

    def transaction(self) -> AbstractContextManager[Connection]:
        """A transaction on this thread's connection (the store's own modules, and tests)."""
        return self.db.tx()

    def batch(self) -> AbstractContextManager[None]:
        """Many writes, one commit (SQLite; see :meth:`Database.batch`): a page of records."""
        return self.db.batch()

    def _read(self) -> AbstractContextManager[Connection]:
        """A transaction that only reads and holds no lock: a writable SQLite store's own
        take the write lock at BEGIN, and building the ranked index from a whole registry
        takes minutes, which would keep every writer waiting (then failing)."""
        if self.is_postgres or self.db.read_only or faults.sqlite_path(self.url) is None:
            return self.db.tx()  # MVCC, a reader already, or a database in memory: its own
        if self._reader is None:
            self._reader = Database(self.url, read_only=True)
        return self._reader.tx()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self.db.close()

    # --- the search index -------------------------------------------------------

    def search(self, q: str | search.Query = "", *, limit: int = 20, offset: int = 0,
               **filters: Any) -> list[search.Hit]:
        """Records whose newest registry version matches ``q`` (see trialmirror.store.search):
        its words, and ``filters`` (status, phase, condition, mesh, near and within) as typed, checked by
        :func:`search.query` first (InvalidQueryError), unless ``q`` is a checked query."""
        request = q if isinstance(q, search.Query) else search.query(q, **filters)
        with self.db.tx() as conn:
            if request.terms and self._ranked is not None:
                try:
                    return search.ranked_search(conn, self.is_postgres, request, self._ranked, limit=limit,
                                                offset=offset)
                except ranked_index.Unavailable:
                    pass  # said in the log once
            return search.search(conn, self.is_postgres, request, limit=limit, offset=offset)

    def catch_up_search(self) -> int:
        """Bring the ranked search index up to the store (the commands that write, at
        their end); returns how many records it wrote, 0 when it cannot be used."""
        if self._ranked is None:
            return 0
        try:
            with self._read() as conn:
                return self._ranked.catch_up(conn)
        except (ranked_index.Unavailable, StorageError) as exc:
            # Derived data: the next search catches up, or the store's ranking answers.
            log.warning("search: the ranked index was not brought up to date: %s", exc)
            return 0

    def reindex(self, registry: Sequence[str]) -> int:
        """Rebuild the search rows from the stored versions of ``registry`` (the registry's
        sources in rank order; a store made before the index existed, or by an older
        build of it); returns how many records are indexed."""
        rows = self.newest_registry_versions(registry)
        for row, record in self.records(rows):
            with self.db.tx() as conn:
                search.index(conn, self.is_postgres, orjson.loads(record), row.source, row.version,
                             row.valid_from)
        with self.db.tx() as conn:
            search.mark_current(conn)
        search.forget_stats()
        self.catch_up_search()  # the ranked index, rebuilt from the new rows
        return len(rows)

    def search_outdated(self) -> bool:
        """Whether an older build of the index wrote some search rows (``reindex``)."""
        with self.db.tx() as conn:
            return search.outdated(conn)


def open_for_reading(url: str, *, search_dir: Path | None = None) -> Store:
    """A read-only store, for the commands that only read and the HTTP API.

    It never makes a database: a mistyped path or an empty database is refused
    (:func:`trialmirror.store.faults.missing`), not answered with nothing stored. On
    SQLite it opens the file read-only, so it reads read-only media. A schema behind
    the head is upgraded first when the database can be written (what the first use
    of a writable store does); on read-only media it is refused with what to run.
    """
    path = faults.sqlite_path(url)
    if path is not None and not path.is_file():
        raise faults.missing(url, "no such file" if not path.exists() else "not a file")
    try:
        return Store(url, read_only=True, search_dir=search_dir)
    except schema.SchemaError as exc:
        if exc.found is None or exc.found.state not in ("behind", "made before migrations", "empty"):
            raise
        if exc.found.state == "empty":
            raise faults.missing(url, "it holds no trialmirror tables") from None
        try:
            Store(url).close()  # the upgrade, as a writable store's first use does it
        except StorageError as cannot:
            if cannot.kind == "read_only":
                raise exc from None  # on read-only media: says to run `trialmirror db upgrade`
            raise
    return Store(url, read_only=True, search_dir=search_dir)
