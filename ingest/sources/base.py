"""What every source provides, and the helpers their pure parsers share."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import urljoin

from pydantic import ValidationError

from trialmirror.ingest.errors import ParseError
from trialmirror.ingest.http import Fetched, Http
from trialmirror.ingest.settings import Settings
from trialmirror.models.record import Record
from trialmirror.models.vocab import AGE_UNIT, AGE_UNIT_PER_YEAR, Vocabulary


@dataclass
class Known:
    """What the store knows about a record that a URL rule may need, read on demand
    (a mirror addresses a study by its title; most sources never ask)."""

    registry_id: str
    pinned_url: str | None = None
    title_lookup: Callable[[], str | None] = field(default=lambda: None, repr=False)

    @cached_property
    def brief_title(self) -> str | None:
        return self.title_lookup()


def absolute_url(base: str, url: str) -> str:
    """A pinned URL may be absolute or a path on the source's base URL."""
    return urljoin(base + "/", url) if not re.match(r"^[a-z][a-z0-9+.-]*://", url, re.I) else url


class Source(Protocol):
    """A source: a thin ``fetch`` (I/O through the shared Http) and a pure ``parse``.

    ``url`` decides where the record is (``known`` supplies the record's title or a
    pinned URL to sources that need them); the pipeline passes it to ``fetch`` as
    ``target``, so the URL logged is the URL fetched.
    """

    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...  # for people: "ClinicalTrials.gov"

    @property
    def parser_version(self) -> int: ...  # bump when parse() output changes for the same bytes

    def validate_id(self, registry_id: str) -> str: ...

    def url(self, settings: Settings, registry_id: str, known: Known | None = None) -> str: ...

    def fetch(self, http: Http, settings: Settings, registry_id: str, *, target: str | None = None,
              etag: str | None = None, last_modified: str | None = None) -> Fetched: ...

    def parse(self, raw: bytes, registry_id: str, *, url: str | None = None) -> Record: ...


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


@dataclass(frozen=True)
class ModuleSource:
    """A source whose parts are the module-level names of its module (see ctgov.py)."""

    name: str
    label: str
    parser_version: int
    validate_id: Callable[[str], str]
    url: Callable[..., str]
    fetch: Callable[..., Fetched]
    parse: Callable[..., Record]


def source_of(namespace: dict[str, Any]) -> Source:
    """``SOURCE = source_of(globals())`` at the end of a source module."""
    return ModuleSource(namespace["NAME"], namespace["LABEL"], namespace["PARSER_VERSION"],
                        namespace["validate_id"], namespace["url"], namespace["fetch"],
                        namespace["parse"])


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
