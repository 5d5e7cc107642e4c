"""Canonical plain text, the same whichever markup a source wrote.

ClinicalTrials.gov API v2 writes text fields in a Markdown dialect with
backslash escapes (``\\<``, ``\\>``, ``\\*``); its record-history endpoints write
the same fields as HTML with entities (``<p>``, ``<ul><li>``, ``&#x2F;``). The
record must hash the same either way, so both become one canonical form:

- one line per paragraph, list item or line break; blank lines are dropped;
- whitespace inside a line collapses to single spaces;
- list items start ``* `` (unordered) or ``N. `` (ordered), indented by two
  spaces per nesting level; a list item's further lines (continuations,
  paragraphs inside it) are indented like its text;
- escapes, entities, emphasis and tags are undone; a link keeps its text and,
  when different, its address: ``text (https://...)``.
"""

from __future__ import annotations

import re
from typing import Literal

import lxml.html
from lxml import etree

Markup = Literal["markdown", "html"]

_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>~|=^&\"'$%:;,/?@])")
_MD_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[*+\-]|\d{1,3}[.)])[ \t]+(?P<text>\S.*)$")
_ITEM_START = frozenset(" \t*+-0123456789")  # a list item's first character
_ITEM_LINE = re.compile(r"\n[ \t]*(?:[*+\-]|\d{1,3}[.)])[ \t]")  # a later line that may be one
_MD_STRONG = re.compile(r"(?<!\\)(\*\*|__)(?=\S)(.+?)(?<=\S)(?<!\\)\1")
_MD_EM = re.compile(r"(?<![\\*\w])\*(?=[^\s*])([^*\n]+?)(?<=[^\s\\])\*(?![*\w])")
_MD_LINK = re.compile(r"(?<!\\)\[([^\]\n]+)\]\(([^)\s]+)\)")
_BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
    "blockquote", "pre", "dl", "dt", "dd", "hr", "section",
})


def unescape_markdown(text: str) -> str:
    """``"\\< or = 6.5 hours"`` -> ``"< or = 6.5 hours"``."""
    if "\\" not in text:
        return text
    return _MD_ESCAPE.sub(r"\1", text)


def _link(text: str, href: str) -> str:
    return text if text == href or not href else f"{text} ({href})"


def _md_inline(line: str) -> str:
    """Emphasis and links undone, escapes undone, whitespace collapsed."""
    if "*" in line:
        line = _MD_EM.sub(r"\1", _MD_STRONG.sub(r"\2", line))
    elif "__" in line:
        line = _MD_STRONG.sub(r"\2", line)
    if "](" in line:
        line = _MD_LINK.sub(lambda m: _link(m[1], m[2]), line)
    if "\\" in line:
        line = _MD_ESCAPE.sub(r"\1", line)
    return collapse(line)


def collapse(line: str) -> str:
    """Whitespace tidied: a line with a run of spaces, a tab, a no-break space or a
    carriage return has every whitespace run (as str.split sees them) made one space;
    any line loses its leading and trailing whitespace. Every markup goes through
    this one function, so they agree; the cheap checks first because most lines
    need nothing and splitting allocates."""
    if "  " in line or "\t" in line or "\xa0" in line or "\r" in line:
        return " ".join(line.split())
    return line.strip()  # the same string when there is nothing to strip


def _has_inline_markup(text: str) -> bool:
    return "\\" in text or "*" in text or "](" in text or "__" in text


def _markdown(text: str) -> list[str]:
    # Fast paths first: most fields hold no list, and many no markup at all.
    inline = _md_inline if _has_inline_markup(text) else collapse
    if text[:1] not in _ITEM_START:
        if "\n" not in text and "\r" not in text:
            line = inline(text)
            return [line] if line else []
        if _ITEM_LINE.search(text) is None:  # no list: no loop
            return [line for line in map(inline, text.splitlines()) if line]
    lines: list[str] = []
    levels: list[int] = []  # indentation of each open list level
    for raw in text.splitlines():
        first = raw[:1]
        if first == "*" and raw[1:2] == " " and raw[2:3] not in ("", " "):
            # "* text" at the margin, the commonest line of a criteria text: no regex
            while levels and levels[-1] > 0:
                levels.pop()
            if not levels:
                levels.append(0)
            lines.append("* " + inline(raw[2:]) if len(levels) == 1 else
                         "  " * (len(levels) - 1) + "* " + inline(raw[2:]))
            continue
        item = _MD_ITEM.match(raw) if first in _ITEM_START else None
        if item is None:
            line = inline(raw)
            if not line:
                continue  # Markdown allows blank lines inside lists
            # A continuation belongs to the innermost item whose marker stands left
            # of it; a flush-left paragraph ends every list.
            if levels:
                indent = len(raw.expandtabs(4)) - len(raw.expandtabs(4).lstrip()) if first else 0
                while levels and levels[-1] >= indent:
                    levels.pop()
            lines.append("  " * len(levels) + line if levels else line)
            continue
        indent = len(item["indent"].expandtabs(4))
        while levels and indent < levels[-1]:
            levels.pop()
        if not levels or indent > levels[-1]:
            levels.append(indent)
        marker = item["marker"]
        prefix = f"{marker[:-1]}. " if marker[0].isdigit() else "* "
        lines.append("  " * (len(levels) - 1) + prefix + inline(item["text"]))
    return lines


class _HtmlLines:
    """Walks an HTML fragment, emitting canonical lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.buffer: list[str] = []
        self.prefix = ""  # the marker of the list item whose first line is pending
        self.items: list[str] = []  # indentation of the text of each open list item

    def flush(self) -> None:
        line = collapse("".join(self.buffer))
        if line:
            indent = self.prefix or (self.items[-1] if self.items else "")
            self.lines.append(indent + line)
            self.prefix = ""  # further lines of the item are indented like its text
        self.buffer.clear()

    def text(self, value: str | None) -> None:
        if not value:
            return
        first, *rest = value.split("\n")  # a line break in the source text stays one
        self.buffer.append(first)
        for part in rest:
            self.flush()
            self.buffer.append(part)

    def walk(self, element: etree._Element, depth: int) -> None:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in ("ul", "ol"):
            self.flush()
            number = 0
            for child in element:
                if isinstance(child.tag, str) and child.tag == "li":
                    number += 1
                    marker = f"{number}. " if tag == "ol" else "* "
                    self.flush()
                    self.prefix = "  " * depth + marker
                    self.items.append("  " * (depth + 1))
                    self.text(child.text)
                    for grandchild in child:
                        self.walk(grandchild, depth + 1)
                        self.text(grandchild.tail)
                    self.flush()
                    self.items.pop()
                    self.prefix = ""
                else:
                    self.walk(child, depth)
                self.text(child.tail)
            self.flush()
            return
        if tag in _BLOCK_TAGS:
            self.flush()
        if tag == "a" and element.get("href"):
            self.text(_link(element.text_content(), element.get("href", "")))
        else:
            self.text(element.text)
            for child in element:
                self.walk(child, depth)
                self.text(child.tail)
        if tag in _BLOCK_TAGS:
            self.flush()


def _html(text: str) -> list[str]:
    if "<" not in text and "&" not in text:
        return [line for line in map(collapse, text.splitlines()) if line]
    root = lxml.html.fragment_fromstring(text, create_parent="div")
    walker = _HtmlLines()
    walker.walk(root, 0)
    walker.flush()
    return walker.lines


def clean(text: str | None, markup: Markup = "markdown") -> str | None:
    """Canonical plain text of a field, or None for a missing or blank value."""
    if text is None:
        return None
    if (markup == "markdown" and "\n" not in text and "\r" not in text
            and text[:1] not in _ITEM_START and not _has_inline_markup(text)):
        return collapse(text) or None  # one plain line without markup: most fields
    lines = _html(text) if markup == "html" else _markdown(text)
    return "\n".join(lines) or None


def clean_line(text: str | None, markup: Markup = "markdown") -> str | None:
    """A one-line value (titles, names): markup undone, whitespace runs as one space."""
    if text is None:
        return None
    if markup == "html":
        if "<" in text or "&" in text:
            text = lxml.html.fragment_fromstring(text, create_parent="div").text_content()
    elif "\\" in text:
        text = unescape_markdown(text)
    return collapse(text) or None
