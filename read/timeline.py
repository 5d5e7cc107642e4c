"""Status periods of a record, like cthist's status lengths, and the milestones within
them (results posted, annotations): pure functions over versions and events."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


@dataclass
class Period:
    status: str | None
    start: str  # the date the status began (the first version showing it)
    end: str | None  # the date the next status began; None while it lasts
    days: int | None  # end - start; None while it lasts
    versions: list[int]
    # The milestone events of these versions: {version, kind, what} (see :func:`milestone_text`).
    events: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {"status": data["status"], "from": data["start"], "to": data["end"],
                "days": data["days"], "versions": data["versions"], "events": data["events"]}


def _day(value: str) -> date:
    """An ISO date at any precision: "2011" and "2011-10" count from their first day."""
    parts = [int(p) for p in value.split("-")[:3]]
    parts += [1] * (3 - len(parts))
    return date(parts[0], parts[1], parts[2])


def status_periods(points: list[tuple[int, str, str | None]]) -> list[Period]:
    """``[(version, date, status), ...]`` -> the periods in which one status held.

    Consecutive versions with the same status make one period; a status that
    returns later (RECRUITING, SUSPENDED, RECRUITING) makes a new period.
    """
    periods: list[Period] = []
    for version, day, status in sorted(points):
        if periods and periods[-1].status == status:
            periods[-1].versions.append(version)
            continue
        if periods:
            periods[-1].end = day
            periods[-1].days = (_day(day) - _day(periods[-1].start)).days
        periods.append(Period(status, day, None, None, [version]))
    return periods


def milestone_text(kind: str, data: dict[str, Any]) -> str | None:
    """A milestone event in a few words, for tables and feed titles ("results posted
    2015-03-02 (submitted 2015-01-30)", "results overdue (due 2024-05-31, 45 days late on
    2024-07-15)"); None for a kind that is no milestone."""
    if kind == "results_posted":
        results = data.get("results") or {}
        text = " ".join(filter(None, ("results posted", results.get("first_posted"))))
        return text + (f" (submitted {results['first_submitted']})" if results.get("first_submitted") else "")
    if kind == "annotated":
        said = [" ".join(filter(None, ("FDAAA 801", i.get("type") or "annotation",
                                       i.get("issued") and f"issued {i['issued']}")))
                for i in data.get("violation_events") or []]
        said += [" ".join(filter(None, ("unposted results", i.get("type") or "event", i.get("date"))))
                 for i in data.get("unposted_events") or []]
        return "; ".join(said) or "annotated"
    if kind == "overdue":
        said = [f"due {data['due_date']}"] if data.get("due_date") else []
        if data.get("days_late") is not None:
            said.append(f"{data['days_late']} days late on {data.get('as_of')}")
        return "results overdue" + (f" ({', '.join(said)})" if said else "")
    return None


def with_milestones(periods: list[Period], events: list[tuple[int, str, dict[str, Any]]]) -> list[Period]:
    """``periods`` with each milestone event ``(version, kind, data)`` in the period of its
    version; events of other kinds, or of versions no period holds, are left out."""
    where = {version: period for period in periods for version in period.versions}
    for version, kind, data in sorted(events, key=lambda e: e[0]):
        text = milestone_text(kind, data)
        if text is not None and version in where:
            where[version].events.append({"version": version, "kind": kind, "what": text})
    return periods
