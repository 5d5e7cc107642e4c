"""Reads of versions, fetches and raw payloads, as typed rows (``store/rows.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
import zstandard
from sqlalchemy import bindparam, func, select, text, tuple_

from trialmirror.store.engine import Database, as_utc
from trialmirror.store.rows import DriftRow, FetchRow, VersionHead, VersionMeta, VersionRef, VersionRow
from trialmirror.store.sql import DRIFT, EVENT, FETCH, RAW, VERSION, HotSql, columns

_VERSION_COLUMNS = columns(VERSION, VersionRow)
_META_COLUMNS = columns(VERSION, VersionMeta)
_REF_COLUMNS = columns(VERSION, VersionRef)
_HEAD_COLUMNS = columns(VERSION, VersionHead)
_FETCH_COLUMNS = columns(FETCH, FetchRow)
_VALIDATORS = (
    select(FETCH.c.etag, FETCH.c.last_modified)
    .where(FETCH.c.registry_id == bindparam("rid"), FETCH.c.source == bindparam("src"),
           FETCH.c.outcome.in_(("new_version", "unchanged")))
    .order_by(FETCH.c.id.desc()).limit(1)
)


def _when(value: datetime | str) -> datetime:
    """A timestamp an aggregate gave back: SQLite may give its stored text."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def registry_order(registry: Sequence[str]) -> Callable[[VersionRow | VersionRef], tuple[str, int, int]]:
    """The sort key of registry versions in the order they became current: by
    valid_from, then the later of ``registry`` (the registry's own sources, ranked by
    the caller: the live record over its history) on the same day, then the number."""
    rank = {name: i for i, name in enumerate(registry)}
    return lambda row: (row.valid_from or "", rank[row.source], row.version)


class Reads:
    """The store's read queries; each runs in its own transaction."""

    def __init__(self, db: Database, sql: HotSql):
        self.db, self._sql = db, sql

    def drift(self, *, since: datetime | None = None, sources: Sequence[str] | None = None,
              paths: Sequence[str] | None = None) -> list[DriftRow]:
        """Flagged values with how many records and versions carry them and when they were
        first and last seen, newest first; ``since``: only those first seen then or later."""
        # One row per (value, version) first: a version may flag the same value twice
        # (two null sites), and counts are of versions, not of flags.
        per_version = select(DRIFT.c.source, DRIFT.c.path, DRIFT.c.action, DRIFT.c.value,
                             DRIFT.c.registry_id, DRIFT.c.version,
                             func.min(DRIFT.c.observed_at).label("observed_at"))
        if sources:
            per_version = per_version.where(DRIFT.c.source.in_(sources))
        if paths:
            per_version = per_version.where(DRIFT.c.path.in_(paths))
        v = per_version.group_by(DRIFT.c.source, DRIFT.c.path, DRIFT.c.action, DRIFT.c.value,
                                 DRIFT.c.registry_id, DRIFT.c.version).subquery()
        first = func.min(v.c.observed_at)
        query = (select(v.c.source, v.c.path, v.c.action, v.c.value, func.count(func.distinct(v.c.registry_id)),
                        func.count(), first, func.max(v.c.observed_at), func.min(v.c.registry_id))
                 .group_by(v.c.source, v.c.path, v.c.action, v.c.value)
                 .order_by(first.desc(), v.c.source, v.c.path, v.c.value))
        if since is not None:
            query = query.having(first >= since)
        with self.db.tx() as conn:
            rows = conn.execute(query).all()
        return [DriftRow(r[0], r[1], r[2], r[3], r[4], r[5], as_utc(_when(r[6])), as_utc(_when(r[7])), r[8])
                for r in rows]

    def last_validators(self, registry_id: str, source: str) -> tuple[str | None, str | None]:
        """ETag and Last-Modified of the last fetch that stored or matched a version."""
        with self.db.tx() as conn:
            row = conn.execute(_VALIDATORS, {"rid": registry_id, "src": source}).first()
        return (row.etag, row.last_modified) if row else (None, None)

    def versions(self, registry_id: str, source: str) -> list[VersionRow]:
        with self.db.tx() as conn:
            return [VersionRow._make(row) for row in conn.execute(
                select(*_VERSION_COLUMNS).where(VERSION.c.registry_id == registry_id,
                                                VERSION.c.source == source)
                .order_by(VERSION.c.version))]

    def version_rows(self, sources: tuple[str, ...] | list[str],
                     between: tuple[str, str] | None = None) -> list[VersionMeta]:
        """Every version of ``sources`` without its record (metadata for exports);
        ``between``: of the records with ids in that range (both included)."""
        query = select(*_META_COLUMNS).where(VERSION.c.source.in_(sources))
        if between is not None:
            query = query.where(VERSION.c.registry_id >= between[0], VERSION.c.registry_id <= between[1])
        with self.db.tx() as conn:
            return [VersionMeta._make(row) for row in conn.execute(
                query.order_by(VERSION.c.registry_id, VERSION.c.source, VERSION.c.version))]

    def version(self, registry_id: str, source: str, number: int | None = None) -> VersionRow | None:
        """Version ``number`` (the latest when None), or None when there is none."""
        query = select(*_VERSION_COLUMNS).where(VERSION.c.registry_id == registry_id,
                                                VERSION.c.source == source)
        if number is None:
            query = query.order_by(VERSION.c.version.desc()).limit(1)
        else:
            query = query.where(VERSION.c.version == number)
        with self.db.tx() as conn:
            row = conn.execute(query).first()
        return None if row is None else VersionRow._make(row)

    def version_as_of(self, registry_id: str, sources: list[str], day: str) -> VersionRow | None:
        """The version current on ``day`` (ISO date): the latest ``valid_from`` on or before
        it across ``sources`` (ties: the later-listed source, then the higher version)."""
        rank = {name: i for i, name in enumerate(sources)}
        with self.db.tx() as conn:
            rows = [VersionRow._make(row) for row in conn.execute(
                select(*_VERSION_COLUMNS).where(VERSION.c.registry_id == registry_id,
                                                VERSION.c.source.in_(sources),
                                                VERSION.c.valid_from.is_not(None),
                                                VERSION.c.valid_from <= day))]
        if not rows:
            return None
        return max(rows, key=lambda r: (r.valid_from or "", rank[r.source], r.version))

    def brief_title(self, registry_id: str, registry: Sequence[str]) -> str | None:
        """The brief title of the newest version from ``registry``, the registry's sources
        in rank order (mirrors address pages by it)."""
        row = self.version_as_of(registry_id, list(registry), "9999-12-31")
        return ((orjson.loads(row.record).get("titles") or {}).get("brief")) if row else None

    def latest_versions(self, sources: list[str], *, after: tuple[str, str] | None = None,
                        limit: int | None = None) -> list[VersionHead]:
        """The latest version of every record of ``sources``, by record then source; a page
        of them with ``after`` (the last page's last (registry_id, source)) and ``limit``,
        so that a reparse of the whole registry never holds every record's row at once."""
        newest = (select(VERSION.c.registry_id, VERSION.c.source, func.max(VERSION.c.version).label("v"))
                  .where(VERSION.c.source.in_(sources)))
        if after is not None:
            newest = newest.where(tuple_(VERSION.c.registry_id, VERSION.c.source) > tuple_(*after))
        newest = newest.group_by(VERSION.c.registry_id, VERSION.c.source).order_by(
            VERSION.c.registry_id, VERSION.c.source)
        if limit is not None:
            newest = newest.limit(limit)
        page = newest.subquery()
        query = (select(*_HEAD_COLUMNS)
                 .join(page, (page.c.registry_id == VERSION.c.registry_id)
                       & (page.c.source == VERSION.c.source) & (page.c.v == VERSION.c.version))
                 .order_by(VERSION.c.registry_id, VERSION.c.source))
        with self.db.tx() as conn:
            return [VersionHead._make(row) for row in conn.execute(query)]

    def count_records(self, sources: list[str]) -> int:
        """How many (record, source) pairs of ``sources`` have a version."""
        pairs = (select(VERSION.c.registry_id, VERSION.c.source).where(VERSION.c.source.in_(sources))
                 .distinct().subquery())
        with self.db.tx() as conn:
            return int(conn.execute(select(func.count()).select_from(pairs)).scalar_one())

    def last_capture(self, registry_id: str, source: str) -> datetime | None:
        """When the source last gave a version of the record (new, unchanged or 304)."""
        with self.db.tx() as conn:
            return conn.execute(
                select(func.max(FETCH.c.started_at)).where(
                    FETCH.c.registry_id == registry_id, FETCH.c.source == source,
                    FETCH.c.outcome.in_(("new_version", "unchanged", "not_modified")))).scalar()

    def first_valid_from(self, registry_id: str, sources: list[str]) -> str | None:
        with self.db.tx() as conn:
            return conn.execute(
                select(func.min(VERSION.c.valid_from)).where(
                    VERSION.c.registry_id == registry_id, VERSION.c.source.in_(sources))).scalar()

    def fetched_upstream_versions(self, registry_id: str, source: str) -> set[int]:
        """Upstream version numbers already fetched and stored (as a version or unchanged)."""
        with self.db.tx() as conn:
            return {row[0] for row in conn.execute(
                select(FETCH.c.upstream_version).where(
                    FETCH.c.registry_id == registry_id, FETCH.c.source == source,
                    FETCH.c.upstream_version.is_not(None),
                    FETCH.c.outcome.in_(("new_version", "unchanged"))))}

    def stored_since(self, source: str, since: datetime, registry_ids: list[str]) -> list[str]:
        """Which of ``registry_ids`` a fetch of ``source`` stored or matched at or after ``since``."""
        with self.db.tx() as conn:
            return list(conn.execute(select(FETCH.c.registry_id).where(
                FETCH.c.source == source, FETCH.c.started_at >= since,
                FETCH.c.registry_id.in_(registry_ids),
                FETCH.c.outcome.in_(("new_version", "unchanged"))).distinct()).scalars())

    def coverage_since(self, source: str, since: datetime) -> tuple[int, list[str]]:
        """How many records of ``source`` fetches stored or matched at or after ``since``,
        and the stored records none of them did (one transaction)."""
        with self.db.tx() as conn:
            seen = (select(FETCH.c.registry_id).where(
                FETCH.c.source == source, FETCH.c.started_at >= since,
                FETCH.c.outcome.in_(("new_version", "unchanged"))).distinct().subquery())
            stored = conn.execute(select(func.count()).select_from(seen)).scalar_one()
            gone = list(conn.execute(
                select(VERSION.c.registry_id).where(VERSION.c.source == source).distinct()
                .except_(select(seen.c.registry_id))).scalars())
        return int(stored), gone

    def fetches(self, registry_id: str | None = None, source: str | None = None) -> list[FetchRow]:
        query = select(*_FETCH_COLUMNS).order_by(FETCH.c.id)
        if registry_id:
            query = query.where(FETCH.c.registry_id == registry_id)
        if source:
            query = query.where(FETCH.c.source == source)
        with self.db.tx() as conn:
            return [FetchRow._make(row) for row in conn.execute(query)]

    def raw(self, sha256: str) -> bytes | None:
        found = self.raw_payload(sha256)
        return found[0] if found is not None else None

    def raw_url(self, sha256: str) -> str | None:
        found = self.raw_payload(sha256)
        return found[1] if found is not None else None

    def raw_payload(self, sha256: str) -> tuple[bytes, str | None] | None:
        """An archived payload's bytes and the URL they came from (once a record in a
        reparse: on the driver, store/sql.py)."""
        with self.db.tx() as conn:
            found = self._sql.one(conn, "raw_get", {"sha": sha256})
        if found is None:
            return None
        return zstandard.ZstdDecompressor().decompress(found[0]), found[1]

    def newest_registry_versions(self, registry: Sequence[str], day: str | None = None) -> list[VersionRef]:
        """Per record, the newest version from ``registry`` (the registry's sources in rank
        order: by valid_from; on a tie the later source, then the higher number), or the
        one current on ``day``; rows of (registry_id, source, version, valid_from),
        ordered by registry id. All at once: :meth:`newest_registry_pages` for the whole
        registry."""
        return [row for page in self.newest_registry_pages(registry, day) for row in page]

    def newest_registry_pages(self, registry: Sequence[str], day: str | None = None, *,
                              page: int = 2000) -> Iterator[list[VersionRef]]:
        """:meth:`newest_registry_versions` in pages of ``page`` records, each read in a
        transaction of its own: an export of 580,000 records held every row at once."""
        order = registry_order(registry)
        after = ""
        while True:
            ids = select(VERSION.c.registry_id).where(VERSION.c.source.in_(registry),
                                                       VERSION.c.registry_id > after)
            if day is not None:
                ids = ids.where(VERSION.c.valid_from.is_not(None), VERSION.c.valid_from <= day)
            ids = ids.distinct().order_by(VERSION.c.registry_id).limit(page)
            with self.db.tx() as conn:
                wanted = list(conn.execute(ids).scalars())
                if not wanted:
                    return
                query = select(*_REF_COLUMNS).where(VERSION.c.source.in_(registry),
                                                    VERSION.c.registry_id >= wanted[0],
                                                    VERSION.c.registry_id <= wanted[-1])
                if day is not None:
                    query = query.where(VERSION.c.valid_from.is_not(None), VERSION.c.valid_from <= day)
                newest: dict[str, tuple[tuple[str, int, int], VersionRef]] = {}
                for found in conn.execute(query):
                    row = VersionRef._make(found)
                    key = order(row)
                    if row.registry_id not in newest or key > newest[row.registry_id][0]:
                        newest[row.registry_id] = (key, row)
            yield [newest[rid][1] for rid in sorted(newest)]
            after = wanted[-1]

    def count_newest(self, registry: Sequence[str], day: str | None = None) -> int:
        """How many records :meth:`newest_registry_versions` gives."""
        ids = select(VERSION.c.registry_id).where(VERSION.c.source.in_(registry))
        if day is not None:
            ids = ids.where(VERSION.c.valid_from.is_not(None), VERSION.c.valid_from <= day)
        with self.db.tx() as conn:
            return int(conn.execute(select(func.count()).select_from(ids.distinct().subquery())).scalar_one())

    def records(self, rows: list[VersionRef], batch: int = 500) -> Iterator[tuple[VersionRef, str]]:
        """(row, record JSON as stored) for version rows of (registry_id, source, version)."""
        for start in range(0, len(rows), batch):
            chunk = rows[start:start + batch]
            keys = {(r.registry_id, r.source, r.version): r for r in chunk}
            with self.db.tx() as conn:  # exactly these versions: not every version of the records
                found = {(x[0], x[1], x[2]): x[3] for x in conn.execute(*self._records_query(list(keys)))}
            for key, row in keys.items():
                yield row, found[key]

    def _records_query(self, keys: list[tuple[str, str, int]]) -> tuple[Any, ...]:
        if self.db.is_postgres:
            # A row-value IN of 500 keys is one index scan filtering every entry against
            # all of them on PostgreSQL (346 ms a batch at 40k versions); joined from
            # arrays, it is 500 key lookups (or a hash join).
            ids, sources, numbers = (list(column) for column in zip(*keys, strict=True))
            return (text(
                f"SELECT v.registry_id, v.source, v.version, v.record FROM {VERSION.name} v JOIN unnest("
                "CAST(:ids AS text[]), CAST(:sources AS text[]), CAST(:numbers AS integer[])) "
                "AS k(registry_id, source, version) ON v.registry_id = k.registry_id "
                "AND v.source = k.source AND v.version = k.version"),
                {"ids": ids, "sources": sources, "numbers": numbers})
        # SQLite read a row-value IN by scanning the whole table for each batch (an export of
        # 580,000 records: 1,160 scans of it); the keys as the outer loop of a join are 500
        # lookups in the version key's index.
        values = ", ".join(f"(:r{n}, :s{n}, :v{n})" for n in range(len(keys)))
        params = {f"{name}{n}": value for n, key in enumerate(keys) for name, value in zip("rsv", key, strict=True)}
        return (text(
            f"WITH k(registry_id, source, version) AS (VALUES {values}) "
            f"SELECT v.registry_id, v.source, v.version, v.record FROM k CROSS JOIN {VERSION.name} v "
            "ON v.registry_id = k.registry_id AND v.source = k.source AND v.version = k.version"), params)

    def counts(self) -> dict[str, int]:
        with self.db.tx() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                    for t in (RAW, FETCH, VERSION, EVENT)}
