"""Helpers the pure parsers share: vocabulary mapping, ages, and the record's validation."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from trialmirror.errors import ParseError
from trialmirror.models.record import Record
from trialmirror.models.vocab import AGE_UNIT, AGE_UNIT_PER_YEAR, Vocabulary


class Mapper:
    """Collects vocabulary misses while a parser maps enumerated values."""

    def __init__(self) -> None:
        # Plain dicts: the Record validates them once, at the end (a parse makes many).
        self.unmapped: list[dict[str, str]] = []

    def enum(self, vocab: Vocabulary, value: Any, path: str) -> str | None:
        if value is None or value == "":
            return None
        mapped = vocab.map(str(value))
        if not mapped.known:
            self.unmapped.append({"path": path, "value": mapped.value})
        return mapped.value

    def enums(self, vocab: Vocabulary, values: list[Any] | None, path: str) -> list[str] | None:
        out = [v for v in (self.enum(vocab, x, path) for x in values or []) if v is not None]
        return out or None


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$")


def parse_age(text: str | None, path: str, mapper: Mapper) -> dict[str, Any] | None:
    """``"18 Years"`` -> ``{value: 18, unit: YEARS, years: 18}``; "N/A" and blank -> None."""
    if text is None or not text.strip() or text.strip().upper() in {"N/A", "NA", "NONE"}:
        return None
    match = _AGE.match(text)
    if match is None:
        mapper.unmapped.append({"path": path, "value": text.strip()})
        return None
    number, unit_text = match[1], match[2]
    value = float(number) if "." in number else int(number)
    unit = AGE_UNIT.map(unit_text)
    if not unit.known:
        mapper.unmapped.append({"path": path + ".unit", "value": unit_text})
        return {"value": value, "unit": unit_text, "years": None}
    years = round(value / AGE_UNIT_PER_YEAR[unit.value], 4)
    return {"value": value, "unit": unit.value, "years": years}


def build_record(data: dict[str, Any], *, source: str, registry_id: str, url: str | None) -> Record:
    """Validate the parser's dict into a Record; a miss is a ParseError naming the field."""
    try:
        return Record.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise ParseError(f"unexpected value ({first['msg']})", field_path=path, source=source,
                         registry_id=registry_id, url=url) from exc


def none_if_empty(values: list[Any] | None) -> list[Any] | None:
    return values if values else None
