"""A web page as the lines of text a browser shows, in document order (mirror pages).

Mirror sites change their markup more often than their wording, so parsers of
their pages read these lines, never the tags: any markup that renders the same
text gives the same lines. Rules, after a browser's ``innerText``:

- block elements (``div``, ``p``, ``li``, headings, table rows ...) and ``<br>``
  end a line; table cells on one row are one line, separated by a space;
- whitespace runs (``&nbsp;`` included) are one space; empty lines are dropped;
- a list item starts with "• ", the marker a browser draws (and a copy of the
  page's text keeps), unless its text starts with a bullet of its own;
- ``<pre>`` keeps its own line breaks;
- what a browser does not show is skipped: ``script``, ``style``, ``template``,
  ``title`` and the other metadata of ``head``, elements with ``hidden`` or an inline ``display: none``, a ``<dialog>``
  that is not ``open``;
- the site's chrome is skipped too, by its ARIA landmarks: ``nav``, ``aside``, and a
  ``header`` or ``footer`` of the page (not one inside ``main``, ``article``,
  ``section``, ``aside`` or ``nav``, which is a part of the content, as in ARIA), and any
  element whose ``role`` is navigation, banner, contentinfo, search, complementary,
  dialog or alertdialog. A menu link and its button render on one line
  ("ClinicalTrials.VeevaMenu"), which no site's wording list can foresee, and a
  sidebar's lines would land in whichever section they follow.

:func:`read_page` also gives the page's own title: its first ``<h1>`` outside the
chrome, with the lines that heading made (so a reader can take it out of the
lines and count it once), and the ``<title>`` text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import lxml.etree
import lxml.html
from bs4.dammit import EncodingDetector, UnicodeDammit

_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1",
    "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "legend", "li", "main", "menu",
    "nav", "ol", "option", "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead",
    "tr", "ul",
})
HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"  # what mirrors are asked for
# Not "head" itself: libxml2, which knows no HTML5 element, puts a body-less page's
# <header>, <nav>, <main> ... into <head>, where a browser would have moved them to the body.
_SKIP = frozenset({"script", "style", "noscript", "template", "title", "meta", "link", "base",
                   "iframe", "object", "svg", "math"})
_CELL = frozenset({"td", "th"})
_CHROME_TAGS = frozenset({"nav", "aside"})
_PAGE_SCOPED = frozenset({"header", "footer"})  # banner, contentinfo: only outside the content
_SECTIONING = frozenset({"article", "aside", "main", "nav", "section"})
_CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "complementary",
                           "dialog", "alertdialog"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_SPACE = re.compile(r"\s+")
_BULLETED = re.compile(r"^\s*[•·▪●○◦‣⁃]")


class NotHtmlError(ValueError):
    """The bytes hold no HTML document (empty, or not markup at all)."""


@dataclass(frozen=True)
class Page:
    """What a browser shows of a page: its lines, and the page's title twice over."""

    lines: list[str]
    heading: str | None = None  # the first <h1> outside the chrome, as one line
    heading_at: tuple[int, int] | None = None  # lines[start:end] are the heading's
    title: str | None = None  # the <title>, site name and all


def _hidden(el: lxml.html.HtmlElement, tag: str) -> bool:
    if el.get("hidden") is not None or (tag == "dialog" and el.get("open") is None):
        return True
    style = el.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._buf: list[str] = []
        self._inside_content = 0  # open sectioning elements: their header/footer is content
        self.heading_at: tuple[int, int] | None = None

    def add(self, text: str | None) -> None:
        if text:
            self._buf.append(text)

    def end_line(self) -> None:
        if self._buf:
            line = _SPACE.sub(" ", "".join(self._buf)).strip()
            self._buf.clear()
            if line:
                self.lines.append(line)

    def walk(self, el: lxml.html.HtmlElement) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else None  # comments: only their tail shows
        if tag is not None and tag not in _SKIP and not _hidden(el, tag):
            role = el.get("role")  # inline, not a helper: this runs for every element of a page
            role = role.split()[0].casefold() if role and not role.isspace() else None
            if role is not None:  # an explicit role is what the element is, whatever its tag
                chrome = role in _CHROME_ROLES
            else:
                chrome = tag in _CHROME_TAGS or (tag in _PAGE_SCOPED and not self._inside_content)
            if not chrome:
                sectioning = tag in _SECTIONING or role == "main"
                if sectioning:
                    self._inside_content += 1
                if tag == "h1" and self.heading_at is None:
                    self._heading(el)
                else:
                    self._element(el, tag)
                if sectioning:
                    self._inside_content -= 1
        self.add(el.tail)

    def _heading(self, el: lxml.html.HtmlElement) -> None:
        self.end_line()
        start = len(self.lines)
        self._element(el, "h1")
        if len(self.lines) > start:  # an empty <h1> is no heading; a later one may be
            self.heading_at = (start, len(self.lines))

    def _element(self, el: lxml.html.HtmlElement, tag: str) -> None:
        if tag == "br":
            self.end_line()
            return
        block = tag in _BLOCK
        if block:
            self.end_line()
        elif tag in _CELL:
            self.add(" ")
        if tag == "li" and not _BULLETED.match(el.text or ""):
            self.add("• ")  # the marker a browser draws (and a copy of the page keeps)
        if tag == "pre":
            for line in el.text_content().splitlines():
                self.add(line)
                self.end_line()
        else:
            self.add(el.text)
            for child in el:
                self.walk(child)
        if block:
            self.end_line()


def page_lines(raw: bytes) -> list[str]:
    """The visible text lines of an HTML page (see :func:`read_page`)."""
    return read_page(raw).lines


def read_page(raw: bytes) -> Page:
    """The visible text lines of an HTML page, its first heading and its title; the encoding
    is found the way browsers do (``<meta charset>``, byte-order mark, then UTF-8, then
    windows-1252)."""
    # The declared charset; else UTF-8, then the web's default, before any statistical
    # guess (short pages fool it).
    declared = EncodingDetector.find_declared_encoding(raw, is_html=True)
    text = UnicodeDammit(raw, known_definite_encodings=[declared] if declared else [],
                         user_encodings=["utf-8", "windows-1252"], is_html=True).unicode_markup
    if not text or not text.strip():
        raise NotHtmlError("empty page")
    # lxml refuses str input that declares an encoding in an XML prolog.
    text = re.sub(r"^\s*<\?xml[^>]*>", "", text)
    try:
        root = lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise NotHtmlError(str(exc)) from exc
    lines = _Lines()
    lines.walk(root)
    lines.end_line()
    at = lines.heading_at
    heading = " ".join(lines.lines[at[0]:at[1]]) if at is not None else None
    return Page(lines.lines, heading, at, _title(root))


def _title(root: lxml.html.HtmlElement) -> str | None:
    found = root.find("head/title")
    text = _SPACE.sub(" ", found.text_content()).strip() if found is not None else ""
    return text or None
