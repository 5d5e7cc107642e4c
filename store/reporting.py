"""Results reporting in the store: each record's reporting periods, the view that answers for
today, and the records that became overdue.

- ``reporting_period``: the periods of :func:`trialmirror.models.reporting.periods` for the
  record's search row (its newest registry version), rewritten with it in the same transaction
  (as ``search_mesh`` is). Whether a record is an ACT and when its results are due depend on the
  record alone, so they are worked out when it is written; what is left for the date is which
  period holds it, and an overdue record's days late, which the view ``reporting_status`` works
  out for the current date (UTC) in SQL.
- ``known_on``: the date since which the store has watched the record's reporting (its first
  version's, or the latest reparse's: a parser change is no news), carried from one search row
  to the next. A record whose overdue period began after it is one the store saw pass its due
  date unreported: :func:`became_overdue` finds them for the ``overdue`` event; one first seen
  overdue, or made overdue by a reparse, is not news.

Dates are ISO text (``YYYY-MM-DD``) on both stores; booleans 0/1 on SQLite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, text

from trialmirror.models import reporting

COLUMNS = ("registry_id", "source", "version", "classification", "completion_date", "period_from",
           "period_to", "state", "results_due", "due_date", "certificate_date", "reported_on", "days_late",
           "known_on")


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def period_rows(record: dict[str, Any], source: str, version: int, known_on: str | None) -> list[dict[str, Any]]:
    """The ``reporting_period`` rows of a record (one per period of its reporting state)."""
    found = reporting.facts(record)
    return [{"registry_id": record["registry_id"], "source": source, "version": version,
             "classification": found.classification, "completion_date": _iso(found.completion),
             "period_from": _iso(p.start), "period_to": _iso(p.end), "state": p.state,
             "results_due": p.results_due, "due_date": _iso(p.due_date),
             "certificate_date": _iso(p.certificate_date), "reported_on": _iso(p.reported_on),
             "days_late": p.days_late, "known_on": known_on}
            for p in reporting.periods(record, found)]


def _side_sql(postgres: bool) -> dict[str, str]:
    mark = (lambda c: f"%({c})s") if postgres else (lambda c: f":{c}")  # noqa: E731
    return {
        "forget": f"DELETE FROM reporting_period WHERE registry_id = {mark('registry_id')} RETURNING known_on",
        "insert": f"INSERT INTO reporting_period ({', '.join(COLUMNS)}) "
                  f"VALUES ({', '.join(mark(c) for c in COLUMNS)})",
    }


_SIDE_SQL = {True: _side_sql(True), False: _side_sql(False)}


def index(cursor: Any, postgres: bool, record: dict[str, Any], source: str, version: int,
          observed_on: str | None, produced_by: str, *, first: bool = False) -> None:
    """The record's periods in place of the state indexed before (on the DBAPI cursor of
    the search row's write; ``first``: there was none). ``observed_on``: the version's
    observation date (UTC; default today, for a reindex)."""
    sql = _SIDE_SQL[postgres]
    before: list[Any] = []
    if not first:
        cursor.execute(sql["forget"], {"registry_id": record["registry_id"]})
        before = cursor.fetchall()  # the rows of the state indexed before, each with its known_on
    observed_on = observed_on or datetime.now(UTC).date().isoformat()
    known_on = observed_on if not before or produced_by == "reparse" else before[0][0]
    rows = period_rows(record, source, version, known_on)
    if len(rows) == 1:  # most records (not applicable): one row
        cursor.execute(sql["insert"], rows[0])
    else:
        cursor.executemany(sql["insert"], rows)


class Overdue(NamedTuple):
    """A record whose results became overdue while the store watched it."""

    registry_id: str
    source: str
    version: int
    state: str  # overdue | overdue_cancelled
    since: str  # the first day overdue
    due_date: str
    classification: str
    completion_date: str | None
    certificate_date: str | None


_BECAME_OVERDUE = text(
    "SELECT registry_id, source, version, state, period_from, due_date, classification, completion_date, "
    "certificate_date FROM reporting_period WHERE state IN ('overdue', 'overdue_cancelled') "
    "AND period_from <= :today AND (period_to IS NULL OR :today < period_to) "
    "AND (known_on IS NULL OR period_from > known_on) ORDER BY registry_id")


def became_overdue(conn: Connection, today: str) -> list[Overdue]:
    """The records overdue on ``today`` whose overdue period began after the store knew them."""
    return [Overdue._make(row) for row in conn.execute(_BECAME_OVERDUE, {"today": today})]


# The views: which period holds the current date (UTC), and an overdue record's days late on it.
_OVERDUE = "('overdue', 'overdue_cancelled')"
_VIEW_COLUMNS = ("p.registry_id, p.source, p.version, p.classification, p.completion_date, p.certificate_date, "
                 "p.due_date, p.results_due, p.reported_on, p.state")
SQLITE_VIEW = (
    f"CREATE VIEW IF NOT EXISTS reporting_status AS SELECT {_VIEW_COLUMNS}, CASE WHEN p.state IN {_OVERDUE} "
    "THEN CAST(julianday(t.today) - julianday(p.due_date) AS INTEGER) ELSE p.days_late END AS days_late, "
    "p.period_from AS state_since, t.today AS as_of FROM reporting_period p, (SELECT date('now') AS today) t "
    "WHERE (p.period_from IS NULL OR p.period_from <= t.today) AND (p.period_to IS NULL OR t.today < p.period_to)")
POSTGRES_VIEW = (
    f"CREATE OR REPLACE VIEW reporting_status AS SELECT {_VIEW_COLUMNS}, CASE WHEN p.state IN {_OVERDUE} "
    "THEN t.today - p.due_date::date ELSE p.days_late END AS days_late, p.period_from AS state_since, "
    "t.today::text AS as_of FROM reporting_period p CROSS JOIN (SELECT (now() AT TIME ZONE 'UTC')::date "
    "AS today) t WHERE (p.period_from IS NULL OR p.period_from::date <= t.today) "
    "AND (p.period_to IS NULL OR t.today < p.period_to::date)")
