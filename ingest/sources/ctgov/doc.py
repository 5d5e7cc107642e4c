"""Typed access into an API v2 study document under the drift policy, shared by the
parser's sections (``parser``, ``sections``).

A value of another type is coerced when that is unambiguous ("120" -> 120, "Yes" ->
true, "x" -> ["x"]) and dropped when it is not, each flagged at the record path it is
for (README "When the registry drifts").
"""

from __future__ import annotations

import re
from typing import Any

from trialmirror.errors import ParseError
from trialmirror.ingest.parsing.dates import is_iso, iso_date
from trialmirror.ingest.parsing.fields import Mapper
from trialmirror.ingest.parsing.text import Markup, clean, clean_line, collapse, unescape_markdown
from trialmirror.models import vocab

NAME = "ctgov"


class Doc:
    """Typed access into the API document, keeping the drift policy.

    ``field`` is the record path a value is for; a value of another type is coerced
    when that is unambiguous ("120" -> 120, "Yes" -> true, "x" -> ["x"]) and dropped
    when it is not, each flagged at ``field`` (README "When the registry drifts").
    The check that decides is one class comparison: this runs ~120 times a record.
    """

    def __init__(self, registry_id: str, url: str | None, m: Mapper, markup: Markup = "markdown"):
        self.registry_id, self.url, self.m, self.markup = registry_id, url, m, markup
        self.markdown = markup == "markdown"  # asked ~150 times a record: one bool, not a compare

    def fail(self, reason: str, path: str) -> ParseError:
        return ParseError(reason, field_path=path, source=NAME, registry_id=self.registry_id,
                          url=self.url)

    def get(self, node: dict[str, Any] | None, key: str, kind: type, field: str) -> Any:
        if node is None:
            return None
        value = node.get(key)
        if value is None or value.__class__ is kind:
            return value
        return self.drifted(value, kind, field)

    def drifted(self, value: Any, kind: type, field: str) -> Any:
        if value == "" or value == []:
            return None  # said as nothing: null, as the contract reads an empty value
        coerced = coerce(value, kind)
        self.m.flag(field, value, "dropped" if coerced is None else "coerced")
        return coerced

    def string(self, node: dict[str, Any] | None, key: str, field: str) -> str | None:
        """The text at ``key`` as the source wrote it (another type coerced or dropped)."""
        value = None if node is None else node.get(key)
        if value is None or value.__class__ is str:
            return value  # type: ignore[no-any-return]
        return self.drifted(value, str, field)  # type: ignore[no-any-return]

    def text(self, node: dict[str, Any] | None, key: str, field: str) -> str | None:
        value = self.string(node, key, field)
        return None if value is None else clean(value, self.markup)

    def line(self, node: dict[str, Any] | None, key: str, field: str) -> str | None:
        # clean_line inlined: this runs ~150 times a record.
        value = self.string(node, key, field)
        if value is None:
            return None
        if not self.markdown:
            return clean_line(value, self.markup)
        if "\\" in value:
            value = unescape_markdown(value)
        return collapse(value) or None

    def obj(self, node: dict[str, Any] | None, key: str, field: str) -> dict[str, Any] | None:
        value = None if node is None else node.get(key)
        if value is None or value.__class__ is dict:
            return value
        if value != "" and value != []:
            self.m.flag(field, value, "dropped")  # a module or object of another shape
        return None

    def items(self, node: dict[str, Any] | None, key: str, field: str) -> list[dict[str, Any]]:
        """A list of objects; null or malformed items are skipped (flagged)."""
        values = None if node is None else node.get(key)
        if values is None:
            return []
        if values.__class__ is not list:
            if values.__class__ is dict:
                self.m.flag(field, values, "coerced")  # one object for a list of one
                return [values]
            if values != "":
                self.m.flag(field, values, "dropped")
            return []
        for v in values:
            if v.__class__ is not dict:
                return self._objects(values, field)
        return values

    def _objects(self, values: list[Any], field: str) -> list[dict[str, Any]]:
        out = []
        for v in values:
            if v.__class__ is dict:
                out.append(v)
            else:
                self.m.flag(field, v, "skipped")
        return out

    def strings(self, node: dict[str, Any] | None, key: str, field: str) -> list[str] | None:
        values = None if node is None else node.get(key)
        if values is None:
            return None
        if values.__class__ is not list:
            if values == "":
                return None
            if values.__class__ is dict or values.__class__ is bool:
                self.m.flag(field, values, "dropped")
                return None
            self.m.flag(field, values, "coerced")  # "Crohn Disease" for ["Crohn Disease"]
            values = [str(values)]
        out = []
        for v in values:
            if v.__class__ is not str:
                if v is None or v.__class__ in (list, dict, bool):
                    self.m.flag(field, v, "skipped")
                    continue
                self.m.flag(field, v, "coerced")
                v = str(v)
            line = clean_line(v, self.markup)
            if line:
                out.append(line)
        return out or None


_TRUE = frozenset({"yes", "y", "true", "t", "1"})
_FALSE = frozenset({"no", "n", "false", "f", "0"})
# Up to nine digits: a count of more is no count of people (and Python refuses to read a
# number of thousands of digits).
_COUNT = re.compile(r"^\s*(\d{1,3}(?:,\d{3}){0,2}|\d{1,9})\s*$")
_MAX_COUNT = 10**9
_NUMBER = re.compile(r"^\s*[-+]?\d{1,4}(?:\.\d{1,12})?\s*$")  # a coordinate, a size


def coerce(value: Any, kind: type) -> Any:
    """``value`` as ``kind`` when only one reading is possible, else None."""
    cls = value.__class__
    if kind is str:
        if cls is int or cls is float:
            return str(value)
        if cls is list and len(value) == 1 and value[0].__class__ is str:
            return value[0]
    elif kind is int:
        if cls is str:
            match = _COUNT.match(value)
            return int(match[1].replace(",", "")) if match else None
        if cls is float and value.is_integer() and abs(value) < _MAX_COUNT:
            return int(value)
    elif kind is bool:
        if cls is str:
            word = value.strip().lower()
            return True if word in _TRUE else False if word in _FALSE else None
        if cls is int and value in (0, 1):
            return value == 1
    elif kind is float:
        if cls is str and _NUMBER.match(value):
            return float(value)
        if cls is int:
            return float(value)
    elif kind is list and (cls is str or cls is dict):
        return [value]
    return None


def date_struct(d: Doc, value: Any, field: str, m: Mapper) -> dict[str, Any] | None:
    """A date struct ``{date, type}``; one given as bare text is read as its date (flagged)."""
    if value is None or value == "":
        return None
    if value.__class__ is dict:
        date, kind = value.get("date"), value.get("type")
    elif value.__class__ is str:
        m.flag(field, value, "coerced")  # the date without its kind
        date, kind = value, None
    else:
        m.flag(field, value, "dropped")
        return None
    if date is None or date == "":
        if value.__class__ is dict and any(v is not None and v != "" for v in value.values()):
            m.flag(field, value, "dropped")  # a struct without its date
        return None
    day = iso(date, field + ".date", m)
    if day is None:
        return None
    return {"date": day, "kind": m.enum(vocab.DATE_KIND, kind, field + ".kind")}


def iso(date: Any, field: str, m: Mapper) -> str | None:
    if date.__class__ is str and is_iso(date):
        return str(date)
    iso = iso_date(date if date.__class__ is str else str(date))
    m.flag(field, date, "dropped" if iso is None else "coerced")
    return iso


def said(item: dict[str, Any]) -> bool:
    """Whether the source said anything of ``item`` (a value that is not null; false and
    0 are said). A loop, not ``any(<generator>)``: compiled, it allocates nothing."""
    for value in item.values():  # noqa: SIM110 - see the docstring
        if value is not None:
            return True
    return False


def org(d: Doc, node: dict[str, Any] | None, field: str, m: Mapper, *,
        name_key: str = "name") -> dict[str, Any] | None:
    """An organization ``{name, class}``; None when the source names neither."""
    if node is None:
        return None
    name = d.line(node, name_key, field + ".name")
    agency_class = m.enum(vocab.AGENCY_CLASS, node.get("class"), f"{field}.class")
    return {"name": name, "class": agency_class} if name or agency_class else None
