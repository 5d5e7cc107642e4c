"""Plain-text normalization shared by every source.

ClinicalTrials.gov API v2 writes text fields in a Markdown dialect with
backslash escapes (``\\>``, ``\\<``, ``\\~``, ``\\*``); the record holds the text a
reader sees, so the escapes are undone here and whitespace is tidied in the
same way for every source, which keeps the content hash independent of markup.
"""

from __future__ import annotations

import re

_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>~|=^&\"'$%:;,/?@])")
_TRAILING_WS = re.compile(r"[ \t\u00a0]+$", re.MULTILINE)
_MANY_BLANKS = re.compile(r"\n{3,}")


def unescape_markdown(text: str) -> str:
    """``"\\< or = 6.5 hours"`` -> ``"< or = 6.5 hours"``."""
    if "\\" not in text:
        return text
    return _MD_ESCAPE.sub(r"\1", text)


def clean(text: str | None) -> str | None:
    """Normalized plain text, or None for a missing or blank value."""
    if text is None:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = unescape_markdown(text)
    # The regexes are the slow part of a parse; most texts need neither.
    if " \n" in text or "\t" in text or "\u00a0" in text:
        text = _TRAILING_WS.sub("", text)
    if "\n\n\n" in text:
        text = _MANY_BLANKS.sub("\n\n", text)
    text = text.strip()
    return text or None


def clean_line(text: str | None) -> str | None:
    """A one-line value (titles, names): inner whitespace runs become one space."""
    if text is None:
        return None
    if "\\" in text:
        text = unescape_markdown(text)
    text = " ".join(text.split())
    return text or None
