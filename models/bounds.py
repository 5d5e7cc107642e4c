"""The ranges of the numbers and texts a user gives the read side, one definition each.

The CLI's options (``click.IntRange``) and the API's parameters (``Query(ge=, le=)``)
are built from these, so both faces refuse the same values, in words that state the
range, before any of them reaches the database. The store's integer columns
(models/tables.py, migrations: ``event.seq``, ``version.version``) are ``INTEGER``:
32-bit on PostgreSQL, 64-bit on SQLite; the bounds fit the smaller, so a number that
passes fits both (PostgreSQL refused ``after=2147483648`` with an error, SQLite an
integer past 64 bits with ``OverflowError``).
"""

from __future__ import annotations

from typing import NamedTuple

INT32_MAX = 2**31 - 1  # PostgreSQL's INTEGER


class Bound(NamedTuple):
    """An inclusive range of whole numbers."""

    low: int
    high: int

    def __str__(self) -> str:
        return f"{self.low} to {self.high}"


class Span(NamedTuple):
    """A range of decimal numbers: ``high`` inclusive, ``low`` too unless ``open_low``."""

    low: float
    high: float
    open_low: bool = False

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int | float):
            return False
        return (self.low < value if self.open_low else self.low <= value) and value <= self.high

    def __str__(self) -> str:
        return f"{'above ' if self.open_low else ''}{self.low:g} to {self.high:g}"


SEQ = Bound(0, INT32_MAX)  # a change-feed cursor: the last event seq processed (0: from the start)
VERSION = Bound(1, INT32_MAX)  # a stored version number of a record
FEED_LIMIT = Bound(1, 1000)  # events per answer of the change feed (`changes --limit`, /changes)
SEARCH_LIMIT = Bound(1, 1000)  # hits per search answer
SEARCH_OFFSET = Bound(0, 10_000)  # hits skipped (the API's paging)

# Search text: FTS5 and PostgreSQL's scoring both do work per query word, so the words
# are capped (repeats count once); a phrase counts its words.
QUERY_CHARS = 500
QUERY_WORDS = 16
CONDITION_CHARS = 200
MESH_CHARS = 200  # a MeSH heading is at most ~100 characters

# A place and a distance (`search --near LAT,LON --within KM`): WGS 84 degrees, and
# kilometres along the Earth's surface, where no two places are more than ~20,015 km apart.
LATITUDE = Span(-90.0, 90.0)
LONGITUDE = Span(-180.0, 180.0)
WITHIN_KM = Span(0.0, 20_000.0, open_low=True)
