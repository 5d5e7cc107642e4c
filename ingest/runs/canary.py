"""The canary: is every source still readable? (``trialmirror check``, and the service's
daily check.)

One known record (``TRIALMIRROR_CANARY_ID``, NCT01342250) is fetched from each source
through the shared Http, exactly as a sync would fetch it (the watchlist's or the
settings' pinned URL; a mirror found by the brief title), and parsed. Per source the
report says: reachable (the HTTP outcome), layout recognised, how many fields were
read and which core fields are missing, and the drift flags (``unmapped``). A source
fails when it cannot be reached, says it has no such record (a 404, or a soft 404: a
page that says so), its page or JSON lost what the parser needs (missing labels, a
shape change), or the record lacks a core field (a shape change the parser took
quietly, such as a renamed key).

A probe, not a sync: nothing is archived and no version is stored; every request
leaves its fetch-log row like any other (outcome ``checked`` or ``check_failed``,
which the service's record health leaves aside, and no ETag is sent or kept), and
one log line per source (event ``check``). A payload worth keeping is kept by a sync
of the same source, which archives it before parsing.

A mirror found by the brief title takes the title stored for the record; on a store
without it, the title of the registry's record read in this run (the registry's
sources are checked first), else the registry's record is fetched for it.
A record history is checked on its version list and its first version.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from trialmirror.errors import (
    ConfigError,
    LayoutChangedError,
    NotFoundError,
    ParseError,
    RetryLaterError,
    TrialmirrorError,
)
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.sources import LIVE, REGISTRY, get_source, registry_first
from trialmirror.ingest.sources.base import Capture, Known, Source
from trialmirror.models.record import Record
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo
from trialmirror.urls import masked

log = logging.getLogger("trialmirror")

# Fields every source shows for every record: a record read without one of them means
# the parser no longer finds it (the ctgov parser takes a missing module quietly).
CORE_FIELDS = ("titles.brief", "status.overall", "study_type")
# Filled in by the caller, not read from the payload: not counted as fields read.
_NOT_READ = frozenset({"registry_id", "source", "source_url", "unmapped"})
CHECKED, CHECK_FAILED = "checked", "check_failed"  # fetch-log outcomes of the canary


@dataclass
class SourceCheck:
    """What the canary found on one source."""

    source: str
    label: str
    registry_id: str
    checked_at: str
    url: str | None = None
    http_status: int | None = None
    reachable: bool = False
    layout_recognised: bool | None = None  # None: nothing came to read
    fields_read: int | None = None
    missing: list[str] = field(default_factory=list)  # core fields the record lacks
    drift: list[dict[str, Any]] = field(default_factory=list)  # the record's `unmapped` entries
    failure: str | None = None  # what broke: soft_404, not_found, layout_changed, ...
    reason: str | None = None  # one line saying what broke
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failure is None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "label": self.label, "registry_id": self.registry_id,
                "ok": self.ok, "checked_at": self.checked_at, "url": self.url and masked(self.url),
                "http_status": self.http_status, "reachable": self.reachable,
                "layout_recognised": self.layout_recognised, "fields_read": self.fields_read,
                "missing_fields": self.missing,
                "drift": {"count": len(self.drift), "flags": self.drift},
                "failure": self.failure, "reason": self.reason,
                "duration_ms": round(self.duration_ms, 1)}

    def summary(self) -> dict[str, Any]:
        """What the service state keeps of it (``status`` shows it)."""
        return {"ok": self.ok, "at": self.checked_at, "registry_id": self.registry_id,
                "http_status": self.http_status, "fields_read": self.fields_read,
                "drift": len(self.drift), "failure": self.failure, "reason": self.reason}


@dataclass
class CheckReport:
    registry_id: str
    checked_at: str
    sources: list[SourceCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.sources)

    @property
    def failures(self) -> list[SourceCheck]:
        return [s for s in self.sources if not s.ok]

    def as_dict(self) -> dict[str, Any]:
        return {"registry_id": self.registry_id, "checked_at": self.checked_at, "ok": self.ok,
                "sources": [s.as_dict() for s in self.sources]}


def what_broke(exc: TrialmirrorError, label: str, http_status: int | None = None) -> tuple[str, str]:
    """The failure's kind and its one line, from the error a fetch or a parse raised
    (``http_status``: the status of the payload it was reading, if any)."""
    if isinstance(exc, NotFoundError):
        if exc.http_status is not None:
            return "not_found", exc.reason if exc.reason.startswith("not found") else f"not found: {exc.reason}"
        return "soft_404", f"soft 404: HTTP {http_status or 200}, but {exc.reason}"
    if isinstance(exc, LayoutChangedError):
        return "layout_changed", f"layout changed: {exc.reason}"
    if isinstance(exc, ParseError) or (isinstance(exc, RetryLaterError) and exc.http_status is not None
                                       and exc.http_status < 300):  # an answer, unreadable each time
        return "parse_error", f"shape change, the payload cannot be read: {exc.reason}"
    if isinstance(exc, RetryLaterError) and exc.http_status is None:
        return "unreachable", f"unreachable: {exc.reason}"
    if isinstance(exc, ConfigError):
        return "config", exc.reason
    if exc.http_status is not None:
        return "http_error", f"{label} answered: {exc.reason}"
    return "give_up", exc.reason


def leaves(value: Any) -> int:
    """How many non-null scalar values ``value`` holds (a record's fields read)."""
    if isinstance(value, dict):
        return sum(leaves(v) for v in value.values())
    if isinstance(value, list):
        return sum(leaves(v) for v in value)
    return 0 if value is None else 1


def _get(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def read_record(check: SourceCheck, record: Record) -> None:
    """Fill in what the record says: fields read, core fields missing, drift flags."""
    data = record.model_dump(mode="json")
    check.layout_recognised = True
    check.fields_read = leaves({k: v for k, v in data.items() if k not in _NOT_READ})
    check.missing = [path for path in CORE_FIELDS if _get(data, path) is None]
    check.drift = list(data.get("unmapped") or [])
    if check.missing:
        check.failure = "missing_fields"
        check.reason = (f"shape change: the record read has no {', '.join(check.missing)} "
                        f"({check.fields_read} fields read)")


class Canary:
    """Checks sources on one known record, with what a sync of ``ingestor`` would use (its
    settings, store, Http and pinned URLs); safe to reuse (each run starts afresh)."""

    def __init__(self, ingestor: Ingestor):
        self.ingestor = ingestor
        self.settings, self.store, self.http = ingestor.settings, ingestor.store, ingestor.http
        self._titles: dict[str, str | None] = {}  # registry id -> the registry's title, this run
        self._title_failure: dict[str, str] = {}
        self._asked_title = False

    def run(self, sources: list[str], registry_id: str | None = None, *,
            should_stop: Callable[[], bool] | None = None) -> CheckReport:
        """Check each source (the registry's first: mirrors need its title)."""
        registry_id = registry_id or self.settings.canary_id
        self._titles, self._title_failure = {}, {}
        report = CheckReport(registry_id, utcnow().isoformat())
        for name in registry_first(sources):
            if should_stop and should_stop():
                break
            check, record = self.check(get_source(name), registry_id)
            if name == LIVE:
                self._remember_title(check, record)
            _log(check)
            report.sources.append(check)
        return report

    def check(self, source: Source, registry_id: str) -> tuple[SourceCheck, Record | None]:
        """One source: its check, and the record read (None when it failed before one)."""
        check = SourceCheck(source.name, source.label, registry_id, utcnow().isoformat())
        self._asked_title = False  # whether this source looked for the title
        t0 = time.perf_counter()
        record = None
        try:
            check.registry_id = registry_id = source.validate_id(registry_id)
            record = self._first_record(source, registry_id, check)
            read_record(check, record)
        except TrialmirrorError as exc:
            check.failure, check.reason = what_broke(exc, source.label, check.http_status)
            if isinstance(exc, (LayoutChangedError, ParseError)) or check.failure in ("soft_404", "parse_error"):
                check.layout_recognised = False
            if isinstance(exc, ConfigError) and registry_id in self._title_failure and self._asked_title:
                # A mirror found by the registry's title, which could not be read: blocked by
                # the registry's failure, not misconfigured.
                check.failure = "blocked"
                check.reason = (f"needs the record's title from ClinicalTrials.gov, which was not read "
                                f"({self._title_failure[registry_id]})")
            if exc.url and check.reason and exc.url not in check.reason:
                check.reason += f" ({exc.url})"
            check.reason = check.reason and masked(check.reason)  # shown by check and status
        check.duration_ms = (time.perf_counter() - t0) * 1000
        return check, record

    def _first_record(self, source: Source, registry_id: str, check: SourceCheck) -> Record:
        """Fetch until the first capture that is a record (a history lists its versions
        first), and parse it; every fetch logged."""
        captures = source.captures(self.http, self.settings, self._known(source, registry_id))
        try:
            while (fetched := self._next(source, registry_id, captures, check)) is not None:
                capture, info = fetched
                if capture.listing:
                    self._log_fetch(info, capture.error)
                    if capture.error is not None:
                        raise capture.error
                    continue
                try:
                    # Read as a sync keeps it: with personal contacts left out, its drift
                    # flags (which `check --json` prints) do not show them either.
                    record: Record = self.ingestor.keeping.parse(source, capture.raw, registry_id,
                                                                 capture.url)
                except TrialmirrorError as exc:
                    self._log_fetch(info, exc)
                    raise
                self._log_fetch(info, None)
                return record
        finally:
            close = getattr(captures, "close", None)
            if close is not None:
                close()  # the rest of a history's versions is not fetched
        raise LayoutChangedError("the source gave nothing to read (an empty version list?)",
                                 source=source.name, registry_id=registry_id)

    def _next(self, source: Source, registry_id: str, captures: Iterator[Capture],
              check: SourceCheck) -> tuple[Capture, FetchInfo] | None:
        """The next capture with its fetch-log facts; a failed fetch is logged and raised."""
        info = FetchInfo(source.name, registry_id, None, utcnow(), 0.0)
        t0 = time.perf_counter()
        try:
            capture = next(captures, None)
        except TrialmirrorError as exc:
            info.duration_ms = (time.perf_counter() - t0) * 1000
            info.http_status, info.url, info.attempts = exc.http_status, exc.url, exc.attempts
            check.http_status, check.url = exc.http_status, exc.url or check.url
            check.reachable = False
            self._log_fetch(info, exc)
            raise
        info.duration_ms = (time.perf_counter() - t0) * 1000
        if capture is None:
            return None
        info.url, info.http_status, info.attempts = capture.url, capture.http_status, capture.attempts
        info.upstream_version = capture.upstream_version
        check.url, check.http_status, check.reachable = capture.url, capture.http_status, True
        return capture, info

    def _log_fetch(self, info: FetchInfo, error: TrialmirrorError | None) -> None:
        if error is None:
            self.store.log_fetch(info, outcome=CHECKED)
        else:
            self.store.log_fetch(info, outcome=CHECK_FAILED, error_family=error.family, error=str(error))

    def _known(self, source: Source, registry_id: str) -> Known:
        """What a sync would know, less the validators (a 304 would leave nothing to read)
        and the versions stored (a history's first version is read)."""
        return Known(registry_id, self.ingestor.pinned_url(source.name, registry_id),
                     lambda: self._title(registry_id))

    def _title(self, registry_id: str) -> str | None:
        """The stored brief title; else the registry's, read in this run or read now."""
        stored = self.store.brief_title(registry_id, REGISTRY)
        if stored:
            return stored
        if registry_id not in self._titles and registry_id not in self._title_failure:
            self._remember_title(*self.check(get_source(LIVE), registry_id))
        self._asked_title = True  # after the registry's own check, which starts afresh
        return self._titles.get(registry_id)

    def _remember_title(self, check: SourceCheck, record: Record | None) -> None:
        """The registry's title read in this run, or why there is none (asked once a run)."""
        title = record.titles.brief if record is not None and record.titles is not None else None
        if title:
            self._titles[check.registry_id] = title
        else:
            self._title_failure[check.registry_id] = check.reason or "it has no brief title"


def _log(check: SourceCheck) -> None:
    """One structured log line per source checked."""
    level = logging.INFO if check.ok else logging.WARNING
    if not log.isEnabledFor(level):
        return
    fields = {"event": "check", "source": check.source, "registry_id": check.registry_id,
              "outcome": "ok" if check.ok else "failed", "http_status": check.http_status,
              "fields_read": check.fields_read, "drift": len(check.drift),
              "duration_ms": round(check.duration_ms, 1), "failure": check.failure,
              "error": check.reason}
    log.log(level, "check %s %s: %s", check.source, check.registry_id,
            "ok" if check.ok else check.reason, extra={"fields": fields})
