"""Bulk sync: all of ClinicalTrials.gov (or a search), paged, resumable, incremental.

The pages come from the source's search (:mod:`trialmirror.ingest.sources.ctgov.search`:
sorted by LastUpdatePostDate, a ``query.term`` for a search, a date range for an
incremental run or a slice, ``pageToken`` for the next page). One page is in memory
at a time; each study in it is archived, parsed and stored like a single-record sync, the
page's archive in one commit, then its records in another (on SQLite; Store.batch).

- Checkpoint (``sync_checkpoint``): saved only after its page is stored. A run
  that stops resumes at the saved page token; when the registry refuses the token
  (tokens do not last, see REGISTRY-NOTES.md), it restarts from the date
  checkpoint: the newest LastUpdatePostDate stored (pages are sorted by it), with
  that day repeated (unchanged records add no version).
- Incremental: from the start of the last finished run, minus an overlap window.
- A page that is exactly full still has a ``nextPageToken`` leading to an empty
  page: an empty ``studies`` list ends the run.
- Completeness (full loads): stored records against ``totalCount``; records that
  failed are listed; stored records the registry no longer lists get a
  ``vanished`` event; a record whose ``nctIdAliases`` names a stored record gives
  that one a ``merged`` event. Neither is ever silently kept as current.
- Any run (full, incremental, a search, a slice) that lists a record marked
  vanished again gives it a ``reappeared`` event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from trialmirror.errors import TrialmirrorError
from trialmirror.ingest.runs.pipeline import Ingestor, Payload, RecordResult, log_result, timed
from trialmirror.ingest.sources import ctgov
from trialmirror.ingest.sources.ctgov import search
from trialmirror.store.checkpoints import Checkpoints
from trialmirror.store.engine import as_utc, utcnow
from trialmirror.store.rows import CheckpointRow, FetchInfo

OVERLAP = timedelta(days=2)
SOURCE = ctgov.SOURCE  # the registry whose search this pages through


@dataclass
class BulkResult:
    name: str
    since: str | None
    source: str = SOURCE.name
    pages: int = 0
    records: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    failed: list[RecordResult] = field(default_factory=list)
    total_count: int | None = None
    stored: int | None = None  # full loads: records stored and seen in this run
    vanished: list[str] = field(default_factory=list)
    reappeared: list[str] = field(default_factory=list)
    merged: list[tuple[str, str]] = field(default_factory=list)  # (alias, into)
    resumed: bool = False
    stopped: bool = False
    more: bool = False  # stopped at max_pages with pages left

    @property
    def complete(self) -> bool:
        """Nothing failed, and (full loads) the registry's count is all stored."""
        short = self.total_count is not None and self.stored is not None and self.stored < self.total_count
        return not self.failed and not short and not self.stopped and not self.more


def year_windows(first: int = 2000, last: int | None = None) -> list[tuple[str, str]]:
    """LastUpdatePostDate slices for a distributed full load: before ``first``, each
    year, and from this year on."""
    last = last or utcnow().year
    windows = [("MIN", f"{first - 1}-12-31")]
    windows += [(f"{y}-01-01", f"{y}-12-31") for y in range(first, last)]
    return windows + [(f"{last}-01-01", "MAX")]


def checkpoint_name(query: str | None) -> str:
    return f"query:{query}" if query else "all"


class BulkSync:
    def __init__(self, ingestor: Ingestor, *, query: str | None = None, incremental: bool = False,
                 page_size: int | None = None, overlap: timedelta = OVERLAP,
                 on_page: Callable[[BulkResult], None] | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 window: tuple[str, str] | None = None, max_pages: int | None = None,
                 done_since: datetime | None = None):
        self.ingestor, self.store = ingestor, ingestor.store
        self.query, self.incremental, self.overlap = query, incremental, overlap
        self.page_size = page_size or ingestor.settings.bulk_page_size
        # A date window (distributed loads: one page chain per slice of LastUpdatePostDate).
        self.window, self.max_pages, self.done_since = window, max_pages, done_since
        self.name = checkpoint_name(query) + (f"[{window[0]}..{window[1]}]" if window else "")
        self.on_page, self.should_stop = on_page, should_stop

    # --- the checkpoint -----------------------------------------------------

    def _load(self) -> CheckpointRow | None:
        return Checkpoints(self.store).load(self.name)

    def _save(self, **values: Any) -> None:
        Checkpoints(self.store).save(self.name, **values)

    # --- the run --------------------------------------------------------------

    def run(self) -> BulkResult:
        cp = self._load()
        if (cp is not None and cp.status == "done" and self.done_since is not None
                and cp.last_started_at is not None and as_utc(cp.last_started_at) >= self.done_since):
            return BulkResult(self.name, cp.since, pages=cp.pages, records=cp.records)  # done already
        if cp is not None and cp.status == "running":  # an interrupted run: resume it
            result = BulkResult(self.name, cp.since, pages=cp.pages, records=cp.records,
                                total_count=cp.total_count, resumed=True)
            token, started, full = cp.page_token, cp.started_at, cp.full
        else:
            since = self.window[0] if self.window and self.window[0] != "MIN" else None
            if self.incremental and cp is not None and cp.last_started_at is not None:
                since = (cp.last_started_at - self.overlap).date().isoformat()
            result = BulkResult(self.name, since)
            full = since is None and self.query is None and self.window is None
            token, started = None, utcnow()
            self._save(status="running", since=since, page_token=None, resume_date=None, pages=0,
                       records=0, total_count=None, started_at=started, finished_at=None, full=full)
        done_here = 0
        while not (self.should_stop and self.should_stop()):
            if self.max_pages is not None and done_here >= self.max_pages:
                result.more = True  # the caller goes on later (the checkpoint says where)
                return result
            done_here += 1
            page = self._page(result.since, token)
            if page is None:  # the registry refused the token: go on from the date checkpoint
                result.since, token = self._date_checkpoint(), None
                continue
            if result.total_count is None:
                result.total_count = page.total_count
            if not page.studies:
                break  # also the empty page after an exactly full last page
            newest = self._store_page(page, result)
            token = page.next_token
            result.pages += 1
            self._save(page_token=token, resume_date=newest, pages=result.pages, records=result.records,
                       total_count=result.total_count)
            if self.on_page:
                self.on_page(result)
            if not token:
                break
        else:
            result.stopped = True
            return result
        self._reappeared(result, started)
        if full:
            self._completeness(result, started)
        self._save(status="done", finished_at=utcnow(), last_started_at=started, page_token=None)
        return result

    def _page(self, since: str | None, token: str | None) -> search.Page | None:
        """The page, or None when the registry refused its token."""
        url = search.page_url(self.ingestor.settings, page_size=self.page_size, query=self.query, since=since,
                              until=self.window[1] if self.window else None, token=token)
        info = FetchInfo(SOURCE.name, self.name[:64], url, utcnow(), 0.0)
        try:
            page = timed(self.store, info, lambda: search.fetch_page(self.ingestor.http, url))
        except TrialmirrorError as exc:
            if token and search.token_refused(exc):
                return None
            raise
        info.http_status, info.attempts = page.http_status, page.attempts
        self.store.log_fetch(info, outcome="listed")
        return page

    def _date_checkpoint(self) -> str | None:
        """The newest LastUpdatePostDate stored (that day is fetched again: unchanged
        records add no version), saved as where the run goes on from."""
        cp = self._load()
        assert cp is not None  # the run saved it before its first page
        since = cp.resume_date or cp.since
        self._save(since=since, page_token=None)
        return since

    def _store_page(self, page: search.Page, result: BulkResult) -> str | None:
        # Each study becomes its bytes and the page's dicts go as it does: the parsed page
        # (several times its 20 MB of JSON) is not held while its records are stored.
        studies, page.studies = page.studies, []
        payloads, facts = [], []
        for n, study in enumerate(studies):
            studies[n] = None
            # A study that names no id is still archived and reported, under its place.
            rid = search.study_id(study) or f"page {result.pages + 1} item {n + 1}"
            info = FetchInfo(SOURCE.name, rid, page.url, utcnow(), 0.0, http_status=200)
            payloads.append(Payload(rid, search.study_bytes(study), info))
            facts.append((search.aliases(study), search.last_update(study)))
        del studies
        newest = None
        outcomes = self.ingestor.ingest_payloads(SOURCE, payloads)
        with self.store.batch():
            for (aliases, date), outcome in zip(facts, outcomes, strict=True):
                log_result(outcome)
                result.records += 1
                result.outcomes[outcome.outcome] = result.outcomes.get(outcome.outcome, 0) + 1
                if not outcome.ok:
                    result.failed.append(outcome)
                for alias in aliases:
                    if self.store.note_event(alias, SOURCE.name, "merged", {"into": outcome.registry_id}):
                        result.merged.append((alias, outcome.registry_id))
                if date is not None and (newest is None or date > newest):
                    newest = date
        return newest

    def _reappeared(self, result: BulkResult, started: datetime) -> None:
        """Records marked vanished that this run listed (and stored) again."""
        marked = self.store.vanished(SOURCE.name)
        for start in range(0, len(marked), 500):
            listed = self.store.stored_since(SOURCE.name, started, marked[start:start + 500])
            for rid in sorted(listed):
                if self.store.note_event(rid, SOURCE.name, "reappeared", {"since": started.date().isoformat()}):
                    result.reappeared.append(rid)

    def _completeness(self, result: BulkResult, started: datetime) -> None:
        """After a full load: what was stored against the registry's count, and the
        stored records it no longer lists."""
        result.stored, gone = self.store.coverage_since(SOURCE.name, started)
        for rid in sorted(gone):
            if self.store.note_event(rid, SOURCE.name, "vanished", {"since": started.date().isoformat()}):
                result.vanished.append(rid)


def finish_slices(ingestor: Ingestor, started: datetime, windows: int) -> BulkResult | None:
    """When every date slice of a distributed full load started at ``started`` is done:
    the completeness check, and the ``all`` checkpoint that incremental runs start from.
    Returns its result then, None while slices remain (or when another did it)."""
    sync = BulkSync(ingestor)
    done, records = Checkpoints(ingestor.store).slices_since("all[", started)
    cp = sync._load()
    if done < windows or (cp is not None and cp.last_started_at is not None
                          and as_utc(cp.last_started_at) >= started):
        return None
    result = BulkResult("all", None, records=int(records))
    sync._completeness(result, started)
    result.total_count = result.stored  # per slice counts differ; the stored ones are the registry's
    sync._save(status="done", full=True, since=None, page_token=None, started_at=started,
               finished_at=utcnow(), last_started_at=started, records=int(records))
    return result


def bulk_sync(ingestor: Ingestor, **kwargs: Any) -> BulkResult:
    """Run a bulk sync to its end (see :class:`BulkSync`)."""
    return BulkSync(ingestor, **kwargs).run()
