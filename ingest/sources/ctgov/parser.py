"""ClinicalTrials.gov API v2: the pure parser of a study document (bytes -> Record).

Quirks this module handles (see REGISTRY-NOTES.md):
- text fields are Markdown with backslash escapes (``\\<``): undone by trialmirror.ingest.parsing.text;
- dates carry their own precision ("2010-10" or "2010-10-05") and a type
  ACTUAL/ESTIMATED (older wording: Anticipated), kept as ``kind``;
- unknown enrollment has been encoded as 99,999,999: read as "not said" (null);
- arm groups name interventions as "Type: Name"; the record keeps the name;
- 2023 documents carry keys the field list no longer has (``locations_nested``,
  ``modelPredictions``): unknown keys are ignored, never an error;
- the drift policy (trialmirror.ingest.parsing.fields): a new enum value (status,
  phase, date kind, age unit) is kept verbatim, a changed type coerced when only one
  reading is possible ("120", "Yes", a date struct written as its date, a string for
  a list), an unreadable value left null and a null list item skipped, each flagged
  in ``unmapped`` with the record path and the raw value. Only a document without
  a protocol section or an NCT id, or of another study, is refused.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from trialmirror.errors import ParseError
from trialmirror.ingest.parsing.criteria import split_criteria
from trialmirror.ingest.parsing.dates import is_iso, iso_date
from trialmirror.ingest.parsing.fields import Mapper, build_record, none_if_empty, parse_age
from trialmirror.ingest.parsing.text import Markup, clean, clean_line, collapse, unescape_markdown
from trialmirror.models import vocab
from trialmirror.models.record import Record

NAME = "ctgov"
PARSER_VERSION = 4  # 2: canonical text (one line per paragraph or item; blank lines dropped);
# 3: the drift policy (flags with an action; items without a label kept);
# 4: criteria headers by their shape, criteria_groups
UNKNOWN_ENROLLMENT = 99_999_999

_DATES = {  # record field -> statusModule key
    "start": "startDateStruct",
    "primary_completion": "primaryCompletionDateStruct",
    "completion": "completionDateStruct",
    "first_posted": "studyFirstPostDateStruct",
    "last_update_posted": "lastUpdatePostDateStruct",
}
_DESIGN_ENUMS = {  # record field -> (designInfo key, vocabulary)
    "allocation": ("allocation", vocab.ALLOCATION),
    "intervention_model": ("interventionModel", vocab.INTERVENTION_MODEL),
    "primary_purpose": ("primaryPurpose", vocab.PRIMARY_PURPOSE),
    "observational_model": ("observationalModel", vocab.OBSERVATIONAL_MODEL),
    "time_perspective": ("timePerspective", vocab.TIME_PERSPECTIVE),
}
_OUTCOME_LISTS = (("primary", "primaryOutcomes"), ("secondary", "secondaryOutcomes"),
                  ("other", "otherOutcomes"))  # (record field, API key)
_TYPED_NAME = re.compile(r"^\s*([^:]+?)\s*:\s*(.+)$")  # "Type: Name", whatever the type

# The source's paths, for what no one record field maps from (a whole module).
_P = "protocolSection"
_IDENT = f"{_P}.identificationModule"
_STATUS = f"{_P}.statusModule"
_DESIGN = f"{_P}.designModule"
_CONDITIONS = f"{_P}.conditionsModule"
_ARMS_MOD = f"{_P}.armsInterventionsModule"
_ELIGIBILITY = f"{_P}.eligibilityModule"
_OUTCOMES_MOD = f"{_P}.outcomesModule"
_SPONSORS = f"{_P}.sponsorCollaboratorsModule"
_CONTACTS = f"{_P}.contactsLocationsModule"
_DESCRIPTION = f"{_P}.descriptionModule"


class _Doc:
    """Typed access into the API document, keeping the drift policy.

    ``field`` is the record path a value is for; a value of another type is coerced
    when that is unambiguous ("120" -> 120, "Yes" -> true, "x" -> ["x"]) and dropped
    when it is not, each flagged at ``field`` (README "When the registry drifts").
    The check that decides is one class comparison: this runs ~120 times a record.
    """

    def __init__(self, registry_id: str, url: str | None, m: Mapper, markup: Markup = "markdown"):
        self.registry_id, self.url, self.m, self.markup = registry_id, url, m, markup

    def fail(self, reason: str, path: str) -> ParseError:
        return ParseError(reason, field_path=path, source=NAME, registry_id=self.registry_id,
                          url=self.url)

    def get(self, node: dict[str, Any] | None, key: str, kind: type, field: str) -> Any:
        if node is None:
            return None
        value = node.get(key)
        if value is None or value.__class__ is kind:
            return value
        return self.drifted(value, kind, field)

    def drifted(self, value: Any, kind: type, field: str) -> Any:
        if value == "" or value == []:
            return None  # said as nothing: null, as the contract reads an empty value
        coerced = _coerce(value, kind)
        self.m.flag(field, value, "dropped" if coerced is None else "coerced")
        return coerced

    def text(self, node: dict[str, Any] | None, key: str, field: str) -> str | None:
        value = None if node is None else node.get(key)
        if value is None:
            return None
        if value.__class__ is not str:
            value = self.drifted(value, str, field)
            if value is None:
                return None
        return clean(value, self.markup)

    def line(self, node: dict[str, Any] | None, key: str, field: str) -> str | None:
        # clean_line inlined: this runs ~50 times a record.
        value = None if node is None else node.get(key)
        if value is None:
            return None
        if value.__class__ is not str:
            value = self.drifted(value, str, field)
            if value is None:
                return None
        if self.markup != "markdown":
            return clean_line(value, self.markup)
        if "\\" in value:
            value = unescape_markdown(value)
        return collapse(value) or None

    def obj(self, node: dict[str, Any] | None, key: str, field: str) -> dict[str, Any] | None:
        value = None if node is None else node.get(key)
        if value is None or value.__class__ is dict:
            return value
        if value != "" and value != []:
            self.m.flag(field, value, "dropped")  # a module or object of another shape
        return None

    def items(self, node: dict[str, Any] | None, key: str, field: str) -> list[dict[str, Any]]:
        """A list of objects; null or malformed items are skipped (flagged)."""
        values = None if node is None else node.get(key)
        if values is None:
            return []
        if values.__class__ is not list:
            if values.__class__ is dict:
                self.m.flag(field, values, "coerced")  # one object for a list of one
                return [values]
            if values != "":
                self.m.flag(field, values, "dropped")
            return []
        for v in values:
            if v.__class__ is not dict:
                return self._objects(values, field)
        return values

    def _objects(self, values: list[Any], field: str) -> list[dict[str, Any]]:
        out = []
        for v in values:
            if v.__class__ is dict:
                out.append(v)
            else:
                self.m.flag(field, v, "skipped")
        return out

    def strings(self, node: dict[str, Any] | None, key: str, field: str) -> list[str] | None:
        values = None if node is None else node.get(key)
        if values is None:
            return None
        if values.__class__ is not list:
            if values == "":
                return None
            if values.__class__ is dict or values.__class__ is bool:
                self.m.flag(field, values, "dropped")
                return None
            self.m.flag(field, values, "coerced")  # "Crohn Disease" for ["Crohn Disease"]
            values = [str(values)]
        out = []
        for v in values:
            if v.__class__ is not str:
                if v is None or v.__class__ in (list, dict, bool):
                    self.m.flag(field, v, "skipped")
                    continue
                self.m.flag(field, v, "coerced")
                v = str(v)
            line = clean_line(v, self.markup)
            if line:
                out.append(line)
        return out or None


_TRUE = frozenset({"yes", "y", "true", "t", "1"})
_FALSE = frozenset({"no", "n", "false", "f", "0"})
# Up to nine digits: a count of more is no count of people (and Python refuses to read a
# number of thousands of digits).
_COUNT = re.compile(r"^\s*(\d{1,3}(?:,\d{3}){0,2}|\d{1,9})\s*$")
_MAX_COUNT = 10**9
_NUMBER = re.compile(r"^\s*[-+]?\d{1,4}(?:\.\d{1,12})?\s*$")  # a coordinate, a size


def _coerce(value: Any, kind: type) -> Any:
    """``value`` as ``kind`` when only one reading is possible, else None."""
    cls = value.__class__
    if kind is str:
        if cls is int or cls is float:
            return str(value)
        if cls is list and len(value) == 1 and value[0].__class__ is str:
            return value[0]
    elif kind is int:
        if cls is str:
            match = _COUNT.match(value)
            return int(match[1].replace(",", "")) if match else None
        if cls is float and value.is_integer() and abs(value) < _MAX_COUNT:
            return int(value)
    elif kind is bool:
        if cls is str:
            word = value.strip().lower()
            return True if word in _TRUE else False if word in _FALSE else None
        if cls is int and value in (0, 1):
            return value == 1
    elif kind is float:
        if cls is str and _NUMBER.match(value):
            return float(value)
        if cls is int:
            return float(value)
    elif kind is list and (cls is str or cls is dict):
        return [value]
    return None


def _date(d: _Doc, value: Any, field: str, m: Mapper) -> dict[str, Any] | None:
    """A date struct ``{date, type}``; one given as bare text is read as its date (flagged)."""
    if value is None or value == "":
        return None
    if value.__class__ is dict:
        date, kind = value.get("date"), value.get("type")
    elif value.__class__ is str:
        m.flag(field, value, "coerced")  # the date without its kind
        date, kind = value, None
    else:
        m.flag(field, value, "dropped")
        return None
    if date is None or date == "":
        if value.__class__ is dict and any(v is not None and v != "" for v in value.values()):
            m.flag(field, value, "dropped")  # a struct without its date
        return None
    iso = _iso(date, field + ".date", m)
    if iso is None:
        return None
    return {"date": iso, "kind": m.enum(vocab.DATE_KIND, kind, field + ".kind")}


def _iso(date: Any, field: str, m: Mapper) -> str | None:
    if date.__class__ is str and is_iso(date):
        return str(date)
    iso = iso_date(date if date.__class__ is str else str(date))
    m.flag(field, date, "dropped" if iso is None else "coerced")
    return iso


def _org(d: _Doc, node: dict[str, Any] | None, field: str, m: Mapper) -> dict[str, Any] | None:
    if node is None:
        return None
    name = d.line(node, "name", field + ".name")
    agency_class = m.enum(vocab.AGENCY_CLASS, node.get("class"), f"{field}.class")
    return {"name": name, "class": agency_class} if name or agency_class else None


def _arm_intervention(name: str, names: frozenset[str]) -> str:
    """An arm's "Type: Name" reference -> the intervention's name.

    Linked by name, not by vocabulary: a type the vocabulary does not know yet still
    links, because the part after the colon names an intervention of the record."""
    if name in names:
        return name  # an intervention whose own name has a colon
    match = _TYPED_NAME.match(name)
    if match and (match[2].strip() in names or vocab.INTERVENTION_TYPE.map(match[1]).known):
        return match[2].strip()
    return name


def parse(raw: bytes, registry_id: str, *, url: str | None = None) -> Record:
    """Pure: an API v2 study document (bytes) -> the normalized record."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _Doc(registry_id, url, Mapper()).fail(f"malformed JSON ({exc})", "$") from exc
    if not isinstance(doc, dict):
        raise _Doc(registry_id, url, Mapper()).fail(
            f"expected a study object, found {type(doc).__name__}", "$")
    return parse_document(doc, registry_id, url=url)


def parse_document(doc: dict[str, Any], registry_id: str, *, url: str | None = None,
                   source: str = NAME, markup: Markup = "markdown") -> Record:
    """An API v2 study object (already decoded) -> the normalized record.

    ``markup`` is how its text fields are written: API v2 writes Markdown, the
    record-history endpoints the same fields as HTML (ctgov_history). Refused (a
    ParseError) only when the document cannot be identified: no protocol section,
    no NCT id, or another record's id; every other surprise is flagged.
    """
    m = Mapper()
    d = _Doc(registry_id, url, m, markup)
    proto = doc.get(_P)
    if proto.__class__ is not dict:
        raise d.fail("missing protocolSection: not an API v2 study document", "$.protocolSection")
    found = proto.get("identificationModule")
    ident: dict[str, Any] = found if found.__class__ is dict else {}
    nct = ident.get("nctId")
    if not nct or nct.__class__ is not str:
        raise d.fail("missing nctId: the document names no study", f"{_IDENT}.nctId")
    aliases = d.strings(ident, "nctIdAliases", "identifiers.aliases") or []
    if nct != registry_id and registry_id not in aliases:
        raise d.fail(f"document is for {nct}, not {registry_id}", f"{_IDENT}.nctId")
    status_mod = d.obj(proto, "statusModule", _STATUS) or {}
    desc = d.obj(proto, "descriptionModule", _DESCRIPTION)
    conditions = d.obj(proto, "conditionsModule", _CONDITIONS)
    status = _status(d, status_mod, m)
    data: dict[str, Any] = {
        "registry_id": nct,
        "source": source,
        "source_url": url,
        "titles": _titles(d, ident),
        "identifiers": _identifiers(d, ident, aliases, m),
        "status": status,
        **_design(d, d.obj(proto, "designModule", _DESIGN), m),
        "conditions": d.strings(conditions, "conditions", "conditions"),
        "keywords": d.strings(conditions, "keywords", "keywords"),
        **_arms_interventions(d, d.obj(proto, "armsInterventionsModule", _ARMS_MOD), m),
        "eligibility": _eligibility(d, d.obj(proto, "eligibilityModule", _ELIGIBILITY), m),
        "outcomes": _outcomes(d, d.obj(proto, "outcomesModule", _OUTCOMES_MOD), m),
        "sponsors": _sponsors(d, d.obj(proto, "sponsorCollaboratorsModule", _SPONSORS), m),
        "sites": _sites(d, d.obj(proto, "contactsLocationsModule", _CONTACTS), m),
        "summary": d.text(desc, "briefSummary", "summary"),
        "description": d.text(desc, "detailedDescription", "description"),
    }
    updated = (status or {}).get("last_update_posted")
    data["source_version_date"] = updated["date"] if updated else None
    data["unmapped"] = none_if_empty(m.unmapped)
    return build_record(data, source=source, registry_id=registry_id, url=url, mapper=m)


def _titles(d: _Doc, ident: dict[str, Any]) -> dict[str, Any] | None:
    titles = {
        "brief": d.line(ident, "briefTitle", "titles.brief"),
        "official": d.line(ident, "officialTitle", "titles.official"),
        "acronym": d.line(ident, "acronym", "titles.acronym"),
    }
    return titles if any(titles.values()) else None


def _identifiers(d: _Doc, ident: dict[str, Any], aliases: list[str], m: Mapper) -> dict[str, Any] | None:
    org = d.obj(ident, "orgStudyIdInfo", "identifiers.org_study_id")
    secondary = []
    for s in d.items(ident, "secondaryIdInfos", "identifiers.secondary"):
        item = {"id": d.line(s, "id", "identifiers.secondary.id"),
                "kind": m.enum(vocab.SECONDARY_ID_TYPE, s.get("type"), "identifiers.secondary.kind"),
                "domain": d.line(s, "domain", "identifiers.secondary.domain"),
                "link": d.line(s, "link", "identifiers.secondary.link")}
        if item["id"]:
            secondary.append(item)
        elif item["kind"] or item["domain"]:
            m.flag("identifiers.secondary", s, "skipped")  # an id without the id
    out = {
        "org_study_id": d.line(org, "id", "identifiers.org_study_id"),
        "secondary": secondary or None,
        "aliases": aliases or None,
    }
    return out if any(out.values()) else None


def _status(d: _Doc, mod: dict[str, Any], m: Mapper) -> dict[str, Any] | None:
    out: dict[str, Any] = {
        "overall": m.enum(vocab.OVERALL_STATUS, mod.get("overallStatus"), "status.overall"),
        "last_known": m.enum(vocab.OVERALL_STATUS, mod.get("lastKnownStatus"), "status.last_known"),
        "why_stopped": d.text(mod, "whyStopped", "status.why_stopped"),
    }
    for field, key in _DATES.items():
        out[field] = _date(d, mod.get(key), f"status.{field}", m)
    verified = mod.get("statusVerifiedDate")
    if verified.__class__ is dict:  # drifted into a struct like the others
        m.flag("status.verified", verified, "coerced")
        out["verified"] = _date(d, verified, "status.verified", m)
    else:
        iso = _iso(verified, "status.verified", m) if verified is not None and verified != "" else None
        out["verified"] = {"date": iso, "kind": None} if iso else None
    return out if any(out.values()) else None


def _design(d: _Doc, mod: dict[str, Any] | None, m: Mapper) -> dict[str, Any]:
    info = d.obj(mod, "designInfo", "design") or {}
    masking = d.obj(info, "maskingInfo", "design.masking") or {}
    design: dict[str, Any] = {
        field: m.enum(vocabulary, info.get(key), f"design.{field}")
        for field, (key, vocabulary) in _DESIGN_ENUMS.items()
    }
    design["masking"] = m.enum(vocab.MASKING, masking.get("masking"), "design.masking")
    design["who_masked"] = d.strings(masking, "whoMasked", "design.who_masked")
    enrollment = d.obj(mod, "enrollmentInfo", "enrollment") or {}
    count = d.get(enrollment, "count", int, "enrollment.count")
    if count == UNKNOWN_ENROLLMENT:
        count = None
    kind = m.enum(vocab.DATE_KIND, enrollment.get("type"), "enrollment.kind")
    return {
        "study_type": m.enum(vocab.STUDY_TYPE, None if mod is None else mod.get("studyType"), "study_type"),
        "phases": m.enums(vocab.PHASE, None if mod is None else mod.get("phases"), "phases"),
        "design": design if any(design.values()) else None,
        "enrollment": {"count": count, "kind": kind} if count is not None or kind else None,
    }


def _arms_interventions(d: _Doc, mod: dict[str, Any] | None, m: Mapper) -> dict[str, Any]:
    interventions: list[dict[str, Any]] = []
    for item in d.items(mod, "interventions", "interventions"):
        entry: dict[str, Any] = {
            "type": m.enum(vocab.INTERVENTION_TYPE, item.get("type"), "interventions.type"),
            "name": d.line(item, "name", "interventions.name"),
            "description": d.text(item, "description", "interventions.description"),
            "arm_labels": d.strings(item, "armGroupLabels", "interventions.arm_labels"),
            "other_names": d.strings(item, "otherNames", "interventions.other_names"),
        }
        if entry["name"] is None and item.get("name") in (None, "") and any(entry.values()):
            m.flag("interventions.name", item.get("name"), "kept")  # kept without its name
        if any(entry.values()):
            interventions.append(entry)
    names: frozenset[str] = frozenset(i["name"] for i in interventions if i["name"])
    arms = []
    for arm in d.items(mod, "armGroups", "arms"):
        refs = d.strings(arm, "interventionNames", "arms.interventions")
        entry = {
            "label": d.line(arm, "label", "arms.label"),
            "type": m.enum(vocab.ARM_TYPE, arm.get("type"), "arms.type"),
            "description": d.text(arm, "description", "arms.description"),
            "interventions": [_arm_intervention(n, names) for n in refs] if refs else None,
        }
        if entry["label"] is None and arm.get("label") in (None, "") and any(entry.values()):
            m.flag("arms.label", arm.get("label"), "kept")  # an arm without a label is still an arm
        if any(entry.values()):
            arms.append(entry)
    return {"arms": arms or None, "interventions": interventions or None}


def _eligibility(d: _Doc, mod: dict[str, Any] | None, m: Mapper) -> dict[str, Any] | None:
    if not mod:
        return None
    text = d.text(mod, "eligibilityCriteria", "eligibility.criteria_text")
    split = split_criteria(text) if text else None
    return {
        "criteria_text": text,
        "inclusion": split.inclusion or None if split else None,
        "exclusion": split.exclusion or None if split else None,
        "unclassified": split.unclassified or None if split else None,
        "criteria_layout": ("headed" if split.headed else "no_headers") if split else None,
        "criteria_groups": split.criteria_groups() if split else None,
        "min_age": parse_age(d.get(mod, "minimumAge", str, "eligibility.min_age"), "eligibility.min_age", m),
        "max_age": parse_age(d.get(mod, "maximumAge", str, "eligibility.max_age"), "eligibility.max_age", m),
        "sex": m.enum(vocab.SEX, mod.get("sex"), "eligibility.sex"),
        "healthy_volunteers": d.get(mod, "healthyVolunteers", bool, "eligibility.healthy_volunteers"),
        "std_ages": m.enums(vocab.STD_AGE, mod.get("stdAges"), "eligibility.std_ages"),
    }


def _outcomes(d: _Doc, mod: dict[str, Any] | None, m: Mapper) -> dict[str, Any] | None:
    if not mod:
        return None
    out: dict[str, Any] = {}
    for field, key in _OUTCOME_LISTS:
        path = f"outcomes.{field}"
        items = []
        for o in d.items(mod, key, path):
            entry = {"measure": d.line(o, "measure", path + ".measure"),
                     "time_frame": d.line(o, "timeFrame", path + ".time_frame"),
                     "description": d.text(o, "description", path + ".description")}
            if entry["measure"] is None and o.get("measure") in (None, "") and any(entry.values()):
                m.flag(path + ".measure", o.get("measure"), "kept")
            if any(entry.values()):
                items.append(entry)
        out[field] = items or None
    return out if any(out.values()) else None


def _sponsors(d: _Doc, mod: dict[str, Any] | None, m: Mapper) -> dict[str, Any] | None:
    lead = _org(d, d.obj(mod, "leadSponsor", "sponsors.lead"), "sponsors.lead", m)
    collaborators = [org for org in (_org(d, c, "sponsors.collaborators", m)
                                     for c in d.items(mod, "collaborators", "sponsors.collaborators")) if org]
    if not lead and not collaborators:
        return None
    return {"lead": lead, "collaborators": collaborators or None}


def _contacts(d: _Doc, node: dict[str, Any] | None, key: str, field: str,
              m: Mapper) -> list[dict[str, Any]] | None:
    out = []
    line = d.line
    for c in d.items(node, key, field):
        contact = {"name": line(c, "name", field + ".name"),
                   "role": m.enum(vocab.CONTACT_ROLE, c.get("role"), field + ".role"),
                   "phone": line(c, "phone", field + ".phone"),
                   "phone_ext": line(c, "phoneExt", field + ".phone_ext"),
                   "email": line(c, "email", field + ".email")}
        if any(contact.values()):
            out.append(contact)
    return out or None


def _coordinate(d: _Doc, point: dict[str, Any] | None, key: str, field: str, limit: float) -> float | None:
    value = None if point is None else point.get(key)
    if value is None:
        return None
    if value.__class__ is not float:
        if value.__class__ is int:
            return float(value)
        value = d.drifted(value, float, field)
        if value is None:
            return None
    if -limit <= value <= limit:
        return float(value)
    d.m.flag(field, value, "dropped")  # no place on Earth
    return None


def _sites(d: _Doc, mod: dict[str, Any] | None, m: Mapper) -> list[dict[str, Any]] | None:
    sites = []
    line = d.line
    for loc in d.items(mod, "locations", "sites"):
        point = d.obj(loc, "geoPoint", "sites.latitude")
        site = {"facility": line(loc, "facility", "sites.facility"), "city": line(loc, "city", "sites.city"),
                "state": line(loc, "state", "sites.state"), "country": line(loc, "country", "sites.country"),
                "status": m.enum(vocab.SITE_STATUS, loc.get("status"), "sites.status"),
                "zip": line(loc, "zip", "sites.zip"),
                "latitude": _coordinate(d, point, "lat", "sites.latitude", 90.0),
                "longitude": _coordinate(d, point, "lon", "sites.longitude", 180.0),
                "contacts": _contacts(d, loc, "contacts", "sites.contacts", m)}
        if any(site.values()):
            sites.append(site)
    return sites or None
