"""The source contract: what every source provides, and what it yields (captures).

A source is a module (or package) ending with ``SOURCE = source_of(globals())``:

- ``NAME``, ``LABEL`` (for people), ``ROLE`` (``registry``: the registry's own
  record; ``mirror``: a site that republishes it), ``RANK`` (registry sources
  only: on one ``valid_from`` the higher rank is the newer state, so the live
  record beats its history), ``PARSER_VERSION`` (bumped when ``parse`` output
  changes for the same bytes);
- ``validate_id(id)``; ``url(settings, id, known)``: where the record is;
- ``captures(http, settings, known)``: yields what it fetched for one record, each
  a :class:`Capture` (bytes plus what they are). A source that fetches one page
  per record writes a thin ``fetch`` instead, and ``source_of`` makes it the one
  capture; a record history yields its version list, then one capture per
  version not stored yet;
- ``parse(raw, id, url=None)``: pure, one capture's bytes to the record.

Sources never touch the store: what they need to know of it comes in ``known``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, Protocol
from urllib.parse import urljoin

from trialmirror.errors import ConfigError, TrialmirrorError
from trialmirror.ingest.http import Fetched, Http
from trialmirror.models.record import Record
from trialmirror.settings import Settings
from trialmirror.urls import page_url

Role = Literal["registry", "mirror"]
ROLES: tuple[Role, ...] = ("registry", "mirror")


@dataclass
class Known:
    """What the store knows about a record that a source may need, read on demand
    (a mirror addresses a study by its title, a history skips the versions stored;
    most sources never ask)."""

    registry_id: str
    pinned_url: str | None = None
    title_lookup: Callable[[], str | None] = field(default=lambda: None, repr=False)
    etag: str | None = None  # validators of the last capture stored: a conditional GET
    last_modified: str | None = None
    stored_lookup: Callable[[], set[int]] = field(default=set, repr=False)

    @cached_property
    def brief_title(self) -> str | None:
        return self.title_lookup()

    @cached_property
    def stored_versions(self) -> set[int]:
        """Upstream version numbers already fetched and stored (record history)."""
        return self.stored_lookup()


@dataclass(frozen=True)
class Capture:
    """One payload a source fetched for a record, and what it is.

    ``listing`` marks a list of what to fetch next (a history's version list): it is
    archived and logged, never parsed into a record; ``error`` is set when the
    listing could not be read (nothing follows it then), ``follow`` says how many
    captures follow it otherwise.
    """

    raw: bytes
    url: str
    http_status: int | None = None
    attempts: int | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    valid_from: str | None = None  # when the source says this state became current
    upstream_version: int | None = None  # the source's own version number (history)
    produced_by: str = "fetch"
    listing: bool = False
    follow: int | None = None
    error: TrialmirrorError | None = None

    @property
    def not_modified(self) -> bool:
        return self.http_status == 304

    @classmethod
    def of(cls, fetched: Fetched, *, valid_from: str | None = None, upstream_version: int | None = None,
           produced_by: str = "fetch") -> Capture:
        """A record's capture from what Http.get returned."""
        return cls(fetched.body, fetched.url, fetched.status, fetched.attempts,
                   fetched.headers.get("content-type"), fetched.etag, fetched.last_modified,
                   valid_from=valid_from, upstream_version=upstream_version, produced_by=produced_by)


def absolute_url(base: str, url: str) -> str:
    """A pinned URL may be absolute or a path on the source's base URL."""
    return urljoin(base + "/", url) if not re.match(r"^[a-z][a-z0-9+.-]*://", url, re.I) else url


def pinned_page(base: str, source: str, known: Known) -> str:
    """The pinned page's address (``known.pinned_url``, absolute or a path on ``base``).
    Pins are checked when given; one stored before that, that is no http(s) page, is
    this record's configuration error: the other records and sources go on."""
    pinned = known.pinned_url or ""
    try:
        page_url(pinned)
    except ValueError as exc:
        raise ConfigError(f"{exc}; pin another with `trialmirror watch add {known.registry_id} "
                          f"--source {source} --url URL`", source=source,
                          registry_id=known.registry_id) from None
    return absolute_url(base, pinned)


class Source(Protocol):
    """A source: ``captures`` (I/O through the shared Http) and a pure ``parse``."""

    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...  # for people: "ClinicalTrials.gov"

    @property
    def role(self) -> Role: ...

    @property
    def rank(self) -> int: ...  # registry sources: the newer state on one valid_from

    @property
    def parser_version(self) -> int: ...

    def validate_id(self, registry_id: str) -> str: ...

    def url(self, settings: Settings, registry_id: str, known: Known | None = None) -> str: ...

    def captures(self, http: Http, settings: Settings, known: Known) -> Iterator[Capture]: ...

    def parse(self, raw: bytes, registry_id: str, *, url: str | None = None) -> Record: ...


Captures = Callable[[Http, Settings, Known], Iterator[Capture]]


@dataclass(frozen=True)
class ModuleSource:
    """A source whose parts are the module-level names of its module (see ctgov)."""

    name: str
    label: str
    role: Role
    rank: int
    parser_version: int
    validate_id: Callable[[str], str]
    url: Callable[..., str]
    captures: Captures
    parse: Callable[..., Record]


def one_capture(url: Callable[..., str], fetch: Callable[..., Fetched]) -> Captures:
    """``captures`` for a source that fetches one page per record: a conditional GET
    of the URL ``url`` gives, with the validators of the last capture stored."""

    def captures(http: Http, settings: Settings, known: Known) -> Iterator[Capture]:
        target = url(settings, known.registry_id, known)
        yield Capture.of(fetch(http, settings, known.registry_id, target=target, etag=known.etag,
                               last_modified=known.last_modified))

    return captures


def source_of(namespace: dict[str, Any]) -> Source:
    """``SOURCE = source_of(globals())`` at the end of a source module."""
    role = namespace["ROLE"]
    if role not in ROLES:
        raise ValueError(f"source {namespace['NAME']!r}: ROLE {role!r} is none of {ROLES}")
    captures = namespace.get("captures") or one_capture(namespace["url"], namespace["fetch"])
    return ModuleSource(namespace["NAME"], namespace["LABEL"], role, namespace.get("RANK", 0),
                        namespace["PARSER_VERSION"], namespace["validate_id"], namespace["url"],
                        captures, namespace["parse"])
