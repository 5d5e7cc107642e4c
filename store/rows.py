"""The typed rows that cross the store's boundary, defined in one place.

Rows read back are NamedTuples: as cheap to build as the driver's tuples, read
by attribute (``row.registry_id``) or position. A row of a whole table has the
table's columns in the table's order (``models/tables.py``); the queries select
the columns by these field names, so a field the table lacks fails at import.
What callers hand the write path (:class:`FetchInfo`) and what it answers
(:class:`PutResult`) are dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from trialmirror.store.diff import Change


class VersionRow(NamedTuple):
    """A stored version (table ``version``), its record and diff as stored JSON."""

    id: int
    registry_id: str
    source: str
    version: int
    content_hash: str
    overall_status: str | None
    observed_at: datetime
    valid_from: str | None
    raw_sha256: str | None
    parser_version: int
    produced_by: str
    upstream_version: int | None
    record: str
    diff: str | None


class VersionMeta(NamedTuple):
    """A version without its record and diff (metadata for exports)."""

    id: int
    registry_id: str
    source: str
    version: int
    content_hash: str
    overall_status: str | None
    observed_at: datetime
    valid_from: str | None
    raw_sha256: str | None
    parser_version: int
    produced_by: str
    upstream_version: int | None


class VersionRef(NamedTuple):
    """Which version of a record, and from when (exports, the search index)."""

    registry_id: str
    source: str
    version: int
    valid_from: str | None


class VersionHead(NamedTuple):
    """A record's latest version as reparse needs it: what it was parsed from, and by which parser."""

    registry_id: str
    source: str
    version: int
    raw_sha256: str | None
    parser_version: int
    valid_from: str | None
    upstream_version: int | None


class FetchRow(NamedTuple):
    """One fetch attempt (table ``fetch``)."""

    id: int
    source: str
    registry_id: str
    url: str | None
    started_at: datetime
    duration_ms: float
    outcome: str
    http_status: int | None
    attempts: int | None
    error_family: str | None
    error: str | None
    raw_sha256: str | None
    version: int | None
    upstream_version: int | None
    etag: str | None
    last_modified: str | None


class EventRow(NamedTuple):
    """One event (table ``event``); ``data`` is its JSON details."""

    seq: int
    registry_id: str
    source: str
    version: int
    kind: str
    occurred_at: datetime
    data: str | None


class WatchRow(NamedTuple):
    """One watched (record, source) (table ``watch``)."""

    id: int
    registry_id: str
    source: str
    pinned_url: str | None
    added_at: datetime


class DeliveryRow(NamedTuple):
    """One attempt to deliver one event to one target (table ``delivery``)."""

    id: int
    target: str
    seq: int
    attempt: int
    at: datetime
    outcome: str
    http_status: int | None
    error: str | None
    duration_ms: float | None


class CheckpointRow(NamedTuple):
    """Where a bulk sync stands (table ``sync_checkpoint``)."""

    name: str
    status: str
    full: bool
    since: str | None
    page_token: str | None
    resume_date: str | None
    pages: int
    records: int
    total_count: int | None
    started_at: datetime
    finished_at: datetime | None
    last_started_at: datetime | None


@dataclass
class Health:
    """How fetching one watched record from one source goes."""

    source: str
    registry_id: str
    last_success: datetime | None
    last_failure: datetime | None
    last_error: str | None
    last_error_family: str | None
    consecutive_failures: int
    # The earliest attempt logged, success or not: a record that never succeeded has been
    # failing since then, even when it was removed and watched again later.
    first_attempt: datetime | None = None


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


class DriftRow(NamedTuple):
    """One flagged (source, path, action, value) across the store (``trialmirror drift``)."""

    source: str
    path: str
    action: str
    value: str
    records: int
    versions: int
    first_seen: datetime
    last_seen: datetime
    example: str  # one record that carries it (the lowest id), to look at
