"""Eligibility criteria text -> inclusion / exclusion items, in the groups the text draws.

Real texts (see the corpus walk in tests/ingest/test_corpus.py) head their
sections in many spellings: "Inclusion Criteria:", "Key Inclusion Criteria",
"INCLUSION CRITERIA", "Main inclusion criteria", "Non-inclusion criteria:"
(an exclusion list), "Exclusion Criteria: contra-indication" (header and more on
one line). Items are bullets (``*``, ``-``, ``•``), numbered or lettered lines
(``1.``, ``2)``, ``a)``) or plain paragraphs. A bullet indented deeper than the
one before it belongs to that item and is kept inside it, one ``- child`` line each.

A header is a header-shaped line, not any line that names criteria: a noun phrase,
short, with no verb, ending in a colon or nothing ("Partner Inclusion Criteria",
"Specific exclusion criteria for renal transplant (RTx) patients:"). A bullet that
mentions the other list ("* Does not meet inclusion criteria;", NCT03840161) or a
sentence ("Other exclusion criteria apply according to the US Product Information")
is an item.

Besides the main inclusion and exclusion headers, a text may draw groups: the
sub-headings of cohorts, partners, phases or parts, with or without a kind of
their own ("Patient Exclusion Criteria:", "Pre-/Intra-operative", "A) Previous or
current medical conditions:"), and lead-in sentences that introduce a list ("Subjects
presenting with any of the following will not be included in the trial:"). Each
item stays in the group it sits in; the headings and lead-ins are kept with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_BULLET = re.compile(
    r"^(?P<indent>[ \t]*)"
    r"(?:[*\-•·▪●○◦+‣⁃]|\(?\d{1,3}[.)](?!\d)|\(?[a-zA-Z][.)](?=\s)|\(?[ivxIVX]{1,4}[.)](?=\s))"
    r"\s+(?P<text>.*)$"
)
_SYMBOLS = frozenset("*-•·▪●○◦+‣⁃")
_MAIN = re.compile(
    r"^(?:(?:key|main)\s+)?(?P<non>non[-\s]?)?(?P<kind>inclusion|exclusion)\s+"
    r"(?:criteria|criterias|criterion|citeria)(?:\s+include)?$"
    r"|^criteria\s+for\s+(?P<non2>non[-\s]?)?(?P<kind2>inclusion|exclusion)$",
    re.IGNORECASE,
)
_KIND_WORD = re.compile(r"^(non[-\s]?)?(in|ex)clusions?$", re.IGNORECASE)
_NOUNS = frozenset({"criteria", "criterias", "criteras", "criterion", "citeria"})
# Criteria of another kind than eligibility: what follows is neither list (NCT02472431).
_OTHER_CRITERIA = re.compile(
    r"^(?:[\w/-]+\s+){0,3}(?:withdrawal|termination|dropout|drop-out|discontinuation|removal|stopping)"
    r"\s+criteria\s*:?$", re.IGNORECASE)
# A heading is a noun phrase: any of these makes the line a sentence (an item or a lead-in).
_SENTENCE_WORDS = frozenset({
    "who", "whom", "which", "whose", "must", "will", "may", "might", "can", "cannot", "could", "should",
    "would", "shall", "is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "having",
    "does", "do", "did", "not", "meet", "meets", "meeting", "met", "fail", "fails", "failing", "failure",
    "apply", "applies", "applied", "according", "include", "includes", "including", "note", "see",
    "following", "followings", "eligible"
})
# ... and these before the kind word ("Records of ... not meeting the inclusion criteria") or at
# a heading's end ("Diabetic patients with:") do too.
_FUNCTION_WORDS = frozenset({
    "the", "a", "an", "any", "all", "each", "every", "no", "to", "in", "on", "at", "by", "with", "without",
    "from", "prior", "after", "before", "for", "and", "or", "as", "than", "if", "unless"
})
_JOINERS = frozenset({"of", "and", "or"})  # "SURGERY AND OTHER ... CONDITIONS OF EXCLUSION" (NCT03849365)
_DETERMINERS = frozenset({"the", "a", "an", "any", "all", "each", "every", "no"})  # "Any (1) PDM present ..."
_FOLLOWING = re.compile(r"\b(?:the|of)\s+following\b|\bas\s+follows\b", re.IGNORECASE)
_PARENS = re.compile(r"\([^()]*\)")
# A main header glued to the end of an item ("... relationship Exclusion Criteria:- Primary ...",
# NCT00663728): written with capitals, after a word, always with its colon.
_GLUED = re.compile(r"(?<=[\w.),;])\s+(?=(?:Inclusion|Exclusion|INCLUSION|EXCLUSION) (?:Criteria|CRITERIA)\s*:)")
_MAX_HEAD_WORDS = 10  # a heading that names its kind ("Specific exclusion criteria for lung ...")
_MAX_SUBHEAD_WORDS = 8  # one that does not ("Prior/Concurrent clinical study experience:")
_MAX_SUBHEAD_CHARS = 80


@dataclass
class Group:
    """Items under one heading: ``kind`` "inclusion", "exclusion" or None (outside any
    header); ``heading`` as written, None under a main header; ``lead_in`` the sentence
    that introduces the items."""

    kind: str | None
    heading: str | None = None
    lead_in: str | None = None
    items: list[str] = field(default_factory=list)


@dataclass
class Split:
    inclusion: list[str] = field(default_factory=list)
    exclusion: list[str] = field(default_factory=list)
    unclassified: list[str] = field(default_factory=list)
    headed: bool = False
    groups: list[Group] = field(default_factory=list)  # every item in source order, in its group

    def criteria_groups(self) -> list[dict[str, Any]] | None:
        """The record's ``eligibility.criteria_groups``: None when the text has nothing but
        main headers and their items (the flat lists then say it all)."""
        if not any(g.heading is not None or g.lead_in is not None for g in self.groups):
            return None
        return [{"kind": g.kind, "heading": g.heading, "lead_in": g.lead_in, "items": g.items}
                for g in self.groups]


# The spellings nine records in ten use, answered without the regexes below.
_COMMON = {f"{prefix}{kind} criteria{colon}": kind for prefix in ("", "key ", "main ")
           for kind in ("inclusion", "exclusion") for colon in ("", ":", " :")}


def _words(text: str) -> list[str]:
    """The words of a line outside parentheses, lower case, without punctuation."""
    if "(" in text:
        text = _PARENS.sub(" ", text)
    return [w for w in (t.strip(".,;:!?\"'()[]").lower() for t in text.split()) if w]


def _main_kind(head: str) -> str | None:
    match = _MAIN.match(head)
    if match is None:
        return None
    if match["kind"]:
        return "exclusion" if match["non"] or match["kind"].lower() == "exclusion" else "inclusion"
    return "exclusion" if match["non2"] or match["kind2"].lower() == "exclusion" else "inclusion"


def _heading_kind(text: str) -> str | None:
    """The kind a heading names ("Partner Inclusion Criteria", "Other Exclusions",
    "Specific exclusion criteria for renal transplant (RTx) patients:"), or None when the
    line is no such heading: a sentence, an item that names the other list, too long."""
    head = text.strip("*_# ")
    if head.endswith(":"):
        head = head[:-1]
    elif head[-1:] in (".", ";", ","):
        return None
    if ":" in head:
        return None  # more after a colon: an item ("cardiovascular exclusion criteria: history of ...")
    words = _words(head)
    if not words or len(words) > _MAX_HEAD_WORDS:
        return None
    kinds: set[str] = set()
    at = -1
    for i, word in enumerate(words):
        if word in _SENTENCE_WORDS:
            return None
        match = _KIND_WORD.match(word)
        if match:
            kinds.add("exclusion" if match[1] or match[2].lower() == "ex" else "inclusion")
            at = i
    if len(kinds) != 1:
        return None
    named = at == len(words) - 1 or words[at + 1] in _NOUNS  # "... Exclusion Criteria", "Other Exclusions"
    if not named or any(w in _FUNCTION_WORDS for w in words[:at] if w not in _JOINERS):
        return None
    return kinds.pop()


def _is_subheading(text: str) -> bool:
    """A heading that names no kind ("Abnormal Laboratory Values", "Medical conditions:",
    "Pre-/Intra-operative", "Patients without adjacent degenerative disc (HD):")."""
    head = text.strip("*_# ")
    if not head or len(head) > _MAX_SUBHEAD_CHARS or head[-1] in ".;," or not (head[0].isalnum() or head[0] in "(["):
        return False
    words = _words(head)
    if not words or len(words) > _MAX_SUBHEAD_WORDS or words[0] in _DETERMINERS or words[-1] in _FUNCTION_WORDS:
        return False
    return not any(w in _SENTENCE_WORDS for w in words)


def header_kind(line: str) -> tuple[str | None, str]:
    """``("inclusion"|"exclusion"|None, rest_of_line)`` for one line: a main header (its
    rest the text after its colon) or a heading that names its kind (rest "")."""
    kind, rest = _main_header(line)
    if kind is not None:
        return kind, rest
    bullet = _bullet(line)
    text = bullet[1] if bullet else line.strip()
    if "clusion" not in text and "CLUSION" not in text:
        return None, line
    kind = _heading_kind(text)
    return (kind, "") if kind else (None, line)


def _main_header(line: str) -> tuple[str | None, str]:
    """A main inclusion / exclusion header and the text after its colon; also as a bullet
    at the margin ("* Inclusion Criteria:", seen in NCT05161130)."""
    if "clusion" not in line and "CLUSION" not in line:
        return None, line  # the fast path: most lines name neither kind of criteria
    common = _COMMON.get(line.strip().lower())
    if common is not None:
        return common, ""
    bullet = _bullet(line)
    if bullet is not None and bullet[0] > 0:
        return None, line  # an indented bullet is part of an item
    text = (bullet[1] if bullet else line.strip()).strip("*_# ")
    head, _, rest = text.partition(":")
    kind = _main_kind(head.strip("*_ "))
    return (kind, rest.strip(" .*_")) if kind else (None, line)


def _bullet(raw: str) -> tuple[int, str] | None:
    """``(indent, text)`` of a bullet line, or None."""
    stripped = raw.lstrip(" ")
    if stripped[:2] == "* " and stripped[2:3] not in ("", " "):
        return len(raw) - len(stripped), stripped[2:].strip()  # canonical "* ": no regex
    match = _BULLET.match(raw)
    return (len(match["indent"].expandtabs(4)), match["text"].strip()) if match else None


def _family(line: str) -> str:
    """What marks a bullet: "symbol", "number" or "letter"."""
    first = line.lstrip(" \t(")[:1]
    return "symbol" if first in _SYMBOLS else "number" if first.isdigit() else "letter"


def _items(lines: list[str]) -> list[str]:
    """Group the lines of one section into items, children kept with parents."""
    items: list[list[str]] = []
    parent_indent: int | None = None
    for raw in lines:
        # "* text" at the margin, the commonest line, without a call
        bullet = (0, raw[2:].strip()) if raw[:2] == "* " and raw[2:3] != " " else _bullet(raw)
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


def _lines(text: str) -> tuple[list[str], dict[int, str], list[int]]:
    """The text's non-blank lines, the kind of those that are main headers, and which of
    the others may be more than part of an item (a heading, a lead-in) whatever follows
    them: all but child bullets and continuations that name no criteria, and "* " items at
    the margin that name no kind of criteria and end in no colon (nine lines in ten, told
    here in the one pass over the text).

    A main header glued to the end of an item ("* Stable heterosexual relationship
    Exclusion Criteria:", NCT00668135) is split off it; a main header's rest ("Exclusion
    Criteria: contra-indication") is read as a line of its own."""
    raw = text.split("\n")
    lines: list[str] = []
    mains: dict[int, str] = {}
    maybe: list[int] = []
    for n, line in enumerate(raw):
        if "clusion" not in line and "CLUSION" not in line:  # the fast path: most lines are items
            if line and not line.isspace():
                if line[0] in " \t":
                    if "riteria" in line or "RITERIA" in line:
                        maybe.append(len(lines))
                elif line[:2] != "* " or line[-1] == ":":
                    maybe.append(len(lines))
                lines.append(line)
            continue
        parts = [line]
        if line.strip().lower() not in _COMMON:
            glued = _GLUED.split(line)
            if len(glued) > 1 and _glued(line, glued, raw[n + 1] if n + 1 < len(raw) else ""):
                parts = glued
        for part in parts:
            kind, rest = _main_header(part)
            if kind is not None:
                mains[len(lines)] = kind
                lines.append("")
                if rest:
                    maybe.append(len(lines))
                    lines.append(rest)
            elif part and not part.isspace():
                maybe.append(len(lines))
                lines.append(part)
    return lines, mains, maybe


def _glued(line: str, parts: list[str], following: str) -> bool:
    """Whether a header inside ``line`` ends an item rather than closing a heading such
    as "Partner Inclusion Criteria:": text follows the header's colon after an item of
    some words, or the line is a bullet at the margin without children."""
    if not parts[-1].rstrip().endswith(":"):
        return len(_words(parts[0])) >= 3
    bullet = _bullet(line)
    if bullet is None or bullet[0] > 0 or _family(line) != "symbol":
        return False
    child = _bullet(following)
    return child is None or child[0] == 0


# What a line is when it is not part of an item: a main header ("main", its kind), a
# heading ("heading", the kind it names or None to keep the current one; "other" for
# criteria of another kind; "bare" for a short line without a colon, decided once the whole
# text is read) or a lead-in ("lead_in"; "wrapper" for a bullet that may be one, decided by
# what follows it), with the text it keeps.
_Role = tuple[str, str | None, str]  # (role, kind, text)


def _roles(lines: list[str], mains: dict[int, str], maybe: list[int]) -> dict[int, _Role]:
    """The lines that are no part of an item, by index: headings and lead-ins look at the
    line after them."""
    roles: dict[int, _Role] = {n: ("main", kind, "") for n, kind in mains.items()}
    last = len(lines) - 1
    for n in maybe:
        if n >= last or n in mains or n + 1 in mains:
            continue
        line, following = lines[n], lines[n + 1]
        if _numbered_item(line, following):
            continue
        role = _role(line, following)
        if role[0] == "wrapper":
            if (n == 0 or n - 1 in roles) and _alone(lines, mains, n):
                roles[n] = ("lead_in", None, role[2])
        elif role[0] != "item":
            roles[n] = role
    # A short line without a colon before a list heads it when the text draws other groups
    # ("Study Subjects" ... "Partners", NCT01352507); alone ("Inclusion Criteria:", "Male",
    # then "* History of erectile dysfunction ...", NCT00422734) it is as likely an item.
    bare = [n for n, role in roles.items() if role[0] == "bare"]
    if bare:
        drawn = len(bare) > 1 or any(role[0] in ("heading", "lead_in", "other") for role in roles.values())
        for n in bare:
            if drawn:
                roles[n] = ("heading", None, roles[n][2])
            else:
                del roles[n]
    return roles


def _numbered_item(line: str, following: str) -> bool:
    """An "N. " item at the margin naming no kind of criteria and ending in no colon,
    followed by another or by its children: part of an item, whatever it says."""
    first = line[:1]
    if not first.isdigit() or "clusion" in line or "CLUSION" in line or line.endswith(":"):
        return False
    numbered = line[1:3] == ". " or (line[1:2].isdigit() and line[2:4] == ". ")
    return numbered and following[:1] in ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", " ", "\t")


def _alone(lines: list[str], mains: dict[int, str], n: int) -> bool:
    """Whether no bullet at the margin follows line ``n`` before the next header or
    paragraph: the bullet there holds every item after it as its children."""
    for m in range(n + 1, len(lines)):
        line = lines[m]
        if m in mains:
            return True
        bullet = _bullet(line)
        if bullet is None and line[:1] not in (" ", "\t"):
            return True
        if bullet is not None and bullet[0] == 0:
            return False
    return True


def _role(line: str, following: str) -> _Role:
    """What a line that is no main header is, given the line after it."""
    bullet = _bullet(line)
    after = _bullet(following)
    if bullet is not None:
        indent, text = bullet
        if indent or after is None:
            return "item", None, line
        children = after[0] > 0
        family = _family(line)
        sibling = not children and _family(following) != family  # "A) ..." then "* ..."
        if "clusion" in text or "CLUSION" in text:
            kind = _heading_kind(text)
            if kind and (children or sibling):
                return "heading", kind, text if family == "symbol" else line.strip()  # "D) Other ..."
        if children and text.endswith(":") and "riteri" in text and _FOLLOWING.search(text):
            # "* Eligible participants must meet the following inclusion criteria:" with every
            # criterion of its list as its child (NCT02713789) is a lead-in; with bullets beside
            # it, it is one criterion with its parts ("10. Any of the following cardiac criteria:").
            return "wrapper", None, text
        if family == "symbol":
            # "* DEMOGRAPHIC CRITERIA:" then its items at the same level (NCT05847673)
            if text.endswith(":") and text.isupper() and _is_subheading(text):
                return "heading", None, text
        elif sibling and _is_subheading(text):
            return "heading", None, line.strip()  # "A) Previous or current medical conditions:"
        # Other bullets with children stay one item, children inside: "3. Had within six months
        # prior to enrollment any of the following:" then its alternatives.
        return "item", None, line
    text = line.strip()
    if "clusion" in text or "CLUSION" in text:
        kind = _heading_kind(text)
        if kind:
            return "heading", kind, text  # at any indent: "   Intra-operative inclusion criteria:" (NCT01315262)
    if ("riteria" in text or "RITERIA" in text) and _OTHER_CRITERIA.match(text):
        return "other", None, text
    if line[:1] in (" ", "\t"):
        return "item", None, line  # a continuation of an item
    if _is_subheading(text):
        if text.endswith(":"):
            return "heading", None, text  # "PATIENT CHARACTERISTICS:" then "Age" (NCT00084552)
        if after is not None:
            return "bare", None, text
    if text.endswith(":") or (text[-1] in ".)" and ":" not in text and _FOLLOWING.search(text)):
        return "lead_in", None, text  # "(all of the following)", "The following cases were excluded ..."
    return "item", None, line


def split_criteria(text: str) -> Split:
    """Split eligibility text (canonical, see trialmirror.ingest.parsing.text) into its items
    and groups; headers decide which list they join."""
    result = Split()
    group = Group(None)
    groups = [group]
    lines, mains, maybe = _lines(text)
    roles = _roles(lines, mains, maybe)
    start = 0
    for n in sorted(roles):
        if n > start:
            group.items.extend(_items(lines[start:n]))
        start = n + 1
        what, kind, said = roles[n]
        if what == "lead_in" and not group.items and group.lead_in is None:
            group.lead_in = said
            continue
        if what == "main":
            group = Group(kind)
            result.headed = True
        elif what == "heading":
            group = Group(kind or group.kind, said)
            result.headed = result.headed or kind is not None
        elif what == "other":
            group = Group(None, said)
        else:  # a second lead-in: the items after it sit under the same heading
            group = Group(group.kind, group.heading, said)
        groups.append(group)
    group.items.extend(_items(lines[start:]))
    for g in groups:
        if g.items or g.heading or g.lead_in:
            result.groups.append(g)
            target = (result.inclusion if g.kind == "inclusion" else result.exclusion if g.kind == "exclusion"
                      else result.unclassified)
            target.extend(g.items)
    return result
