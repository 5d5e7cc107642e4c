"""Status periods of a record, like cthist's status lengths: pure functions over versions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any


@dataclass
class Period:
    status: str | None
    start: str  # the date the status began (the first version showing it)
    end: str | None  # the date the next status began; None while it lasts
    days: int | None  # end - start; None while it lasts
    versions: list[int]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {"status": data["status"], "from": data["start"], "to": data["end"],
                "days": data["days"], "versions": data["versions"]}


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
