"""The mirror-page engine: visible lines -> labelled sections -> a Record, by a site's table.

A mirror page is read as the lines a browser shows (:mod:`trialmirror.ingest.parsing.mirror.page`).
A line that is one of the site's labels ("Status and phase", "Ages") starts a
section; the lines up to the next label are its values. With
``inline_labels`` a line "Label: value" is a label with its first value (WHO
ICTRP's table rows). Lines before the first label are the preamble, which a
site may read with its own function (ClinicalTrials.Veeva's title and sponsor
carry no label).

A site whose title has no label names where it goes (``title_path``): the
engine takes it from the page's ``<h1>``, else from its ``<title>`` when that
reads "<title> | <site>" (or "<site> - <title>"), before the preamble reader
runs, and takes the heading's lines out of the page (a title is read once, not
again as a preamble line). An ``<h1>`` that is only the site's name or one of
its labels is no title; a ``<title>`` without the site's name may be a generic
shell's ("Study") and is not trusted.

A site is a :class:`Layout`: labels (with their variants) mapped to value
parsers from :mod:`trialmirror.ingest.parsing.mirror.values`, the labels every page must have,
and the phrases of its not-found page. The engine, not the site, decides:

- a page without the required labels is *not found* when it says so (a soft
  404: HTTP 200 and "no such trial"; in the words of the web's not-found pages,
  :data:`SOFT_404`, or the site's own; a title or heading saying "404" or "not
  found"), else *layout changed*, naming every missing label; neither gives a
  record;
- a page must show the requested registry id, or the record is refused (a
  title slug can lead to another trial's page);
- what the page does not show stays null.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trialmirror.errors import LayoutChangedError, NotFoundError, ParseError
from trialmirror.ingest.parsing.fields import Mapper, build_record, none_if_empty
from trialmirror.ingest.parsing.mirror.page import NotHtmlError, Page, read_page
from trialmirror.models.record import Record
from trialmirror.models.vocab import Vocabulary

# How not-found pages word it across the web, for every site (a Layout adds its own);
# read with typographic apostrophes as plain ones ("doesn’t exist", "can’t be found").
SOFT_404 = re.compile(
    r"(?:page|study|trial|record|content) (?:was |is )?not found|"
    r"(?:couldn't|could not|can't|cannot|can not) (?:be found|find|locate)|does(?:n't| not) exist|"
    r"no longer (?:exists?|available)|no such (?:page|trial|study|record)", re.I)
# A title or heading that opens with the status ("404", "Error 404: ...") or says "not found"
# (not any "404": a trial may be called "ABC-404").
_SOFT_404_HEADING = re.compile(r"^\W*(?:error\W*)?404\b|\bnot found\b", re.I)
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


@dataclass
class Section:
    label: str  # the label as the site's table names it
    heading: str  # the line that opened the section, as the page words it
    lines: list[str] = field(default_factory=list)


class Draft:
    """The record a page parse builds, as the plain dict ``build_record`` validates."""

    def __init__(self, source: str, registry_id: str, url: str | None):
        self.source, self.registry_id, self.url = source, registry_id, url
        self.data: dict[str, Any] = {"registry_id": registry_id, "source": source, "source_url": url}
        self.mapper = Mapper()
        self.ids: list[str] = []  # every trial id the page shows, the registry's included

    def set(self, path: str, value: Any) -> None:
        """``set("eligibility.sex", "ALL")``; None and empty values are not set (null)."""
        if value is None or value == [] or value == "":
            return
        *parents, leaf = path.split(".")
        node = self.data
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = value

    def get(self, path: str) -> Any:
        node: Any = self.data
        for name in path.split("."):
            node = node.get(name) if isinstance(node, dict) else None
        return node

    def enum(self, vocab: Vocabulary, value: str | None, path: str) -> str | None:
        return self.mapper.enum(vocab, value, path)

    def unmapped(self, path: str, value: str, action: str = "kept") -> None:
        self.mapper.flag(path, value, action)


ValueParser = Callable[[Draft, Section], None]


@dataclass(frozen=True)
class Label:
    """One labelled block of a site's page and what reads it.

    ``names``: the label and its variants as pages word them (case and a trailing
    colon do not matter). ``pattern``: instead, a regex the whole line matches, for
    labels that carry a value ("20 participants in 3 patient groups"). ``parse``
    None: a heading whose section is not read (it only ends the one before it).
    """

    names: tuple[str, ...] = ()
    parse: ValueParser | None = None
    required: bool = False
    pattern: re.Pattern[str] | None = None

    @property
    def name(self) -> str:
        return self.names[0] if self.names else (self.pattern.pattern if self.pattern else "?")


@dataclass(frozen=True)
class Layout:
    source: str
    site: str  # for people: "ClinicalTrials.Veeva"
    labels: tuple[Label, ...]
    not_found: tuple[re.Pattern[str], ...] = ()
    inline_labels: bool = False
    title_path: str | None = None  # where the page's own title (h1, <title>) goes, if anywhere
    preamble: Callable[[Draft, list[str]], None] | None = None
    finish: Callable[[Draft], None] | None = None
    _index: dict[str, Label] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Label] = {}
        for label in self.labels:
            for name in label.names:
                key = _key(name)
                if key in index:
                    raise ValueError(f"{self.source}: label {name!r} listed twice")
                index[key] = label
        object.__setattr__(self, "_index", index)

    def match(self, line: str) -> tuple[Label, str | None] | None:
        """The label a line opens, with the value it carries inline (or None)."""
        label = self._index.get(_key(line))
        if label is not None:
            return label, None
        if self.inline_labels and ":" in line:
            head, rest = line.split(":", 1)
            label = self._index.get(_key(head))
            if label is not None:
                return label, rest.strip() or None
        for label in self.labels:
            if label.pattern is not None and label.pattern.fullmatch(line):
                return label, None
        return None


def _key(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split()).rstrip(":").rstrip().casefold()


def sections(layout: Layout, lines: list[str]) -> tuple[list[str], list[Section]]:
    """The preamble lines, then the page's sections in document order."""
    preamble: list[str] = []
    found: list[Section] = []
    for line in lines:
        hit = layout.match(line)
        if hit is not None:
            label, inline = hit
            found.append(Section(label.name, line, [inline] if inline else []))
        elif found:
            found[-1].lines.append(line)
        else:
            preamble.append(line)
    return preamble, found


def parse_page(layout: Layout, raw: bytes, registry_id: str, url: str | None) -> Record:
    """Pure: a mirror page (bytes) -> the record it shows, read by ``layout``."""
    where: dict[str, Any] = {"source": layout.source, "registry_id": registry_id, "url": url}
    try:
        page = read_page(raw)
    except NotHtmlError as exc:
        raise ParseError(f"not an HTML page ({exc})", **where) from exc
    title, lines = page_title(layout, page) if layout.title_path else (None, page.lines)
    preamble, found = sections(layout, lines)
    if title is not None and page.heading != title:  # from <title>: the page may show it too
        preamble = _without_first(preamble, title)
    seen = {s.label for s in found}
    missing = [label.name for label in layout.labels if label.required and label.name not in seen]
    if missing:
        if says_not_found(layout, page):
            raise NotFoundError(f"{layout.site} says it has no such trial", **where)
        raise LayoutChangedError(
            f"the page lacks the labels {', '.join(repr(m) for m in missing)} "
            f"({len(lines)} lines read)", **where)
    draft = Draft(layout.source, registry_id, url)
    by_name = {label.name: label for label in layout.labels}
    if layout.title_path is not None:
        draft.set(layout.title_path, title)
    if layout.preamble is not None:
        layout.preamble(draft, preamble)
    for section in found:
        parse = by_name[section.label].parse
        if parse is None:
            continue
        try:
            parse(draft, section)
        except ValueError:
            # The drift policy: a section whose shape changed leaves its fields null,
            # flagged with the lines as the page showed them; the record stands.
            draft.mapper.flag(f"section:{section.label}", "\n".join([section.heading, *section.lines]),
                              "dropped")
    _check_identity(draft, layout, where)
    if layout.finish is not None:
        layout.finish(draft)
    draft.data["unmapped"] = none_if_empty(draft.mapper.unmapped)
    return build_record(draft.data, source=layout.source, registry_id=registry_id, url=url,
                        mapper=draft.mapper)


def says_not_found(layout: Layout, page: Page) -> bool:
    """Whether a page says there is no such trial (its lines, title and heading)."""
    heads = [h.translate(_APOSTROPHES) for h in (page.title, page.heading) if h]
    if any(_SOFT_404_HEADING.search(h) for h in heads):
        return True
    lines = [line.translate(_APOSTROPHES) for line in page.lines] + heads
    return any(p.search(line) for p in (SOFT_404, *layout.not_found) for line in lines)


def page_title(layout: Layout, page: Page) -> tuple[str | None, list[str]]:
    """The page's own title, and its lines without the heading that showed it."""
    if page.heading and page.heading_at and _is_title(layout, page.heading):
        start, end = page.heading_at
        return page.heading, page.lines[:start] + page.lines[end:]
    title = _less_site_name(layout.site, page.title) if page.title else None
    return (title if title and _is_title(layout, title) else None), page.lines


def _is_title(layout: Layout, text: str) -> bool:
    return _key(text) != _key(layout.site) and layout.match(text) is None


def _less_site_name(site: str, title: str) -> str | None:
    """"Trial title | ClinicalTrials.Veeva" -> "Trial title"; None without the site's name."""
    name = re.escape(site)
    match = (re.fullmatch(rf"(?P<t>.+?)\s*[|\-–—·:]\s*{name}", title, re.I)
             or re.fullmatch(rf"{name}\s*[|\-–—·:]\s*(?P<t>.+)", title, re.I))
    return match["t"].strip() if match else None


def _without_first(lines: list[str], text: str) -> list[str]:
    key = _key(text)
    at = next((i for i, line in enumerate(lines) if _key(line) == key), None)
    return lines if at is None else lines[:at] + lines[at + 1:]


def _check_identity(draft: Draft, layout: Layout, where: dict[str, Any]) -> None:
    shown = [i.upper() for i in draft.ids]
    if not shown:
        raise LayoutChangedError("the page shows no trial id to check it against", **where)
    if draft.registry_id.upper() not in shown:
        raise ParseError(f"the page is for {', '.join(draft.ids)}, not {draft.registry_id}; "
                         f"{layout.site} may address another trial under this URL", **where)
