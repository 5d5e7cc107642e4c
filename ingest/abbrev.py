"""Abbreviations a record defines for itself, for the search index.

Trial records define an abbreviation once ("human umbilical cord mesenchymal stem
cells (hUC-MSCs)") and then use only the short form in arms, interventions and
outcomes. A word index cannot know that those later mentions are about umbilical
cord cells; this module finds the record's own definitions and writes the long form
beside each later use (only in the search text, never in the stored record).

Definitions are found with the Schwartz & Hearst rule ("A simple algorithm for
identifying abbreviation definitions in biomedical text", PSB 2003): a short form in
parentheses after its long form, every character of the short form found in order in
the long form, the first at the start of a word, and the long form no longer than
min(|SF| + 5, 2 |SF|) words. Kept stricter than the paper for precision: the short
form must hold a capital letter (so "(optional)" or "(daily)" are never taken) and
the long form at least two letters more than it. The one PyPI package implementing
the rule configures the root logger on import and has had no release since 2019,
hence these few lines of our own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# "(SF)" after a space; the short form: 2-10 characters, at most two words.
_CANDIDATE = re.compile(r"(?<=\s)\(([^\s()][^()]{0,9})\)")
_CLAUSE_END = re.compile(r"[.;:!?()\[\]]\s|[()\[\]]|\n")


def _valid_short(short: str) -> bool:
    return (2 <= len(short) <= 10 and len(short.split()) <= 2 and short[0].isalnum()
            and any(c.isupper() for c in short) and not short.isdigit())


def _long_form(short: str, before: str) -> str | None:
    """The long form ending just before ``(short)``, or None (Schwartz & Hearst)."""
    ends = list(_CLAUSE_END.finditer(before))
    clause = before[ends[-1].end():] if ends else before
    words = clause.split()
    limit = min(len(short) + 5, 2 * len(short))
    window = " ".join(words[-limit:])
    s, l_ = len(short) - 1, len(window) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        # the first character of the short form must begin a word of the long form
        while l_ >= 0 and (window[l_].lower() != c
                           or (s == 0 and l_ > 0 and window[l_ - 1].isalnum())):
            l_ -= 1
        if l_ < 0:
            return None
        s -= 1
        l_ -= 1
    start = window.rfind(" ", 0, l_ + 1) + 1
    long_ = window[start:].strip(" ,")
    if len(long_) < len(short) + 2 or short.lower() in long_.lower().split():
        return None
    return long_


def definitions(texts: Iterable[str | None]) -> dict[str, str]:
    """Short form -> long form, for every definition in ``texts`` (the first one wins)."""
    found: dict[str, str] = {}
    for text_ in texts:
        if not text_ or "(" not in text_:
            continue
        for m in _CANDIDATE.finditer(text_):
            short = m.group(1).strip()
            if short in found or not _valid_short(short):
                continue
            long_ = _long_form(short, text_[:m.start()])
            if long_:
                found[short] = long_
    return found


def _pattern(shorts: Iterable[str]) -> re.Pattern[str]:
    # "hUC-MSC" and "hUC-MSCs" are one abbreviation: an optional plural "s" either way
    stems = sorted({s[:-1] if len(s) > 2 and s.endswith("s") and s[-2].isupper() else s
                    for s in shorts}, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, stems)) + r")s?(?![\w-])")


class Expander:
    """Adds, after a text, the long form of each use of a defined short form."""

    def __init__(self, found: dict[str, str]):
        self._long: dict[str, str] = {}
        for short, long_ in found.items():
            stem = short[:-1] if len(short) > 2 and short.endswith("s") and short[-2].isupper() else short
            self._long.setdefault(stem, long_)
        self._re = _pattern(found) if found else None

    def __call__(self, text_: str | None) -> str | None:
        if not text_ or self._re is None:
            return text_
        uses = []
        for m in self._re.finditer(text_):
            long_ = self._long[m.group(1)]
            if text_[max(0, m.start() - 1)] == "(" and text_[:m.start() - 1].rstrip().lower().endswith(
                    long_.lower()):
                continue  # the definition itself: the long form is already there
            uses.append(long_)
        return text_ + "\n" + "\n".join(uses) if uses else text_
