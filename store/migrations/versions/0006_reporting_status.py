"""Results reporting under FDAAA (issue 16): the ``reporting_period`` table, filled from the
indexed versions, and the view ``reporting_status``.

Each record's search row gets its reporting periods (models/reporting.py, the FDAAA
TrialsTracker's rules): whether it is an ACT or a probable ACT, and from which date to which
its results are not yet due, reported, reported late or overdue. The view picks the period
holding the current date. ``known_on``, the date since which the store watched the record, is
its first registry version's observation date, or its latest reparse's.

Written out here, frozen: the table as models/tables.py has it now, the views as
store/reporting.py makes them, and the rules as models/reporting.py states them at this
revision (an old migration must keep writing what it wrote; a later change of the rules
refills in a migration of its own).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BATCH = 1_000
_TZ = sa.DateTime(timezone=True)
_REGISTRY = ("ctgov_history", "ctgov")

SQLITE_VIEW = (
    'CREATE VIEW IF NOT EXISTS reporting_status AS SELECT p.registry_id, p.source, p.version, p.classification, '
    'p.completion_date, p.certificate_date, p.due_date, p.results_due, p.reported_on, p.state, CASE WHEN '
    "p.state IN ('overdue', 'overdue_cancelled') THEN CAST(julianday(t.today) - julianday(p.due_date) AS "
    'INTEGER) ELSE p.days_late END AS days_late, p.period_from AS state_since, t.today AS as_of FROM '
    "reporting_period p, (SELECT date('now') AS today) t WHERE (p.period_from IS NULL OR p.period_from <= "
    't.today) AND (p.period_to IS NULL OR t.today < p.period_to)')
POSTGRES_VIEW = (
    'CREATE OR REPLACE VIEW reporting_status AS SELECT p.registry_id, p.source, p.version, p.classification, '
    'p.completion_date, p.certificate_date, p.due_date, p.results_due, p.reported_on, p.state, CASE WHEN '
    "p.state IN ('overdue', 'overdue_cancelled') THEN t.today - p.due_date::date ELSE p.days_late END AS "
    'days_late, p.period_from AS state_since, t.today::text AS as_of FROM reporting_period p CROSS JOIN (SELECT '
    "(now() AT TIME ZONE 'UTC')::date AS today) t WHERE (p.period_from IS NULL OR p.period_from::date <= "
    't.today) AND (p.period_to IS NULL OR t.today < p.period_to::date)')


# --- the rules, as models/reporting.py states them at 0006 ------------------------------------

_EFFECTIVE, _GRACE, _UNKNOWN_CANCELLATION = date(2017, 1, 18), 30, date(2018, 7, 5)
_OVERDUE = ("overdue", "overdue_cancelled")
_PHASES = {frozenset(p) for p in (("PHASE1", "PHASE2"), ("PHASE2",), ("PHASE2", "PHASE3"), ("PHASE3",),
                                  ("PHASE4",), ("NA",))}
_INTERVENTIONS = {"DRUG", "DEVICE", "BIOLOGICAL", "GENETIC", "RADIATION", "COMBINATION_PRODUCT", "DIAGNOSTIC_TEST"}
_US = ("United States", "American Samoa", "Guam", "Northern Mariana Islands", "Puerto Rico", "Virgin Islands (U.S.)")


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parts = [int(p) for p in value.split("-")]
        if not 1000 <= parts[0] <= 8999:
            return None
        if len(parts) == 3:
            return date(*parts)
        if len(parts) == 2:
            return date(parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1])
        return date(parts[0], 12, 31) if len(parts) == 1 else None
    except (ValueError, TypeError):
        return None


def _years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _at(doc: Any, *path: str) -> Any:
    for key in path:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def _classify(doc: dict[str, Any], completion: date | None) -> str | None:
    start = _day(_at(doc, "status", "start", "date"))
    if (doc.get("study_type") != "INTERVENTIONAL" or frozenset(doc.get("phases") or []) not in _PHASES
            or _at(doc, "design", "primary_purpose") == "DEVICE_FEASIBILITY"
            or _at(doc, "status", "overall") == "WITHDRAWN" or start is None):
        return None
    drug, device = _at(doc, "oversight", "fda_regulated_drug"), _at(doc, "oversight", "fda_regulated_device")
    regulated = drug is True or device is True
    if start >= _EFFECTIVE:
        return "act" if regulated else None
    if completion is None or completion < _EFFECTIVE:
        return None
    if regulated:
        return "pact"
    types = {i.get("type") for i in doc.get("interventions") or [] if isinstance(i, dict)}
    countries = [s.get("country") or "" for s in doc.get("sites") or [] if isinstance(s, dict)]
    old = (drug is None and device is None and bool(types & _INTERVENTIONS)
           and any(place in country for country in countries for place in _US))
    return "pact" if old else None


def _late(on: date, due: date, grace: bool = False) -> int | None:
    days = max((on - due).days, 0)
    if grace and days - _GRACE <= 0:
        days = 0
    return days or None


def _status(kind: str | None, completion: date | None, certificate: date | None, results: date | None,
            submissions: list[tuple[date, date | None]], on: date) -> tuple[Any, ...]:
    """(state, results_due, due_date, certificate, reported_on, days_late) on ``on``."""
    if kind is None:
        return ("not_applicable", False, None, None, None, None)
    certificate = certificate if certificate and certificate <= on else None
    results = results if results and results <= on else None
    due_date, due = None, False
    if completion is not None:
        due_date = _years(completion, 3) if certificate else completion + timedelta(days=365)
        due = on > _years(completion, 1) + timedelta(days=_GRACE) and (
            certificate is None or on > _years(completion, 3) + timedelta(days=_GRACE))
    if not due or due_date is None:
        return ("reported" if results else "ongoing", due, due_date, certificate, results, None)
    if results:
        late = _late(results, due_date)
        return ("reported_late" if late else "reported", due, due_date, certificate, results, late)
    made = [s for s in submissions if s[0] <= on]
    original = made[0][0] if made else None
    restart, cancelled = None, False
    for submitted, withdrawn in reversed(made):
        if withdrawn is not None and withdrawn <= on:
            cancelled = True
            break
        restart = submitted
    if original is None:
        late = _late(on, due_date, grace=True)
        return ("overdue" if late else "ongoing", due, due_date, certificate, None, late)
    late = _late(restart or original, due_date) if restart or not cancelled else _late(on, due_date, grace=True)
    if not late:
        return ("reported", due, due_date, certificate, original, None)
    state = "overdue_cancelled" if cancelled and restart is None else "reported_late"
    return (state, due, due_date, certificate, original, late)


def _rows(registry_id: str, source: str, number: int, doc: dict[str, Any], known_on: str | None) -> list[dict[str, Any]]:
    primary = _day(_at(doc, "status", "primary_completion", "date"))
    completion = primary or _day(_at(doc, "status", "completion", "date"))
    kind = _classify(doc, completion)
    certificate = _day(_at(doc, "status", "disposition_first_submitted", "date"))
    results = _day(_at(doc, "status", "results_first_submitted", "date"))
    submissions = []
    for item in _at(doc, "registry_info", "submission_tracking", "submissions") or []:
        if isinstance(item, dict) and (submitted := _day(item.get("released"))) is not None:
            withdrawn = _day(item.get("unreleased")) or (
                _UNKNOWN_CANCELLATION if item.get("unreleased_unknown") is True else None)
            submissions.append((submitted, withdrawn))
    submissions.sort(key=lambda s: s[0])
    turns = {d for d in (certificate, results) if d is not None} | {d for s in submissions for d in s if d}
    if completion is not None:
        grace = timedelta(days=_GRACE + 1)
        turns |= {_years(completion, 1) + grace, _years(completion, 3) + grace,
                  completion + timedelta(days=365) + grace}
    periods: list[list[Any]] = []
    for start in [None, *sorted(turns)]:
        state = list(_status(kind, completion, certificate, results, submissions, start or date.min))
        if state[0] in _OVERDUE:
            state[5] = None
        if periods and periods[-1][2:] == state:
            continue
        if periods:
            periods[-1][1] = start
        periods.append([start, None, *state])
    iso = (lambda d: None if d is None else d.isoformat())  # noqa: E731
    return [{"registry_id": registry_id, "source": source, "version": number, "classification": kind,
             "completion_date": iso(completion), "period_from": iso(p[0]), "period_to": iso(p[1]),
             "state": p[2], "results_due": p[3], "due_date": iso(p[4]), "certificate_date": iso(p[5]),
             "reported_on": iso(p[6]), "days_late": p[7], "known_on": known_on} for p in periods]


# --- the migration ------------------------------------------------------------------------------

def _table() -> sa.Table:
    table = op.create_table(
        "reporting_period",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("registry_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("classification", sa.String(8), nullable=True),
        sa.Column("completion_date", sa.String(10), nullable=True),
        sa.Column("period_from", sa.String(10), nullable=True),
        sa.Column("period_to", sa.String(10), nullable=True),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("results_due", sa.Boolean, nullable=False),
        sa.Column("due_date", sa.String(10), nullable=True),
        sa.Column("certificate_date", sa.String(10), nullable=True),
        sa.Column("reported_on", sa.String(10), nullable=True),
        sa.Column("days_late", sa.Integer, nullable=True),
        sa.Column("known_on", sa.String(10), nullable=True))
    op.create_index("ix_reporting_period_registry_id", "reporting_period", ["registry_id"])
    op.create_index("ix_reporting_period_state", "reporting_period", ["state"])
    assert table is not None
    return table


def _utc_day(value: datetime) -> str:
    return (value.astimezone(UTC) if value.tzinfo else value).date().isoformat()


def _known_on(conn: sa.Connection) -> dict[str, str]:
    """Per record: its first registry version's observation date, or its latest reparse's."""
    version = sa.table("version", sa.column("registry_id"), sa.column("source"), sa.column("produced_by"),
                       sa.column("observed_at", _TZ))
    registry = version.c.source.in_(_REGISTRY)
    known = {rid: _utc_day(first) for rid, first in conn.execute(
        sa.select(version.c.registry_id, sa.func.min(version.c.observed_at)).where(registry)
        .group_by(version.c.registry_id))}
    for rid, reparsed in conn.execute(
            sa.select(version.c.registry_id, sa.func.max(version.c.observed_at))
            .where(registry, version.c.produced_by == "reparse").group_by(version.c.registry_id)):
        known[rid] = max(known.get(rid, ""), _utc_day(reparsed))
    return known


def _fill(table: sa.Table) -> None:
    """The periods of every indexed version, streamed and written in batches."""
    conn = op.get_bind()
    known = _known_on(conn)
    indexed = sa.text(
        "SELECT v.registry_id, v.source, v.version, v.record FROM version v JOIN search_doc d "
        "ON d.registry_id = v.registry_id AND d.source = v.source AND d.version = v.version")
    rows: list[dict[str, Any]] = []
    for registry_id, source, number, record in conn.execute(
            indexed.execution_options(stream_results=True, yield_per=_BATCH)):
        rows += _rows(registry_id, source, number, orjson.loads(record), known.get(registry_id))
        if len(rows) >= _BATCH:
            op.bulk_insert(table, rows)
            rows = []
    if rows:
        op.bulk_insert(table, rows)


def upgrade() -> None:
    _fill(_table())
    postgres = op.get_bind().dialect.name == "postgresql"
    op.get_bind().exec_driver_sql(POSTGRES_VIEW if postgres else SQLITE_VIEW)


def downgrade() -> None:
    op.get_bind().exec_driver_sql("DROP VIEW IF EXISTS reporting_status")
    op.drop_table("reporting_period")
