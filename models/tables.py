"""SQLModel tables of the store (kept apart from the plain record contract).

- ``raw_payload``: every payload a source returned, content-addressed by the
  sha256 of its bytes and zstd-compressed, written before it is parsed.
- ``fetch``: one row per fetch attempt with its outcome, HTTP status, error
  family and duration.
- ``version``: each distinct normalized record of a (registry id, source),
  numbered from 1, keyed by its canonical content hash, with the semantic
  diff against the version before it.
- ``drift_flag``: one row per drift flag of a stored version (its ``unmapped``
  entries), so new registry values are countable across the store.
- ``search_doc``, ``search_mesh``, ``search_site``: the search index, one row per
  record (its text and filters), and its MeSH terms and site coordinates.
- ``reporting_period``: the search row's record's results-reporting periods (FDAAA).
- ``event``: append-only, ``seq`` increases monotonically; consumers keep a
  cursor (the change feed, status notifications).
- ``watch``, ``lease``, ``notify_cursor``, ``delivery``, ``store_meta``: the
  scheduled service's state (the watchlist, who fetches what, notification
  cursors and the delivery log).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class RawPayload(SQLModel, table=True):
    __tablename__ = "raw_payload"

    sha256: str = Field(primary_key=True, max_length=64)
    source: str = Field(max_length=32)
    registry_id: str = Field(max_length=64, index=True)
    url: str | None = None
    content_type: str | None = Field(default=None, max_length=128)
    size: int
    compression: str = Field(default="zstd", max_length=16)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    first_seen_at: datetime


class Fetch(SQLModel, table=True):
    __tablename__ = "fetch"
    __table_args__ = (Index("ix_fetch_record", "source", "registry_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    registry_id: str = Field(max_length=64)
    url: str | None = None
    started_at: datetime
    duration_ms: float
    # new_version | unchanged | not_modified | listed | error; checked | check_failed (the canary)
    outcome: str = Field(max_length=16)
    http_status: int | None = None
    attempts: int | None = None
    error_family: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, sa_column=Column(Text))
    raw_sha256: str | None = Field(default=None, max_length=64)
    version: int | None = None
    # The source's own version number of what was fetched (record-history version n).
    upstream_version: int | None = None
    etag: str | None = None
    last_modified: str | None = None


class Version(SQLModel, table=True):
    __tablename__ = "version"
    __table_args__ = (UniqueConstraint("registry_id", "source", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    registry_id: str = Field(max_length=64)
    source: str = Field(max_length=32)
    version: int
    content_hash: str = Field(max_length=80)
    overall_status: str | None = Field(default=None, max_length=64)
    observed_at: datetime
    valid_from: str | None = Field(default=None, max_length=32)  # ISO date at source precision
    raw_sha256: str | None = Field(default=None, max_length=64)
    parser_version: int = 1
    produced_by: str = Field(default="fetch", max_length=16)  # fetch | backfill | reparse
    upstream_version: int | None = None  # the source's version number (record history)
    record: str = Field(sa_column=Column(Text, nullable=False))  # normalized record JSON
    diff: str | None = Field(default=None, sa_column=Column(Text))  # JSON list of changes


class Event(SQLModel, table=True):
    __tablename__ = "event"
    # AUTOINCREMENT: SQLite never reuses a seq, even of a row that vanished.
    __table_args__ = (Index("ix_event_record", "registry_id", "source", "seq"),
                      {"sqlite_autoincrement": True})

    seq: int | None = Field(default=None, primary_key=True)
    registry_id: str = Field(max_length=64)
    source: str = Field(max_length=32)
    version: int
    # new_record | status_change | updated | reparsed (a parser change) | results_posted |
    # annotated | vanished | reappeared | merged (store/events.py EVENT_KINDS)
    kind: str = Field(max_length=32, index=True)
    occurred_at: datetime
    data: str | None = Field(default=None, sa_column=Column(Text))  # JSON details


class DriftFlag(SQLModel, table=True):
    """A drift flag of a stored version (README "When the registry drifts"): what the
    parser kept, coerced, dropped or skipped, where and from what raw value."""

    __tablename__ = "drift_flag"
    __table_args__ = (Index("ix_drift_flag_path", "source", "path", "value"),
                      Index("ix_drift_flag_record", "registry_id", "source", "version"))

    id: int | None = Field(default=None, primary_key=True)
    registry_id: str = Field(max_length=64)
    source: str = Field(max_length=32)
    version: int
    path: str = Field(max_length=200)
    value: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(max_length=16)  # kept | coerced | dropped | skipped
    observed_at: datetime


class SearchDoc(SQLModel, table=True):
    """The search row of a record: its newest registry version's text and filters
    (ingest/search.py; on SQLite an FTS5 table shadows it, on PostgreSQL a tsvector)."""

    __tablename__ = "search_doc"

    registry_id: str = Field(primary_key=True, max_length=64)
    source: str = Field(max_length=32)
    version: int
    valid_from: str = Field(default="", max_length=32)
    status: str | None = Field(default=None, max_length=64, index=True)
    phases: str | None = Field(default=None, max_length=128)
    conditions_filter: str | None = Field(default=None, sa_column=Column(Text))
    title: str | None = Field(default=None, sa_column=Column(Text))
    conditions: str | None = Field(default=None, sa_column=Column(Text))
    interventions: str | None = Field(default=None, sa_column=Column(Text))
    arms: str | None = Field(default=None, sa_column=Column(Text))
    criteria: str | None = Field(default=None, sa_column=Column(Text))
    summary: str | None = Field(default=None, sa_column=Column(Text))


class SearchMesh(SQLModel, table=True):
    """A MeSH term of a record's search row: the registry's indexing of its conditions or
    interventions, a term it matched or one of the term's ancestors in the MeSH tree
    (store/search.py; ``search --mesh``). ``term_key``: the term case-folded, what a search matches."""

    __tablename__ = "search_mesh"
    __table_args__ = (Index("ix_search_mesh_key", "term_key"), Index("ix_search_mesh_id", "mesh_id"))

    id: int | None = Field(default=None, primary_key=True)
    registry_id: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16)  # condition | intervention
    level: str = Field(max_length=16)  # term | ancestor
    mesh_id: str | None = Field(default=None, max_length=32)  # "D008103"
    term: str | None = Field(default=None, sa_column=Column(Text))
    term_key: str | None = Field(default=None, sa_column=Column(Text))


class SearchSite(SQLModel, table=True):
    """The coordinates of a site of a record's search row (``search --near``): the
    bounding box of a distance search runs on its index (store/geo.py)."""

    __tablename__ = "search_site"
    __table_args__ = (Index("ix_search_site_point", "latitude", "longitude"),)

    id: int | None = Field(default=None, primary_key=True)
    registry_id: str = Field(max_length=64, index=True)
    latitude: float
    longitude: float


class ReportingPeriod(SQLModel, table=True):
    """A period of a record's results-reporting state under FDAAA (models/reporting.py), for its
    search row's version: the view ``reporting_status`` picks the one holding today
    (store/reporting.py). Dates are ISO text."""

    __tablename__ = "reporting_period"
    __table_args__ = (Index("ix_reporting_period_state", "state"),)

    id: int | None = Field(default=None, primary_key=True)
    registry_id: str = Field(max_length=64, index=True)
    source: str = Field(max_length=32)
    version: int
    classification: str | None = Field(default=None, max_length=8)  # act | pact | null
    completion_date: str | None = Field(default=None, max_length=10)
    period_from: str | None = Field(default=None, max_length=10)  # null: since ever
    period_to: str | None = Field(default=None, max_length=10)  # exclusive; null: for good
    state: str = Field(max_length=24)
    results_due: bool
    due_date: str | None = Field(default=None, max_length=10)
    certificate_date: str | None = Field(default=None, max_length=10)
    reported_on: str | None = Field(default=None, max_length=10)
    days_late: int | None = None  # null in an overdue state: it grows with the date
    known_on: str | None = Field(default=None, max_length=10)  # watched since (store/reporting.py)


# --- the scheduled service (schedules/) -------------------------------------------------


class Watch(SQLModel, table=True):
    """The watchlist as data: which records the service fetches from which sources."""

    __tablename__ = "watch"
    __table_args__ = (UniqueConstraint("registry_id", "source"),)

    id: int | None = Field(default=None, primary_key=True)
    registry_id: str = Field(max_length=64)
    source: str = Field(max_length=32)
    pinned_url: str | None = None  # a mirror page's address when it cannot be derived
    added_at: datetime


class Lease(SQLModel, table=True):
    """Who fetches a (source, record) now, and when it was last done: two services on
    one database never fetch the same record at once, nor twice in one round."""

    __tablename__ = "lease"

    source: str = Field(primary_key=True, max_length=32)
    registry_id: str = Field(primary_key=True, max_length=64)
    holder: str | None = Field(default=None, max_length=80)
    expires_at: datetime
    done_at: datetime | None = None


class NotifyCursor(SQLModel, table=True):
    """The last event ``seq`` a notification target has dealt with."""

    __tablename__ = "notify_cursor"

    target: str = Field(primary_key=True, max_length=64)
    seq: int = 0
    updated_at: datetime


class Delivery(SQLModel, table=True):
    """One attempt to deliver one event to one target (the delivery log)."""

    __tablename__ = "delivery"
    __table_args__ = (Index("ix_delivery_target_seq", "target", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    target: str = Field(max_length=64)
    seq: int
    attempt: int
    at: datetime
    outcome: str = Field(max_length=16)  # delivered | failed
    http_status: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    duration_ms: float | None = None


class StoreMeta(SQLModel, table=True):
    """Small facts about the store itself (whether the watchlist was seeded)."""

    __tablename__ = "store_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str


class SyncCheckpoint(SQLModel, table=True):
    """Where a bulk sync stands: saved after each stored page, so a run resumes."""

    __tablename__ = "sync_checkpoint"

    name: str = Field(primary_key=True, max_length=200)  # "all" or "query:<expression>"
    status: str = Field(max_length=16)  # running | done
    full: bool = False  # all records, no date bound: completeness is checked at the end
    since: str | None = Field(default=None, max_length=32)  # LastUpdatePostDate lower bound
    page_token: str | None = Field(default=None, sa_column=Column(Text))
    resume_date: str | None = Field(default=None, max_length=32)  # the newest date stored so far
    pages: int = 0
    records: int = 0
    total_count: int | None = None
    started_at: datetime
    finished_at: datetime | None = None
    last_started_at: datetime | None = None  # of the last run that finished: incremental's base
