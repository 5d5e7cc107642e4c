"""The one entry point the CLI and the scheduler share: fetch, archive, parse, store.

For each record: validate the id (no request for a bad one), conditional GET
through the shared Http, archive the raw bytes, parse (pure), store in one
transaction. Every attempt that reached the network leaves a fetch-log row.
A failure is a value in the run summary, never an exception that stops the run.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ingest.errors import ParseError, TrialmirrorError
from ingest.http import Http
from ingest.settings import Settings
from ingest.sources import get_source
from ingest.sources.base import Known, Source
from ingest.store import FetchInfo, Store, utcnow


@dataclass
class RecordResult:
    registry_id: str
    source: str
    outcome: str  # new_version | unchanged | not_modified | error
    version: int | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    error: TrialmirrorError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class RunSummary:
    source: str
    results: list[RecordResult] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.outcome for r in self.results)

    @property
    def failures(self) -> list[RecordResult]:
        return [r for r in self.results if not r.ok]


class Ingestor:
    """Holds what a run needs (settings, one Http, one Store); safe to reuse across runs."""

    def __init__(self, settings: Settings, store: Store, http: Http | None = None):
        self.settings = settings
        self.store = store
        self.http = http or Http(settings)

    def run(self, source_name: str, registry_ids: Iterable[str],
            on_result: Callable[[RecordResult], None] | None = None) -> RunSummary:
        source = get_source(source_name)
        summary = RunSummary(source=source.name)
        for registry_id in registry_ids:
            result = self.sync_one(source, registry_id)
            summary.results.append(result)
            if on_result:
                on_result(result)
        return summary

    def sync_one(self, source: Source, registry_id: str) -> RecordResult:
        try:
            registry_id = source.validate_id(registry_id)
        except TrialmirrorError as exc:
            return RecordResult(registry_id, source.name, "error", error=exc)
        started_at, t0 = utcnow(), time.perf_counter()
        etag, last_modified = self.store.last_validators(registry_id, source.name)
        info = FetchInfo(source.name, registry_id, None, started_at, 0.0)
        try:
            info.url = source.url(self.settings, registry_id, self._known(source, registry_id))
            fetched = source.fetch(self.http, self.settings, registry_id, target=info.url,
                                   etag=etag, last_modified=last_modified)
        except TrialmirrorError as exc:
            info.duration_ms = (time.perf_counter() - t0) * 1000
            info.http_status = exc.http_status
            self.store.log_fetch(info, outcome="error", error_family=exc.family, error=str(exc))
            return RecordResult(registry_id, source.name, "error", error=exc)
        info.duration_ms = (time.perf_counter() - t0) * 1000
        info.url, info.http_status, info.attempts = fetched.url, fetched.status, fetched.attempts
        info.etag, info.last_modified = fetched.etag, fetched.last_modified
        if fetched.not_modified:
            version = self.store.log_not_modified(info)
            return RecordResult(registry_id, source.name, "not_modified", version=version)
        return self.ingest_payload(source, registry_id, fetched.body, info,
                                   content_type=fetched.headers.get("content-type"))

    def _known(self, source: Source, registry_id: str) -> Known:
        return Known(registry_id, self.settings.pinned_url(source.name, registry_id),
                     lambda: self.store.brief_title(registry_id))

    def ingest_payload(self, source: Source, registry_id: str, raw: bytes, info: FetchInfo, *,
                       content_type: str | None = None, produced_by: str = "fetch",
                       valid_from: str | None = None) -> RecordResult:
        """Archive, parse, store one payload: the part of a sync after the network
        (a backfill passes the version's date and ``produced_by="backfill"``)."""
        # Archived before parsing; same bytes and parser as the latest version: no parse.
        sha, version = self.store.receive(info, raw, parser_version=source.parser_version,
                                          content_type=content_type)
        if version is not None:
            return RecordResult(registry_id, source.name, "unchanged", version=version)
        try:
            record = parse_safely(source, raw, registry_id, info.url)
        except TrialmirrorError as exc:  # a parse error, or a payload whose shape changed
            self.store.log_fetch(info, outcome="error", error_family=exc.family, error=str(exc),
                                 raw_sha256=sha)
            return RecordResult(registry_id, source.name, "error", error=exc)
        put = self.store.put(record, fetch=info, raw_sha256=sha, parser_version=source.parser_version,
                             produced_by=produced_by, valid_from=valid_from,
                             upstream_version=info.upstream_version)
        return RecordResult(registry_id, source.name, put.outcome, version=put.version,
                            changes=put.changes, events=put.events)


def parse_safely(source: Source, raw: bytes, registry_id: str, url: str | None) -> Any:
    """``source.parse``, with any unexpected exception turned into a ParseError."""
    try:
        return source.parse(raw, registry_id, url=url)
    except TrialmirrorError:
        raise
    except Exception as exc:  # a parser bug must not stop the run: report it as a value
        raise ParseError(f"parser failed: {exc.__class__.__name__}: {exc}", source=source.name,
                         registry_id=registry_id, url=url) from exc


def sync(settings: Settings, source_name: str, registry_ids: Iterable[str], *,
         store: Store | None = None, http: Http | None = None,
         on_result: Callable[[RecordResult], None] | None = None) -> RunSummary:
    """Fetch and store ``registry_ids`` from one source (what ``trialmirror sync`` runs)."""
    own_store = store is None
    store = store or Store(settings.database_url)
    try:
        return Ingestor(settings, store, http).run(source_name, registry_ids, on_result)
    finally:
        if own_store:
            store.close()
