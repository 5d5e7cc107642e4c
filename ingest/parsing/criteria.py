"""Eligibility criteria text -> inclusion / exclusion items.

Real texts (see the corpus walk in tests/ingest/test_corpus.py) head their
sections in many spellings: "Inclusion Criteria:", "Key Inclusion Criteria",
"INCLUSION CRITERIA", "Main inclusion criteria", "Non-inclusion criteria:"
(an exclusion list), "Exclusion Criteria: contra-indication" (header and first
item on one line), "D) Other Exclusion Criteria:". Items are bullets (``*``,
``-``, ``•``), numbered or lettered lines (``1.``, ``2)``, ``a)``) or plain
paragraphs. A bullet indented deeper than the one before it belongs to that
item and is kept inside it, one ``- child`` line each. Lines such as "Other
protocol-defined inclusion/exclusion criteria may apply." are items, not headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_BULLET = re.compile(
    r"^(?P<indent>[ \t]*)"
    r"(?:[*\-•·▪●○◦+‣⁃]|\(?\d{1,3}[.)](?!\d)|\(?[a-zA-Z][.)](?=\s)|\(?[ivxIVX]{1,4}[.)](?=\s))"
    r"\s+(?P<text>.*)$"
)
_HEAD_PREFIX = re.compile(r"^(?:[*#_\s]+|[A-Za-z\d]{1,2}[.)]\s+)")
_HEAD_WORD = re.compile(r"\b(non[-\s]?)?(inclusion|exclusion)s?\b", re.IGNORECASE)
_HEAD_NOUN = re.compile(r"criteri|citeria|\b(?:in|ex)clusions?\s*$", re.IGNORECASE)
_NOT_A_HEAD = re.compile(r"^note\b|\bapply\b|\bapplies\b|\bapplied\b", re.IGNORECASE)
_MAX_HEAD = 110


@dataclass
class Split:
    inclusion: list[str] = field(default_factory=list)
    exclusion: list[str] = field(default_factory=list)
    unclassified: list[str] = field(default_factory=list)
    headed: bool = False


# The spellings nine records in ten use, answered without the regexes below.
_COMMON = {f"{prefix}{kind} criteria{colon}": kind for prefix in ("", "key ", "main ")
           for kind in ("inclusion", "exclusion") for colon in ("", ":", " :")}


def header_kind(line: str) -> tuple[str | None, str]:
    """``("inclusion"|"exclusion"|None, rest_of_line)`` for one line of text."""
    common = _COMMON.get(line.strip().lower())
    if common is not None:
        return common, ""
    stripped = _HEAD_PREFIX.sub("", line.strip()).strip("*_ ")
    head, _, rest = stripped.partition(":")
    head = head.strip("*_ ")
    if not head or len(head) > _MAX_HEAD or _NOT_A_HEAD.search(head):
        return None, line
    if not rest and stripped.rstrip().endswith(".") and not stripped.rstrip().endswith(":."):
        return None, line  # a sentence that mentions criteria, not a heading
    words = _HEAD_WORD.findall(head)
    if not words or not _HEAD_NOUN.search(head):
        return None, line
    kinds = {"exclusion" if neg or word.lower() == "exclusion" else "inclusion" for neg, word in words}
    if len(kinds) != 1:
        return None, line
    return kinds.pop(), rest.strip(" .*_")


def _line_header(line: str) -> tuple[str | None, str]:
    """A header line, or a bullet that holds nothing but a header ("* Inclusion Criteria:",
    seen in NCT05161130); a bullet with more after the header stays an item."""
    if "clusion" not in line and "CLUSION" not in line:
        return None, line  # the fast path: most lines name neither kind of criteria
    bullet = _BULLET.match(line)
    if bullet is None:
        return header_kind(line)
    kind, rest = header_kind(bullet["text"])
    return (kind, "") if kind and not rest else (None, line)


def _bullet(raw: str) -> tuple[int, str] | None:
    """``(indent, text)`` of a bullet line, or None."""
    stripped = raw.lstrip(" ")
    if stripped[:2] == "* " and stripped[2:3] not in ("", " "):
        return len(raw) - len(stripped), stripped[2:].strip()  # canonical "* ": no regex
    match = _BULLET.match(raw)
    return (len(match["indent"].expandtabs(4)), match["text"].strip()) if match else None


def _items(lines: list[str]) -> list[str]:
    """Group the lines of one section into items, children kept with parents."""
    items: list[list[str]] = []
    parent_indent: int | None = None
    for raw in lines:
        if not raw.strip():
            continue  # blank lines between a bullet and its children
        bullet = _bullet(raw)
        if bullet:
            indent, text = bullet
            if items and parent_indent is not None and indent > parent_indent:
                items[-1].append("- " + text)
                continue
            parent_indent = indent
            items.append([text])
        elif items and parent_indent is not None and raw[:1] in " \t":
            items[-1][-1] += " " + raw.strip()  # a wrapped continuation line
        else:
            parent_indent = None
            items.append([raw.strip()])
    return [text for text in ("\n".join(i).strip() for i in items) if text]


def split_criteria(text: str) -> Split:
    """Split eligibility text (canonical, see trialmirror.ingest.parsing.text) into its items; headers
    decide which list they join."""
    result = Split()
    target = result.unclassified
    section: list[str] = []

    def flush() -> None:
        target.extend(_items(section))
        section.clear()

    for line in text.split("\n"):
        kind, rest = _line_header(line)
        if kind is None:
            section.append(line)
            continue
        flush()
        result.headed = True
        target = result.inclusion if kind == "inclusion" else result.exclusion
        if rest:
            section.append(rest)
    flush()
    return result
