"""Value parsers for mirror pages: how mirrors word values for people, read back.

Each factory returns a :data:`~trialmirror.ingest.parsing.mirror.engine.ValueParser` that reads a
section's lines into the draft record. They know wording, not sites:
"Phase 1/Phase 2", "18 to 70 years old", "20 patients", "None (Open label)"
(through the vocabularies' synonyms), "Experimental group", "Biological: name",
bullet lines. A value a vocabulary does not know is kept verbatim and listed in
``unmapped``, as for every source; wording no parser here understands is a
ValueError, which the engine reports as a parse error naming the label.
"""

from __future__ import annotations

import re
from typing import Any

from trialmirror.ingest.parsing import dates
from trialmirror.ingest.parsing.criteria import header_kind, split_criteria
from trialmirror.ingest.parsing.fields import parse_age
from trialmirror.ingest.parsing.mirror.engine import Draft, Section, ValueParser
from trialmirror.models import vocab
from trialmirror.models.record import SecondaryId, Site, blank
from trialmirror.models.vocab import Vocabulary

_BULLET = re.compile(r"^(?:[•·▪●○◦‣⁃*\-–]|\d{1,3}[.)])\s+")
_COUNT = re.compile(r"^([\d,]+)(?:\s+(?:patients?|participants?|subjects?|people|persons?))?$", re.I)
_TYPED = re.compile(r"^([A-Za-z][A-Za-z /]*?)\s*:\s*(\S.*)$")
_TREATMENTS = re.compile(r"^(?:treatments?|interventions?)\s*:?$", re.I)
_AGE_UNIT = r"(years?|months?|weeks?|days?|hours?|minutes?)"
_AGE_RANGE = re.compile(
    rf"^(?P<min>\d+(?:\.\d+)?)\s*(?P<min_unit>{_AGE_UNIT})?\s*(?:to|-|–)\s*"
    rf"(?P<max>\d+(?:\.\d+)?)\s*(?P<max_unit>{_AGE_UNIT})(?:\s+old)?$", re.I)
_AGE_MIN = re.compile(rf"^(?P<min>\d+(?:\.\d+)?)\+?\s*(?P<min_unit>{_AGE_UNIT})(?:\s+old)?"
                      r"(?:\s+(?:and|or)\s+(?:older|over|above))?$", re.I)
_AGE_MAX = re.compile(rf"^(?:up to|under|below|younger than)\s+(?P<max>\d+(?:\.\d+)?)\s*"
                      rf"(?P<max_unit>{_AGE_UNIT})(?:\s+old)?$", re.I)

def bare(line: str) -> str:
    """A line without the bullet or number a page put in front of it."""
    return _BULLET.sub("", line, count=1).strip()


def _values(section: Section) -> list[str]:
    return [v for v in (bare(line) for line in section.lines) if v]


def _first(section: Section) -> str | None:
    values = _values(section)
    return values[0] if values else None


# --- plain values ---------------------------------------------------------------------

def text(path: str) -> ValueParser:
    """Free text: one line per paragraph, as the record's canonical text."""
    def parse(d: Draft, s: Section) -> None:
        d.set(path, "\n".join(line.strip() for line in s.lines if line.strip()) or None)
    return parse


def items(path: str) -> ValueParser:
    """A list of lines (bullets or not): conditions, criteria, countries."""
    def parse(d: Draft, s: Section) -> None:
        d.set(path, _values(s))
    return parse


def enum(path: str, vocabulary: Vocabulary) -> ValueParser:
    def parse(d: Draft, s: Section) -> None:
        d.set(path, d.enum(vocabulary, _first(s), path))
    return parse


def enums(path: str, vocabulary: Vocabulary) -> ValueParser:
    """One value per line, or several on a line separated by commas or slashes."""
    def parse(d: Draft, s: Section) -> None:
        found = [d.enum(vocabulary, part, path) for part in _parts(_values(s), vocabulary)]
        d.set(path, [v for v in dict.fromkeys(found) if v])
    return parse


def _parts(values: list[str], vocabulary: Vocabulary) -> list[str]:
    out = []
    for value in values:
        if vocabulary.map(value).known:
            out.append(value)
        else:  # "Phase 1/Phase 2", "Other, Industry"
            out.extend(p.strip() for p in re.split(r"\s*[/,]\s*", value) if p.strip())
    return out


def _iso(d: Draft, s: Section, path: str) -> str | None:
    value = _first(s)
    iso = iso_date(value) if value else None
    if value and iso is None:
        d.unmapped(path, value, "dropped")
    return iso


def iso_date(value: str) -> str | None:
    """"July 2012" -> "2012-07"; "24 October 2016", "24/10/2016" -> "2016-10-24" (the
    page's precision; numeric dates day first, as the WHO ICTRP writes them)."""
    return dates.iso_date(value, dates.NUMERIC_DAY_FIRST)


def date(path: str) -> ValueParser:
    """A plain ISO date (``source_version_date``)."""
    def parse(d: Draft, s: Section) -> None:
        d.set(path, _iso(d, s, path))
    return parse


def dated(path: str) -> ValueParser:
    """A record date ``{date, kind}``; mirrors do not say actual or anticipated."""
    def parse(d: Draft, s: Section) -> None:
        iso = _iso(d, s, path)
        d.set(path, {"date": iso, "kind": None} if iso else None)
    return parse


# --- what mirrors word for people ----------------------------------------------------

def enrollment(d: Draft, s: Section) -> None:
    """"20 patients", "1,200 participants", "16"."""
    value = _first(s)
    if value is None:
        return
    match = _COUNT.match(value)
    if match is None:
        raise ValueError(f"cannot read a participant count from {value!r}")
    d.set("enrollment", {"count": int(match[1].replace(",", "")), "kind": None})


def age_range(d: Draft, s: Section) -> None:
    """"18 to 70 years old", "18+ years old", "Up to 17 years old", "6 months to 5 years"."""
    value = _first(s)
    if value is None:
        return
    match = _AGE_RANGE.match(value) or _AGE_MIN.match(value) or _AGE_MAX.match(value)
    if match is None:
        d.unmapped(f"section:{s.label}", value, "dropped")  # neither age could be read
        return
    groups = match.groupdict()
    for side in ("min", "max"):
        if groups.get(side):
            unit = groups.get(f"{side}_unit") or groups.get("max_unit") or "years"
            d.set(f"eligibility.{side}_age",
                  parse_age(f"{groups[side]} {unit}", f"eligibility.{side}_age", d.mapper))


def age(path: str) -> ValueParser:
    """"18 Years" (one bound), "N/A" and "no limit" for none."""
    def parse(d: Draft, s: Section) -> None:
        value = _first(s)
        if value and value.casefold() not in {"no limit", "none", "n/a"}:
            d.set(path, parse_age(value, path, d.mapper))
    return parse


_VOLUNTEERS = {"no healthy volunteers": False, "accepts healthy volunteers": True,
               "healthy volunteers": True, "yes": True, "no": False}


def volunteers(d: Draft, s: Section) -> None:
    value = _first(s)
    if value is None:
        return
    answer = _VOLUNTEERS.get(" ".join(value.casefold().split()))
    if answer is None:
        d.unmapped("eligibility.healthy_volunteers", value, "dropped")
    d.set("eligibility.healthy_volunteers", answer)


def status_and_phase(d: Draft, s: Section) -> None:
    """Status words and phases in one block ("Completed", "Phase 2", "Phase 1"). A line
    no vocabulary knows is the status when it is the first such and does not say
    "phase"; either way it is kept verbatim and listed in ``unmapped``."""
    phases: list[str] = []
    for value in _values(s):
        parts = _parts([value], vocab.PHASE)
        if all(vocab.PHASE.map(p).known for p in parts) or "phase" in value.casefold():
            phases.extend(d.enum(vocab.PHASE, p, "phases") or p for p in parts)
        elif not d.get("status.overall"):
            d.set("status.overall", d.enum(vocab.OVERALL_STATUS, value, "status.overall"))
        else:
            d.unmapped(f"section:{s.label}", value, "dropped")  # a line no field takes
    d.set("phases", list(dict.fromkeys(phases)))


def typed_name(line: str) -> tuple[str | None, str]:
    """"Biological: name" -> ("Biological", "name"); an untyped line -> (None, line)."""
    match = _TYPED.match(bare(line))
    if match and vocab.INTERVENTION_TYPE.map(match[1]).known:
        return match[1], match[2].strip()
    return None, bare(line)


def interventions(d: Draft, s: Section) -> None:
    """"Biological: conventional therapy ..." lines: the record's interventions."""
    out = []
    for line in _values(s):
        kind, name = typed_name(line)
        out.append({"type": d.enum(vocab.INTERVENTION_TYPE, kind, "interventions.type"),
                    "name": name, "description": None, "arm_labels": None, "other_names": None})
    d.set("interventions", out)


def groups(d: Draft, s: Section) -> None:
    """Arms as "<label>", "<type> group", [description], "Treatment(s):", typed names.

    The heading "20 participants in 3 patient groups" gives the count to check:
    a different number of groups read means the block changed shape.
    """
    lines = _values(s)
    starts = [i for i in range(1, len(lines)) if vocab.ARM_TYPE.map(lines[i]).known]
    arms = []
    for n, at in enumerate(starts):
        end = starts[n + 1] - 1 if n + 1 < len(starts) else len(lines)
        body = lines[at + 1:end]
        marker = next((i for i, line in enumerate(body) if _TREATMENTS.match(line)), len(body))
        names = [typed_name(line)[1] for line in body[marker + 1:]]
        arms.append({"label": lines[at - 1],
                     "type": d.enum(vocab.ARM_TYPE, lines[at], "arms.type"),
                     "description": "\n".join(body[:marker]) or None,
                     "interventions": names or None})
    declared = re.search(r"in (\d+) (?:patient )?groups?", s.heading)
    if declared and int(declared[1]) != len(arms):
        raise ValueError(f"the page declares {declared[1]} groups, {len(arms)} were read")
    count = re.match(r"^([\d,]+)", s.heading)
    if count and not d.get("enrollment"):
        d.set("enrollment", {"count": int(count[1].replace(",", "")), "kind": None})
    d.set("arms", arms)


def link_arms(d: Draft) -> None:
    """Interventions take the labels of the groups that list them (the page's own link)."""
    arms: list[dict[str, Any]] = d.get("arms") or []
    for intervention in d.get("interventions") or []:
        labels = [a["label"] for a in arms if intervention["name"] in (a["interventions"] or [])]
        intervention["arm_labels"] = labels or None


def ids(d: Draft, s: Section) -> None:
    """Trial ids: the registry's own one checks the page; the others are secondary ids
    (a mirror does not say which is the sponsor's own study id)."""
    values = [v for line in _values(s) for v in re.split(r"\s*[;,]\s*|\s+", line) if v]
    d.ids.extend(values)
    secondary = [blank(SecondaryId, id=v) for v in values
                 if v.upper() != d.registry_id.upper()]
    if secondary:
        d.set("identifiers.secondary", (d.get("identifiers.secondary") or []) + secondary)


def lead_sponsor(d: Draft, s: Section) -> None:
    name = _first(s)
    d.set("sponsors.lead", {"name": name, "class": None} if name else None)


def collaborators(d: Draft, s: Section) -> None:
    d.set("sponsors.collaborators", [{"name": v, "class": None} for v in _values(s)])


def countries(d: Draft, s: Section) -> None:
    """A list of countries: one site each, with only its country (all the page says)."""
    d.set("sites", [blank(Site, country=v) for v in dict.fromkeys(_values(s))])


def criteria(kind: str) -> ValueParser:
    """A list of criteria under an "Inclusion criteria" / "Exclusion criteria" label.

    Read by the same splitter as a registry's criteria text, under its label as the main
    header: a line without a bullet before bulleted items is a sub-heading or a lead-in
    (``criteria_groups``). When the items are bulleted, lines without a bullet after the
    last item are no criteria: a heading the site's table does not know yet and what
    follows it; they are flagged (``skipped``), never made criteria.
    """
    header = f"{kind.capitalize()} Criteria:"

    def parse(d: Draft, s: Section) -> None:
        lines = [line.strip() for line in s.lines if line.strip()]
        last = max((i for i, line in enumerate(lines) if _BULLET.match(line)), default=len(lines) - 1)
        for line in lines[last + 1:]:
            d.unmapped(f"eligibility.{kind}", line, "skipped")
        split = split_criteria("\n".join([header, *lines[:last + 1]]))
        d.set(f"eligibility.{kind}", [*split.inclusion, *split.exclusion, *split.unclassified])
        d.set("eligibility.criteria_layout", "headed")
        groups = split.criteria_groups()
        if groups:
            d.set("eligibility.criteria_groups", [*(d.get("eligibility.criteria_groups") or []), *groups])
    return parse


def criteria_text(d: Draft, s: Section) -> None:
    """Eligibility as one text with its own headers and "- " items whose long lines
    the page wraps: a line that is no item and no header continues the item before."""
    joined: list[str] = []
    for line in (line.strip() for line in s.lines):
        is_item = bool(_BULLET.match(line))
        is_header = header_kind(line)[0] is not None
        if joined and not is_item and not is_header and _BULLET.match(joined[-1]):
            joined[-1] += " " + line
        else:
            joined.append(line)
    body = "\n".join(joined)
    split = split_criteria(body)
    d.set("eligibility.criteria_text", body or None)
    d.set("eligibility.inclusion", split.inclusion)
    d.set("eligibility.exclusion", split.exclusion)
    d.set("eligibility.unclassified", split.unclassified)
    d.set("eligibility.criteria_groups", split.criteria_groups())
    if body:
        d.set("eligibility.criteria_layout", "headed" if split.headed else "no_headers")


def design_pairs(d: Draft, s: Section) -> None:
    """"Allocation: Randomized, Intervention Model: Parallel Assignment, Masking: ...", or the
    same with full stops or semicolons between the pairs ("... Masking: None (Open Label).")."""
    for key, raw in _pairs(" ".join(s.lines)):
        target = _DESIGN_KEYS.get(" ".join(key.casefold().split()))
        if target is None:
            continue  # "Endpoint Classification" and other keys the record has no field for
        path, vocabulary = target
        if path == "design.masking":
            masking(d, raw)
        else:
            d.set(path, d.enum(vocabulary, raw, path))


_PAIR_KEY = re.compile(r"\s*([A-Z][A-Za-z ]*?)\s*:\s*")
_PAIR_END = re.compile(r"[\s,.;]+$")


def _pairs(value: str) -> list[tuple[str, str]]:
    """"Key: value" pairs, cut where ``,``, ``.`` or ``;`` outside parentheses is followed by
    another "Key:": "None (Open Label)." ends at its full stop, "Double (Participant,
    Investigator)" and "Other (e.g. screening)" stay whole, and so does a value whose
    comma no key follows. A value loses the separator it ended on."""
    starts, depth = [0], 0
    for at, char in enumerate(value):
        depth = depth + 1 if char == "(" else max(0, depth - 1) if char == ")" else depth
        if depth == 0 and char in ",.;" and _PAIR_KEY.match(value, at + 1):
            starts.append(at + 1)
    pairs = []
    for start, end in zip(starts, [*starts[1:], len(value) + 1], strict=True):
        piece = value[start:end - 1] if end <= len(value) else value[start:]
        key = _PAIR_KEY.match(piece)
        if key is not None:
            pairs.append((key[1], _PAIR_END.sub("", piece[key.end():])))
    return pairs


def masking(d: Draft, value: str | None) -> None:
    """"None (Open label)"; "Double (Participant, Investigator)": the level, then who."""
    if not value:
        return
    value = value.strip().rstrip(",")
    if vocab.MASKING.map(value).known:
        d.set("design.masking", vocab.MASKING.map(value).value)
        return
    match = re.match(r"^([^()]+?)\s*\((.+)\)$", value)
    if match and vocab.MASKING.map(match[1]).known:
        d.set("design.masking", vocab.MASKING.map(match[1]).value)
        who = [d.enum(vocab.WHO_MASKED, w, "design.who_masked") for w in match[2].split(",")]
        d.set("design.who_masked", [w for w in who if w])
        return
    d.set("design.masking", d.enum(vocab.MASKING, value, "design.masking"))


def masking_line(d: Draft, s: Section) -> None:
    masking(d, _first(s))


_DESIGN_KEYS: dict[str, tuple[str, Vocabulary]] = {
    "allocation": ("design.allocation", vocab.ALLOCATION),
    "intervention model": ("design.intervention_model", vocab.INTERVENTION_MODEL),
    "masking": ("design.masking", vocab.MASKING),
    "primary purpose": ("design.primary_purpose", vocab.PRIMARY_PURPOSE),
    "observational model": ("design.observational_model", vocab.OBSERVATIONAL_MODEL),
    "time perspective": ("design.time_perspective", vocab.TIME_PERSPECTIVE),
}
