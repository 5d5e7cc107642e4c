"""The one loop every source runs through, shared by the CLI, the scheduler and the workers.

For each record: claim it (when the caller shares the work), validate the id (no
request for a bad one), then for each capture the source yields (one page; or a
history's version list, then its versions): archive the raw bytes, parse (pure),
store in one transaction. What is archived and stored passes :class:`Keeping` first
(the deployment's choice about personal contact details), for every source and run. Every attempt that reached the network leaves one
fetch-log row with its outcome and timing (:func:`timed`, which bulk sync uses
too). The first failure stops the record (a history never skips a version). A
failure is a value in the run summary, never an exception that stops the run.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from trialmirror.errors import ParseError, TrialmirrorError
from trialmirror.ingest.http import Http
from trialmirror.ingest.parsing.personal import without_personal_details
from trialmirror.ingest.runs import writers as threads
from trialmirror.ingest.sources import REGISTRY, get_source
from trialmirror.ingest.sources.base import Capture, Known, Source
from trialmirror.models.personal import without_personal_contacts
from trialmirror.models.record import Record
from trialmirror.settings import Settings
from trialmirror.store import Store
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo

log = logging.getLogger("trialmirror")
log.addHandler(logging.NullHandler())  # a library: lines show where a command sets up logging
T = TypeVar("T")
Progress = Callable[[str, int, int], None]  # (registry id, captures done, captures to do)


@dataclass
class RecordResult:
    registry_id: str
    source: str
    outcome: str  # new_version | unchanged | not_modified | error
    version: int | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    error: TrialmirrorError | None = None
    fetch: FetchInfo | None = None  # what the fetch-log row says (URL, HTTP status, duration)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class RunSummary:
    source: str
    results: list[RecordResult] = field(default_factory=list)
    skipped: int = 0  # records another service held (scheduled runs)
    listed: bool = False  # a source listed what to fetch (a history): results are versions

    @property
    def counts(self) -> Counter[str]:
        return Counter(r.outcome for r in self.results)

    @property
    def failures(self) -> list[RecordResult]:
        return [r for r in self.results if not r.ok]


@dataclass(frozen=True)
class Keeping:
    """What the store keeps of a payload and of its record: the one place every source's
    capture passes before it is archived and stored, whichever run stores it (a sync, a
    bulk page, a history's versions, a reparse; the canary's probe reads through it too).

    ``personal_contacts`` False (``TRIALMIRROR_PERSONAL_CONTACTS=false``): the raw payload
    loses personal contact details before it is archived (so its sha256 is that of the
    bytes without them), and the record loses them before it is stored.
    """

    personal_contacts: bool = True

    @classmethod
    def of(cls, settings: Settings) -> Keeping:
        return cls(personal_contacts=settings.personal_contacts)

    def payload(self, raw: bytes) -> bytes:
        """The bytes the archive keeps (and the parser reads)."""
        return raw if self.personal_contacts else without_personal_details(raw)

    def record(self, record: Record) -> Record:
        return record if self.personal_contacts else without_personal_contacts(record)

    def parse(self, source: Source, raw: bytes, registry_id: str, url: str | None) -> Record:
        """The record to store from a payload: :func:`parse_safely`, then :meth:`record`."""
        return self.record(parse_safely(source, raw, registry_id, url))


@dataclass(frozen=True)
class Payload:
    """One capture's bytes to ingest, with its fetch-log facts (``valid_from`` and
    ``produced_by``: a history's version's)."""

    registry_id: str
    raw: bytes
    info: FetchInfo
    content_type: str | None = None
    produced_by: str = "fetch"
    valid_from: str | None = None


class Gate(Protocol):
    """Who may fetch a record now (the scheduled service's leases)."""

    def claim(self, source: str, registry_id: str) -> bool: ...

    def release(self, source: str, registry_id: str) -> None: ...


class Ingestor:
    """Holds what a run needs (settings, one Http, one Store); safe to reuse across runs.

    ``pinned`` looks up a pinned page URL for (source, id) (the watchlist's), before
    the ``TRIALMIRROR_PINNED_URLS`` setting.
    """

    def __init__(self, settings: Settings, store: Store, http: Http | None = None,
                 pinned: Callable[[str, str], str | None] | None = None):
        self.settings = settings
        self.store = store
        self.keeping = Keeping.of(settings)
        self.http = http or Http(settings)
        self.pinned = pinned
        self._pool: ThreadPoolExecutor | None = None

    def run(self, source_name: str, registry_ids: Iterable[str],
            on_result: Callable[[RecordResult], None] | None = None, *,
            gate: Gate | None = None, should_stop: Callable[[], bool] | None = None,
            on_progress: Progress | None = None) -> RunSummary:
        """Sync each id in turn; ``should_stop`` is asked between records (a stop
        request finishes the record in hand), ``gate`` before each."""
        source = get_source(source_name)
        summary = RunSummary(source=source.name)
        for registry_id in registry_ids:
            if should_stop and should_stop():
                break
            if gate and not gate.claim(source.name, registry_id):
                summary.skipped += 1
                continue
            try:
                results = self.sync_record(source, registry_id, on_progress, summary)
            finally:
                if gate:
                    gate.release(source.name, registry_id)
            for result in results:
                log_result(result)
                summary.results.append(result)
                if on_result:
                    on_result(result)
        return summary

    def sync_record(self, source: Source, registry_id: str, on_progress: Progress | None = None,
                    summary: RunSummary | None = None) -> list[RecordResult]:
        """One record: a result per capture stored (a history's versions), or one error."""
        try:
            registry_id = source.validate_id(registry_id)
        except TrialmirrorError as exc:
            return [RecordResult(registry_id, source.name, "error", error=exc)]
        captures = source.captures(self.http, self.settings, self._known(source, registry_id))
        results: list[RecordResult] = []
        todo: int | None = None
        for capture, info in self._fetched(source, registry_id, captures):
            if isinstance(capture, TrialmirrorError):
                results.append(RecordResult(registry_id, source.name, "error", error=capture, fetch=info))
            elif capture.listing:
                if summary is not None:
                    summary.listed = True
                todo, error = capture.follow, self._listed(capture, info)
                if error is None:
                    continue
                results.append(RecordResult(registry_id, source.name, "error", error=error, fetch=info))
            else:
                results.append(self._store_capture(source, registry_id, capture, info))
            if on_progress and todo:
                on_progress(registry_id, len(results), todo)
            if not results[-1].ok:
                break  # never skip a version: the next run resumes here
        if not results:  # a listing with nothing new: say so, with the latest version
            latest = self.store.version(registry_id, source.name)
            results.append(RecordResult(registry_id, source.name, "unchanged",
                                        version=latest.version if latest else None))
        return results

    def _fetched(self, source: Source, registry_id: str,
                 captures: Iterator[Capture]) -> Iterator[tuple[Capture | TrialmirrorError, FetchInfo]]:
        """Each capture with its fetch-log facts (URL, status, timing); a failed fetch
        is logged here and comes as its error, the last item."""
        while True:
            info = FetchInfo(source.name, registry_id, None, utcnow(), 0.0)
            try:
                capture = timed(self.store, info, lambda: next(captures, None))
            except TrialmirrorError as exc:
                yield exc, info
                return
            if capture is None:
                return
            info.url, info.http_status, info.attempts = capture.url, capture.http_status, capture.attempts
            info.etag, info.last_modified = capture.etag, capture.last_modified
            info.upstream_version = capture.upstream_version
            yield capture, info

    def _listed(self, capture: Capture, info: FetchInfo) -> TrialmirrorError | None:
        """Archive a listing and log it: ``listed``, or the error that made it unreadable."""
        sha = self.store.archive(source=info.source, registry_id=info.registry_id, url=capture.url,
                                 raw=self.keeping.payload(capture.raw), content_type=capture.content_type)
        error = capture.error
        if error is None:
            self.store.log_fetch(info, outcome="listed", raw_sha256=sha)
        else:
            self.store.log_fetch(info, outcome="error", error_family=error.family, error=str(error),
                                 raw_sha256=sha)
        return error

    def _store_capture(self, source: Source, registry_id: str, capture: Capture,
                       info: FetchInfo) -> RecordResult:
        if capture.not_modified:
            version = self.store.log_not_modified(info)
            return RecordResult(registry_id, source.name, "not_modified", version=version, fetch=info)
        return self.ingest_payload(source, registry_id, capture.raw, info, content_type=capture.content_type,
                                   produced_by=capture.produced_by, valid_from=capture.valid_from)

    def pinned_url(self, source_name: str, registry_id: str) -> str | None:
        """A page's pinned address: the watchlist's, else the ``TRIALMIRROR_PINNED_URLS`` setting's."""
        pinned = self.pinned(source_name, registry_id) if self.pinned else None
        return pinned or self.settings.pinned_url(source_name, registry_id)

    def _known(self, source: Source, registry_id: str) -> Known:
        etag, last_modified = self.store.last_validators(registry_id, source.name)
        return Known(registry_id, self.pinned_url(source.name, registry_id),
                     lambda: self.store.brief_title(registry_id, REGISTRY), etag, last_modified,
                     lambda: self.store.fetched_upstream_versions(registry_id, source.name))

    def ingest_payload(self, source: Source, registry_id: str, raw: bytes, info: FetchInfo, *,
                       content_type: str | None = None, produced_by: str = "fetch",
                       valid_from: str | None = None) -> RecordResult:
        """Archive, parse, store one payload: the part of a sync after the network
        (a history's version passes its date and ``produced_by="backfill"``)."""
        payload = Payload(registry_id, raw, info, content_type, produced_by, valid_from)
        return self.ingest_payloads(source, [payload])[0]

    def ingest_payloads(self, source: Source, payloads: Sequence[Payload]) -> list[RecordResult]:
        """:meth:`ingest_payload` for many (a bulk page): every payload is archived, in one
        commit, before any is parsed; then each is parsed and stored, all in one more commit
        on SQLite (:meth:`Store.batch`), each atomic on its own all the same.

        On PostgreSQL the page is shared among ``settings.writers`` threads (see
        :mod:`~trialmirror.ingest.runs.writers`); a record's payloads stay on one, in the
        page's order. The results come back in the page's order."""
        if self.store.db.in_batch:
            raise RuntimeError("ingest_payloads inside Store.batch would parse before the archive commits")
        writers = threads.count(self.store.is_postgres, self.settings.writers)
        if writers > 1 and len(payloads) > 1 and self._pool is None:  # kept for the Ingestor's life
            self._pool = threads.pool(writers)
        return threads.shared(self._pool, writers, payloads, lambda p: p.registry_id,
                              lambda run: self._ingest_run(source, run))

    def _ingest_run(self, source: Source, payloads: Sequence[Payload]) -> list[RecordResult]:
        kept = [replace(p, raw=self.keeping.payload(p.raw)) for p in payloads]
        batch = self.store.batch if len(kept) > 1 else nullcontext  # one record: its own transactions
        with batch():  # archived before parsing; same bytes and parser as the latest version: no parse
            received = [self.store.receive(p.info, p.raw, parser_version=source.parser_version,
                                           content_type=p.content_type) for p in kept]
        with batch():
            return [self._parse_and_put(source, p, sha, version) for p, (sha, version) in zip(kept, received, strict=True)]

    def _parse_and_put(self, source: Source, p: Payload, sha: str, version: int | None) -> RecordResult:
        if version is not None:
            return RecordResult(p.registry_id, source.name, "unchanged", version=version, fetch=p.info)
        try:
            record = self.keeping.parse(source, p.raw, p.registry_id, p.info.url)
        except TrialmirrorError as exc:  # a parse error, or a payload whose shape changed
            self.store.log_fetch(p.info, outcome="error", error_family=exc.family, error=str(exc),
                                 raw_sha256=sha)
            return RecordResult(p.registry_id, source.name, "error", error=exc, fetch=p.info)
        put = self.store.put(record, fetch=p.info, raw_sha256=sha, parser_version=source.parser_version,
                             produced_by=p.produced_by, valid_from=p.valid_from,
                             upstream_version=p.info.upstream_version, searchable=source.role == "registry")
        return RecordResult(p.registry_id, source.name, put.outcome, version=put.version,
                            changes=put.changes, events=put.events, fetch=p.info)


def timed(store: Store, info: FetchInfo, fetch: Callable[[], T]) -> T:
    """Run one fetch, its duration into ``info``; a failure is logged (its fetch-log
    row, with the status and URL the error names) and raised."""
    t0 = time.perf_counter()
    try:
        value = fetch()
    except TrialmirrorError as exc:
        info.duration_ms = (time.perf_counter() - t0) * 1000
        info.http_status, info.url = exc.http_status, info.url or exc.url
        info.attempts = exc.attempts or info.attempts
        store.log_fetch(info, outcome="error", error_family=exc.family, error=str(exc))
        raise
    info.duration_ms = (time.perf_counter() - t0) * 1000
    return value


def log_result(result: RecordResult) -> None:
    """One structured log line per fetch (the fetch-log row, for people and log shippers)."""
    level = logging.WARNING if result.error else logging.INFO
    if not log.isEnabledFor(level):
        return  # a library call without logging set up: no line to build
    fetch = result.fetch
    fields: dict[str, Any] = {
        "event": "fetch", "source": result.source, "registry_id": result.registry_id,
        "outcome": result.outcome, "version": result.version,
        "http_status": fetch.http_status if fetch else None,
        "duration_ms": round(fetch.duration_ms, 1) if fetch else None,
        "events": [e["kind"] for e in result.events] or None,
    }
    if result.error is not None:
        fields.update(error_family=result.error.family, error=str(result.error))
    log.log(level, "%s %s %s", result.source, result.registry_id, result.outcome,
            extra={"fields": fields})


def log_summary(summary: RunSummary, seconds: float) -> None:
    """One structured log line per run: counts by outcome and failures by family."""
    failures = Counter(r.error.family for r in summary.results if r.error)
    fields = {"event": "run", "source": summary.source, "records": len(summary.results),
              "skipped": summary.skipped, "outcomes": dict(summary.counts),
              "failures": dict(failures), "seconds": round(seconds, 2)}
    log.info("run %s: %s", summary.source,
             ", ".join(f"{n} {k}" for k, n in sorted(summary.counts.items())) or "nothing to do",
             extra={"fields": fields})


def parse_safely(source: Source, raw: bytes, registry_id: str, url: str | None) -> Record:
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
         on_result: Callable[[RecordResult], None] | None = None,
         pinned: Callable[[str, str], str | None] | None = None,
         on_progress: Progress | None = None) -> RunSummary:
    """Fetch and store ``registry_ids`` from one source (what ``trialmirror sync`` runs)."""
    own_store = store is None
    store = store or Store(settings.database_url, search_dir=settings.search_dir)
    try:
        return Ingestor(settings, store, http, pinned).run(source_name, registry_ids, on_result,
                                                           on_progress=on_progress)
    finally:
        if own_store:
            store.close()
