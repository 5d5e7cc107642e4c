"""Helpers the pure parsers share: drift flags, vocabulary mapping, ages, and the record's
validation.

The drift policy (README "When the registry drifts") lives here, so every source keeps
it the same way: a value is kept, coerced, dropped or skipped, and each of those is a
flag in the record's ``unmapped`` naming the path, the raw value and what was done.
Only a document that cannot be identified is refused.
"""

from __future__ import annotations

import os
import re
from typing import Any

import orjson
from pydantic import ValidationError

from trialmirror.errors import ParseError
from trialmirror.models.record import Record, check_trusted
from trialmirror.models.vocab import AGE_UNIT, AGE_UNIT_PER_YEAR, Vocabulary

FLAG_VALUE_MAX = 200  # the raw payload is archived whole; the flag shows enough to see it


def raw_text(value: Any) -> str:
    """A raw value as a flag shows it: text as written, anything else as JSON."""
    if value.__class__ is not str:
        value = orjson.dumps(value, default=str).decode()
    return value if len(value) <= FLAG_VALUE_MAX else value[:FLAG_VALUE_MAX - 1] + "…"


class Mapper:
    """Collects a parse's drift flags while it maps values onto the record."""

    def __init__(self) -> None:
        # Plain dicts: the Record validates them once, at the end (a parse makes many).
        self.unmapped: list[dict[str, str]] = []

    def flag(self, path: str, raw: Any, action: str) -> None:
        self.unmapped.append({"path": path, "value": raw_text(raw), "action": action})

    def enum(self, vocab: Vocabulary, value: Any, path: str) -> str | None:
        if value is None:
            return None
        if value.__class__ is not str:
            if value.__class__ is list and len(value) == 1 and value[0].__class__ is str:
                self.flag(path, value, "coerced")  # ["COMPLETED"] for "COMPLETED"
                value = value[0]
            elif value.__class__ is int or value.__class__ is float:
                value = str(value)  # a number where a word was: kept as its text (flagged below)
            else:
                if value != [] and value != {}:
                    self.flag(path, value, "dropped")  # an object, a list, a boolean
                return None
        if not value.strip():
            return None  # said as nothing: null, never ""
        mapped = vocab.map(value)
        if not mapped.known:
            self.flag(path, mapped.value, "kept")
        return mapped.value

    def enums(self, vocab: Vocabulary, values: Any, path: str) -> list[str] | None:
        if values is None or values == "":
            return None
        if values.__class__ is not list:
            if values.__class__ is dict or values.__class__ is bool:
                self.flag(path, values, "dropped")
                return None
            self.flag(path, values, "coerced")  # "PHASE2" for ["PHASE2"]
            values = [str(values)]
        out = []
        for x in values:
            if x is None or x.__class__ is list or x.__class__ is dict:
                self.flag(path, x, "skipped")
                continue
            v = self.enum(vocab, x, path)
            if v is not None:
                out.append(v)
        return out or None


# A number of at most four digits (and four decimals): more is no one's age.
_AGE = re.compile(r"^\s*(\d{1,4}(?:\.\d{1,4})?)\s*([A-Za-z]*)\s*$")


_AGES: dict[str, dict[str, Any]] = {}  # "18 Years" and its like: a few hundred forms


def parse_age(text: str | None, path: str, mapper: Mapper) -> dict[str, Any] | None:
    """``"18 Years"`` -> ``{value: 18, unit: YEARS, years: 18}``; "N/A" and blank -> None.

    A number without a unit keeps its number (unit and years null, flagged): only the
    source knows whether "18" meant years."""
    if text is not None:
        seen = _AGES.get(text)
        if seen is not None:
            return dict(seen)  # a copy: the record owns its dicts
    age = _parse_age(text, path, mapper)
    if age is not None and age["years"] is not None and text is not None and len(_AGES) < 10_000:
        _AGES[text] = dict(age)  # only ages read without a flag: a flag is per record
    return age


def _parse_age(text: str | None, path: str, mapper: Mapper) -> dict[str, Any] | None:
    if text is None or not text.strip() or text.strip().upper() in {"N/A", "NA", "NONE"}:
        return None
    match = _AGE.match(text)
    if match is None:
        mapper.flag(path, text.strip(), "dropped")
        return None
    number, unit_text = match[1], match[2]
    value = float(number) if "." in number else int(number)
    if not unit_text:
        mapper.flag(path + ".unit", text.strip(), "kept")
        return {"value": value, "unit": None, "years": None}
    unit = AGE_UNIT.map(unit_text)
    if not unit.known:
        mapper.flag(path + ".unit", unit_text, "kept")
        return {"value": value, "unit": unit_text, "years": None}
    years = round(value / AGE_UNIT_PER_YEAR[unit.value], 4)
    return {"value": value, "unit": unit.value, "years": years}


def build_record(data: dict[str, Any], *, source: str, registry_id: str, url: str | None,
                 mapper: Mapper | None = None) -> Record:
    """Validate the parser's dict into a Record.

    The parsers build what the contract allows, so this is a net, not a filter: if a
    value still fails validation, that value is taken out (null, or left out of its
    list) and flagged ``dropped``, and the rest of the record stands. Only a record
    that cannot be identified fails (a ParseError naming the field).

    The record's items are trusted, not validated (models/record.py, ``Trusted``): with
    TRIALMIRROR_CHECK_TRUSTED=1 (the test suite) they are checked strictly too, and a
    wrong one is a parser's bug, raised as it is (pydantic's ValidationError)."""
    record = _validated(data, source=source, registry_id=registry_id, url=url, mapper=mapper)
    if os.environ.get("TRIALMIRROR_CHECK_TRUSTED") == "1":
        check_trusted(record)
    return record


def _validated(data: dict[str, Any], *, source: str, registry_id: str, url: str | None,
               mapper: Mapper | None) -> Record:
    for _ in range(50):  # each round removes one value; a record has far fewer bad ones
        try:
            return Record.__pydantic_validator__.validate_python(data)  # type: ignore[no-any-return]
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = tuple(first["loc"])
            path = ".".join(str(p) for p in loc)
            if mapper is None or not loc or loc[0] in ("registry_id", "source") or not _remove(data, loc, mapper):
                raise ParseError(f"unexpected value ({first['msg']})", field_path=path, source=source,
                                 registry_id=registry_id, url=url) from exc
            data["unmapped"] = mapper.unmapped or None
    raise ParseError("too many unreadable values", field_path="$", source=source,
                     registry_id=registry_id, url=url)


def _remove(data: dict[str, Any], loc: tuple[Any, ...], mapper: Mapper) -> bool:
    """Take the value at ``loc`` (pydantic's error location) out of ``data``, flagged."""
    # The innermost list item or field that exists: pydantic may name a key below it.
    node: Any = data
    trail: list[tuple[Any, Any]] = []
    for key in loc:
        if isinstance(node, dict) and key in node or isinstance(node, list) and isinstance(key, int) \
                and key < len(node):
            trail.append((node, key))
            node = node[key]
        else:
            break
    if not trail:
        return False
    parent, key = trail[-1]
    path = ".".join(str(k) for k in loc[:len(trail)] if not isinstance(k, int))
    raw = parent[key]
    if path == "unmapped" or path.startswith("unmapped."):
        return False  # the flags themselves are ours
    if isinstance(parent, list):
        del parent[key]
        mapper.flag(path, raw, "skipped")
    else:
        parent[key] = None
        mapper.flag(path, raw, "dropped")
    return True


def none_if_empty(values: list[Any] | None) -> list[Any] | None:
    return values if values else None
