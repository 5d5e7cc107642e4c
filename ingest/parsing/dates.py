"""Dates as sources write them -> ISO 8601 at the source's precision ("2011-04", "2011-04-05")."""

from __future__ import annotations

import re
from datetime import date, datetime

_ISO = re.compile(r"^\d{4}(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)?$")
_ISO_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}")
# Written-out forms, which no one reads two ways. Day-first numeric dates are a
# mirror's choice (the WHO ICTRP's "24/10/2016"): its pages pass NUMERIC_DAY_FIRST.
WORDED = (("%B %Y", 2), ("%b %Y", 2), ("%B %d, %Y", 3), ("%b %d, %Y", 3), ("%B %d %Y", 3),
          ("%d %B %Y", 3), ("%d %b %Y", 3), ("%Y/%m/%d", 3), ("%Y/%m", 2), ("%Y-%m-%d", 3),
          ("%Y-%m", 2))
NUMERIC_DAY_FIRST = (("%d/%m/%Y", 3),)


_SEEN: dict[str, bool] = {}  # a record has ~15 dates, and the registry's days repeat


def is_iso(value: str) -> bool:
    """The registry's own form: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, a day that exists
    ("2099-02-30" is not one: read as it stands, it would break every date computation)."""
    known = _SEEN.get(value)
    if known is not None:
        return known
    answer = _ISO.match(value) is not None
    if answer and len(value) == 10:
        try:
            date.fromisoformat(value)
        except ValueError:
            answer = False
    if len(_SEEN) < 50_000:  # bounded: ~20,000 days in the registry's history
        _SEEN[value] = answer
    return answer


def iso_date(value: str, extra: tuple[tuple[str, int], ...] = ()) -> str | None:
    """``"April 2011"`` -> ``"2011-04"``; ``"5 April 2011"`` -> ``"2011-04-05"``; None if unread."""
    text = " ".join(value.split())
    if is_iso(text):
        return text
    stamp = _ISO_TIME.match(text)
    if stamp:
        text = stamp[1]
    for fmt, parts in (*WORDED, *extra):
        try:
            day = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return day.strftime("%Y-%m-%d" if parts == 3 else "%Y-%m")
    return None
