"""Backfill: every published version of a record from ClinicalTrials.gov's record history.

For each record: fetch the version list (logged, archived), then each version
not fetched before, oldest first. Each is archived, parsed and stored exactly
as a live sync stores a capture (one transaction: version if the content
changed, diff against the one before, event, fetch-log row), with
``valid_from`` = the version's date and ``produced_by`` = ``backfill``.

Resumable: a version counts as done once its fetch-log row says it was stored
(or matched the latest version). The first failure stops that record, so the
chain of diffs never skips a version; the next run starts there. A second run
over a complete record fetches the list and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from trialmirror.ingest.errors import TrialmirrorError
from trialmirror.ingest.runs.pipeline import Ingestor, RecordResult, RunSummary
from trialmirror.ingest.sources import ctgov_history as history
from trialmirror.ingest.sources.ctgov_history import HistoryEntry
from trialmirror.store.core import FetchInfo, utcnow

Progress = Callable[[str, int, int], None]  # (registry id, versions done, versions to do)


def backfill(ingestor: Ingestor, registry_ids: Iterable[str], *,
             on_result: Callable[[RecordResult], None] | None = None,
             on_progress: Progress | None = None) -> RunSummary:
    summary = RunSummary(source=history.NAME)
    for registry_id in registry_ids:
        for result in backfill_one(ingestor, registry_id, on_progress):
            summary.results.append(result)
            if on_result:
                on_result(result)
    return summary


def _info(registry_id: str, target: str, upstream: int | None = None) -> FetchInfo:
    return FetchInfo(history.NAME, registry_id, target, utcnow(), 0.0, upstream_version=upstream)


def backfill_one(ingestor: Ingestor, registry_id: str,
                 on_progress: Progress | None = None) -> list[RecordResult]:
    """The results for one record: one per version fetched, or one error."""
    store = ingestor.store
    try:
        registry_id = history.validate_id(registry_id)
    except TrialmirrorError as exc:
        return [RecordResult(registry_id, history.NAME, "error", error=exc)]
    try:
        entries = _version_list(ingestor, registry_id)
    except TrialmirrorError as exc:
        return [RecordResult(registry_id, history.NAME, "error", error=exc)]
    done = store.fetched_upstream_versions(registry_id, history.NAME)
    todo = [e for e in entries if e.version not in done]
    results: list[RecordResult] = []
    for count, entry in enumerate(todo, 1):
        result = _store_version(ingestor, registry_id, entry)
        results.append(result)
        if on_progress:
            on_progress(registry_id, count, len(todo))
        if not result.ok:
            break  # never skip a version: the next run resumes here
    if not results:  # up to date: say so, with the latest version
        latest = store.version(registry_id, history.NAME)
        results.append(RecordResult(registry_id, history.NAME, "unchanged",
                                    version=latest.version if latest else None))
    return results


def _version_list(ingestor: Ingestor, registry_id: str) -> list[HistoryEntry]:
    info = _info(registry_id, history.url(ingestor.settings, registry_id))
    t0 = time.perf_counter()
    try:
        fetched = history.fetch(ingestor.http, ingestor.settings, registry_id)
        info.http_status, info.attempts = fetched.status, fetched.attempts
        sha = ingestor.store.archive(source=history.NAME, registry_id=registry_id, url=fetched.url,
                                     raw=fetched.body, content_type=fetched.headers.get("content-type"))
        entries = history.parse_list(fetched.body, registry_id, url=fetched.url)
    except TrialmirrorError as exc:
        info.duration_ms = (time.perf_counter() - t0) * 1000
        info.http_status = info.http_status or exc.http_status
        ingestor.store.log_fetch(info, outcome="error", error_family=exc.family, error=str(exc))
        raise
    info.duration_ms = (time.perf_counter() - t0) * 1000
    ingestor.store.log_fetch(info, outcome="listed", raw_sha256=sha)
    return entries


def _store_version(ingestor: Ingestor, registry_id: str, entry: HistoryEntry) -> RecordResult:
    store, source = ingestor.store, history.SOURCE
    info = _info(registry_id, history.version_url(ingestor.settings, registry_id, entry.version),
                 entry.version)
    t0 = time.perf_counter()
    try:
        fetched = history.fetch_version(ingestor.http, ingestor.settings, registry_id, entry.version)
    except TrialmirrorError as exc:
        info.duration_ms, info.http_status = (time.perf_counter() - t0) * 1000, exc.http_status
        store.log_fetch(info, outcome="error", error_family=exc.family, error=str(exc))
        return RecordResult(registry_id, source.name, "error", error=exc)
    info.duration_ms = (time.perf_counter() - t0) * 1000
    info.http_status, info.attempts = fetched.status, fetched.attempts
    # From here exactly as a live capture: archive, parse (the canary included), store.
    return ingestor.ingest_payload(source, registry_id, fetched.body, info,
                                   content_type=fetched.headers.get("content-type"),
                                   produced_by="backfill", valid_from=entry.date)
