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
_CANDIDATE = re.compile(r"\(([^\s()][^()]{0,9})\)")  # and whitespace before it
# where a clause ends: a long form never reaches back over one of these
_CLAUSE_ENDS = (". ", "; ", ": ", "! ", "? ", "(", ")", "[", "]", "\n")
# A long form has at most 15 words (2 x 10 letters, capped at 10 + 5): what precedes
# a candidate further back than this is never read.
_WINDOW = 400


def _valid_short(short: str) -> bool:
    return (2 <= len(short) <= 10 and len(short.split()) <= 2 and short[0].isalnum()
            and any(c.isupper() for c in short) and not short.isdigit())


def _long_form(short: str, before: str) -> str | None:
    """The long form ending just before ``(short)``, or None (Schwartz & Hearst)."""
    cut = max(before.rfind(end) + len(end) if end in before else 0 for end in _CLAUSE_ENDS)
    words = before[cut:].split()
    joined = " ".join(words[-min(len(short) + 5, 2 * len(short)):])
    window = joined.lower()
    if len(window) != len(joined):
        return None  # a letter whose lower case is longer: positions would not line up
    at = len(window)
    # each character of the short form, right to left, found leftwards in the window
    for c in reversed(short[1:].lower()):
        if c.isalnum():
            at = window.rfind(c, 0, at)
            if at < 0:
                return None
    first = short[0].lower()
    at = window.rfind(first, 0, at)
    while at > 0 and window[at - 1].isalnum():  # ... the first one beginning a word
        at = window.rfind(first, 0, at)
    if at < 0:
        return None
    long_ = joined[joined.rfind(" ", 0, at) + 1:].strip(" ,")
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
            if m.start() == 0 or not text_[m.start() - 1].isspace():
                continue
            short = m.group(1).strip()
            if short in found or not _valid_short(short):
                continue
            long_ = _long_form(short, text_[max(0, m.start() - _WINDOW):m.start()])
            if long_:
                found[short] = long_
    return found


def _stem(short: str) -> str:
    # "hUC-MSC" and "hUC-MSCs" are one abbreviation: an optional plural "s" either way
    return short[:-1] if len(short) > 2 and short.endswith("s") and short[-2].isupper() else short


def _joined(c: str) -> bool:
    return c.isalnum() or c in "-_"


class Expander:
    """Adds, after a text, the long form of each use of a defined short form.

    Runs on the store's write path for every version: plain ``str.find`` per short
    form (a record defines four on average) rather than a regex compiled per record.
    """

    def __init__(self, found: dict[str, str]):
        self._long: dict[str, str] = {}
        for short, long_ in found.items():
            self._long.setdefault(_stem(short), long_)

    def __call__(self, text_: str | None) -> str | None:
        if not text_ or not self._long:
            return text_
        uses: list[tuple[int, str]] = []
        for stem, long_ in self._long.items():
            at = text_.find(stem)
            while at >= 0:
                end = at + len(stem)
                if end < len(text_) and text_[end] == "s":
                    end += 1
                if ((at == 0 or not _joined(text_[at - 1])) and (end == len(text_) or not _joined(text_[end]))
                        and not self._defining(text_, at, long_)):
                    uses.append((at, long_))
                at = text_.find(stem, at + 1)
        if not uses:
            return text_
        return text_ + "\n" + "\n".join(long_ for _, long_ in sorted(uses))

    @staticmethod
    def _defining(text_: str, at: int, long_: str) -> bool:
        """``at`` is inside "long form (SF)": the long form is already there."""
        return at > 0 and text_[at - 1] == "(" and text_[max(0, at - 2 - len(long_) - 2):at - 1].rstrip(
            ).lower().endswith(long_.lower())
