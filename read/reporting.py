"""Results reporting of a stored record on a date, for the API's study answer and
``trialmirror reporting``: the FDAAA TrialsTracker's rules (models/reporting.py) on the
record of a version. A mirror's capture has none (null): the registry's record decides
whether a trial is applicable, and mirrors show too little of it to tell."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from trialmirror.ingest.sources import SOURCES
from trialmirror.models import reporting


def today() -> date:
    """The date the rules take when none is asked for: today in UTC, as the store's view."""
    return datetime.now(UTC).date()


def reporting_json(record: dict[str, Any], source: str, day: date | None = None) -> dict[str, Any] | None:
    """The record's reporting status on ``day`` (default today, UTC) as JSON; None for a mirror."""
    if SOURCES[source].role != "registry":
        return None
    return reporting.status_on(record, day or today()).as_json()
