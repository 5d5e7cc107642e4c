"""The write path: raw archive, fetch log, versions with diffs, their events.

One transaction per record (:meth:`Writer.put`). On PostgreSQL a writer takes a
transaction-scoped advisory lock on the record before it reads the latest
version, so version numbers never race (SQLite: BEGIN IMMEDIATE, one writer at
a time). The per-record statements run on the driver's cursor (``store/sql.py``).
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from typing import Any

import orjson
import zstandard
from pydantic import TypeAdapter
from sqlalchemy import Connection

from trialmirror.models import reporting
from trialmirror.models.record import Record
from trialmirror.store import search
from trialmirror.store.canonical import content_hash, content_of
from trialmirror.store.diff import diff
from trialmirror.store.engine import RECORD_LOCK, Database, dumps, utcnow
from trialmirror.store.events import Events, milestone_events, overdue_news, results_of, version_event
from trialmirror.store.rows import FetchInfo, PutResult
from trialmirror.store.sql import HotSql

_LOCAL = threading.local()  # a ZstdCompressor is not thread-safe (concurrent use crashes)
_RECORD = TypeAdapter(Record)


def _compressor() -> zstandard.ZstdCompressor:
    """This thread's compressor of raw payloads (PostgreSQL stores a page in threads)."""
    compressor = getattr(_LOCAL, "compressor", None)
    if compressor is None:  # level 1: 0.26 of the raw JSON; level 3 buys 0.01
        compressor = _LOCAL.compressor = zstandard.ZstdCompressor(level=1)
    return compressor


class Writer:
    """Everything a fetch, a backfill or a reparse writes."""

    def __init__(self, db: Database, sql: HotSql, events: Events):
        self.db, self._sql, self._events = db, sql, events

    def archive(self, *, source: str, registry_id: str, url: str | None, raw: bytes,
                content_type: str | None = None) -> str:
        """Keep the raw bytes (before any parsing); returns their sha256. Idempotent."""
        with self.db.tx() as conn:
            return self._archive(conn, source, registry_id, url, raw, content_type)

    def _archive(self, conn: Connection, source: str, registry_id: str, url: str | None, raw: bytes,
                 content_type: str | None, sha: str | None = None) -> str:
        sha = sha or hashlib.sha256(raw).hexdigest()
        # ON CONFLICT DO NOTHING: the same bytes may be archived already (A -> B -> A)
        # or by a concurrent writer.
        self._sql.run(conn, "raw_insert", {
            "sha256": sha, "source": source, "registry_id": registry_id, "url": url,
            "content_type": content_type, "size": len(raw), "compression": "zstd",
            "data": _compressor().compress(raw), "first_seen_at": self._sql.time(utcnow())})
        return sha

    def log_not_modified(self, info: FetchInfo) -> int | None:
        """Log a 304 against the latest version (one transaction); returns its number."""
        with self.db.tx() as conn:
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
        with self.db.tx() as conn:
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
                  version: int | None = None, conn: Connection | None = None) -> None:
        row = self._fetch_row(info, outcome, error_family, error, raw_sha256, version)
        if conn is not None:
            self._sql.run(conn, "fetch_insert", row)
            return
        with self.db.tx() as own:
            self._sql.run(own, "fetch_insert", row)

    def put(self, record: Record | str, *, fetch: FetchInfo | None, raw_sha256: str | None,
            parser_version: int = 1, produced_by: str = "fetch",
            valid_from: str | None = None, observed_at: datetime | None = None,
            upstream_version: int | None = None, searchable: bool = False) -> PutResult:
        """Store ``record`` (a Record, or its JSON from ``model_dump_json``) as a new
        version if its content changed, with its diff, events (the version's, then its
        milestones: results posted, annotated, overdue) and fetch-log row: one transaction.
        ``searchable``: a registry record, kept in the search index."""
        observed_at = observed_at or utcnow()
        # JSON bytes made in Rust, read back by orjson: five times faster than
        # model_dump(mode="json"); bytes, not model_dump_json's str, which orjson must
        # encode again (a third of the round trip for the whole record).
        raw_json = _RECORD.dump_json(record) if isinstance(record, Record) else record.encode()
        data = orjson.loads(raw_json)
        record_json = raw_json.decode()
        digest = content_hash(data, sort_in_place=True)  # data is ours; the diff ignores order
        for attempt in range(3):
            try:
                with self.db.tx() as conn:
                    result = self._put(conn, data, record_json, digest, raw_sha256, parser_version,
                                       produced_by, valid_from, observed_at, upstream_version, searchable)
                    if fetch is not None:
                        self.log_fetch(fetch, outcome=result.outcome, raw_sha256=raw_sha256,
                                       version=result.version, conn=conn)
                    return result
            except self.db.integrity_errors:
                if attempt == 2:
                    raise  # a concurrent writer keeps winning the same version number
        raise AssertionError("unreachable")

    def _put(self, conn: Connection, data: dict[str, Any], record_json: str, digest: str,
             raw_sha256: str | None, parser_version: int, produced_by: str,
             valid_from: str | None, observed_at: datetime, upstream_version: int | None,
             searchable: bool) -> PutResult:
        registry_id, source = data["registry_id"], data["source"]
        if self.db.is_postgres:  # one writer per record at a time: read latest, then write it
            self._sql.run(conn, "record_lock", {"k": RECORD_LOCK, "rid": registry_id, "src": source})
        latest = self._sql.one(conn, "latest", {"rid": registry_id, "src": source})
        if latest is not None and latest[1] == digest:
            return PutResult("unchanged", latest[0], digest)
        number = 1 if latest is None else latest[0] + 1
        before = None if latest is None else orjson.loads(latest[2])
        changes = [] if before is None else diff(content_of(before), content_of(data))
        status = (data.get("status") or {}).get("overall")
        self._sql.run(conn, "version_insert", {
            "registry_id": registry_id, "source": source, "version": number,
            "content_hash": digest, "overall_status": status,
            "observed_at": self._sql.time(observed_at),
            "valid_from": valid_from or data.get("source_version_date"), "raw_sha256": raw_sha256,
            "parser_version": parser_version, "produced_by": produced_by,
            "upstream_version": upstream_version, "record": record_json,
            "diff": dumps(changes) if latest is not None else None})
        if data.get("unmapped"):  # rare: a version the drift policy flagged
            when = self._sql.time(observed_at)
            for flag in data["unmapped"]:
                self._sql.run(conn, "drift_insert", {
                    "registry_id": registry_id, "source": source, "version": number,
                    "path": flag["path"], "value": flag["value"], "action": flag["action"],
                    "observed_at": when})
        if searchable:  # the index moves with the version, or not at all
            search.index(conn, self.db.is_postgres, data, source, number,
                         valid_from or data.get("source_version_date"),
                         observed_on=observed_at.date().isoformat(), produced_by=produced_by)
        events = [version_event(registry_id, source, status, number, before is None, changes,
                                produced_by, results_of(data))]
        if before is not None:
            events += milestone_events(registry_id, source, number, before, data, produced_by)
            if searchable:  # a registry record's results now overdue (when the registry said it)
                on = reporting.day_of(valid_from or data.get("source_version_date")) or observed_at.date()
                events += overdue_news(registry_id, source, number, before, data, produced_by, on)
        events = self._events.append_version(conn, events, observed_at)
        return PutResult("new_version", number, digest, changes, events)

    def mark_parsed(self, registry_id: str, source: str, version: int, parser_version: int) -> None:
        """A newer parser gave the same record: the version is its output now too."""
        with self.db.tx() as conn:  # once a record in a reparse: on the driver (store/sql.py)
            self._sql.run(conn, "mark_parsed", {"pv": parser_version, "rid": registry_id, "src": source,
                                                "v": version})
