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
  ``head``, elements with ``hidden`` or an inline ``display: none``.
"""

from __future__ import annotations

import re

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
_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "iframe", "object",
                   "svg", "math"})
_CELL = frozenset({"td", "th"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_SPACE = re.compile(r"\s+")
_BULLETED = re.compile(r"^\s*[•·▪●○◦‣⁃]")


class NotHtmlError(ValueError):
    """The bytes hold no HTML document (empty, or not markup at all)."""


def _hidden(el: lxml.html.HtmlElement) -> bool:
    if el.get("hidden") is not None:
        return True
    style = el.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._buf: list[str] = []

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
        tag = el.tag if isinstance(el.tag, str) else None  # comments: only their tail shows
        if tag is not None and tag not in _SKIP and not _hidden(el):
            self._element(el, tag.lower())
        self.add(el.tail)

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
    """The visible text lines of an HTML page; the encoding is found the way browsers do
    (``<meta charset>``, byte-order mark, then UTF-8, then windows-1252)."""
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
    return lines.lines
