"""ClinicalTrials.gov API v2: the pure parser of a study document (bytes -> Record).

Quirks this module handles (see REGISTRY-NOTES.md):
- text fields are Markdown with backslash escapes (``\\<``): undone by trialmirror.ingest.parsing.text;
- dates carry their own precision ("2010-10" or "2010-10-05") and a type
  ACTUAL/ESTIMATED (older wording: Anticipated), kept as ``kind``;
- unknown enrollment has been encoded as 99,999,999: read as "not said" (null);
- arm groups name interventions as "Type: Name"; the record keeps the name;
- 2023 documents carry keys the field list no longer has (``locations_nested``,
  ``modelPredictions``): unknown keys are ignored, never an error;
- a new enum value (status, phase, age unit) is kept verbatim and listed in
  ``unmapped``, never a failure.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from trialmirror.errors import ParseError
from trialmirror.ingest.parsing.criteria import split_criteria
from trialmirror.ingest.parsing.fields import Mapper, build_record, none_if_empty, parse_age
from trialmirror.ingest.parsing.text import Markup, clean, clean_line, collapse, unescape_markdown
from trialmirror.models import vocab
from trialmirror.models.record import Record

NAME = "ctgov"
PARSER_VERSION = 2  # 2: canonical text (one line per paragraph or item; blank lines dropped)
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
_OUTCOME_LISTS = [  # (record field, API key, API path)
    (field, key, f"protocolSection.outcomesModule.{key}")
    for field, key in (("primary", "primaryOutcomes"), ("secondary", "secondaryOutcomes"),
                       ("other", "otherOutcomes"))
]
_TYPED_NAME = re.compile(r"^\s*([A-Za-z /]+?)\s*:\s*(.+)$")

_P = "protocolSection"
_IDENT = f"{_P}.identificationModule"
_STATUS = f"{_P}.statusModule"
_DESIGN = f"{_P}.designModule"
_DESIGN_INFO = f"{_DESIGN}.designInfo"
_ENROLLMENT = f"{_DESIGN}.enrollmentInfo"
_CONDITIONS = f"{_P}.conditionsModule"
_ARMS_MOD = f"{_P}.armsInterventionsModule"
_ARM_GROUPS = f"{_ARMS_MOD}.armGroups"
_INTERVENTIONS = f"{_ARMS_MOD}.interventions"
_ELIGIBILITY = f"{_P}.eligibilityModule"
_OUTCOMES_MOD = f"{_P}.outcomesModule"
_SPONSORS = f"{_P}.sponsorCollaboratorsModule"
_CONTACTS = f"{_P}.contactsLocationsModule"
_LOCATIONS = f"{_CONTACTS}.locations"
_DESCRIPTION = f"{_P}.descriptionModule"


class _Doc:
    """Typed access into the API document; a wrong type is a ParseError naming its path.

    ``path`` is the constant path of the node; ``index`` its position when it is a
    list item. Paths are only formatted on failure: this runs ~120 times a record.
    """

    def __init__(self, registry_id: str, url: str | None, markup: Markup = "markdown"):
        self.registry_id, self.url, self.markup = registry_id, url, markup

    def fail(self, reason: str, path: str) -> ParseError:
        return ParseError(reason, field_path=path, source=NAME, registry_id=self.registry_id,
                          url=self.url)

    def get(self, node: dict[str, Any] | None, key: str, kind: type, path: str,
            index: int | None = None) -> Any:
        if node is None:
            return None
        value = node.get(key)
        if value is None or value.__class__ is kind:
            return value
        if kind is str and value.__class__ in (int, float):
            return str(value)
        where = f"{path}[{index}].{key}" if index is not None else f"{path}.{key}"
        raise self.fail(f"expected {kind.__name__}, found {type(value).__name__}", where)

    def text(self, node: dict[str, Any] | None, key: str, path: str, index: int | None = None) -> str | None:
        value = None if node is None else node.get(key)
        if value is None:
            return None
        return clean(value if value.__class__ is str else self.get(node, key, str, path, index),
                     self.markup)

    def line(self, node: dict[str, Any] | None, key: str, path: str, index: int | None = None) -> str | None:
        # clean_line inlined: this runs ~50 times a record.
        value = None if node is None else node.get(key)
        if value is None:
            return None
        if value.__class__ is not str:
            value = self.get(node, key, str, path, index)
        if self.markup != "markdown":
            return clean_line(value, self.markup)
        if "\\" in value:
            value = unescape_markdown(value)
        return collapse(value) or None

    def obj(self, node: dict[str, Any] | None, key: str, path: str) -> dict[str, Any] | None:
        return self.get(node, key, dict, path)

    def items(self, node: dict[str, Any] | None, key: str, path: str) -> list[dict[str, Any]]:
        values = self.get(node, key, list, path) or []
        for i, v in enumerate(values):
            if v.__class__ is not dict:
                raise self.fail(f"expected object, found {type(v).__name__}", f"{path}.{key}[{i}]")
        return values

    def strings(self, node: dict[str, Any] | None, key: str, path: str,
                index: int | None = None) -> list[str] | None:
        values = self.get(node, key, list, path, index)
        if not values:
            return None
        out = [clean_line(v if v.__class__ is str else str(v), self.markup) for v in values if v is not None]
        return [v for v in out if v] or None


def _date(d: _Doc, struct: dict[str, Any] | None, path: str, m: Mapper) -> dict[str, Any] | None:
    if not struct or not struct.get("date"):
        return None
    kind = struct.get("type")
    return {"date": d.get(struct, "date", str, path), "kind": m.enum(vocab.DATE_KIND, kind, path + ".kind")}


def _org(d: _Doc, node: dict[str, Any] | None, path: str, field: str, m: Mapper,
         index: int | None = None) -> dict[str, Any] | None:
    if node is None:
        return None
    name = d.line(node, "name", path, index)
    agency_class = m.enum(vocab.AGENCY_CLASS, node.get("class"), f"{field}.class")
    return {"name": name, "class": agency_class} if name or agency_class else None


def _strip_type(name: str) -> str:
    """"Biological: conventional therapy" -> "conventional therapy" (arm intervention names)."""
    match = _TYPED_NAME.match(name)
    if match and vocab.INTERVENTION_TYPE.map(match[1]).known:
        return match[2].strip()
    return name


def parse(raw: bytes, registry_id: str, *, url: str | None = None) -> Record:
    """Pure: an API v2 study document (bytes) -> the normalized record."""
    d = _Doc(registry_id, url)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise d.fail(f"malformed JSON ({exc})", "$") from exc
    if not isinstance(doc, dict):
        raise d.fail(f"expected a study object, found {type(doc).__name__}", "$")
    return parse_document(doc, registry_id, url=url)


def parse_document(doc: dict[str, Any], registry_id: str, *, url: str | None = None,
                   source: str = NAME, markup: Markup = "markdown") -> Record:
    """An API v2 study object (already decoded) -> the normalized record.

    ``markup`` is how its text fields are written: API v2 writes Markdown, the
    record-history endpoints the same fields as HTML (ctgov_history).
    """
    d = _Doc(registry_id, url, markup)
    proto = d.obj(doc, _P, "$")
    if proto is None:
        raise d.fail("missing protocolSection: not an API v2 study document", "$.protocolSection")
    m = Mapper()
    ident = d.obj(proto, "identificationModule", _P) or {}
    nct = d.get(ident, "nctId", str, _IDENT)
    if not nct:
        raise d.fail("missing nctId", f"{_IDENT}.nctId")
    aliases = d.strings(ident, "nctIdAliases", _IDENT) or []
    if nct != registry_id and registry_id not in aliases:
        raise d.fail(f"document is for {nct}, not {registry_id}", f"{_IDENT}.nctId")
    status_mod = d.obj(proto, "statusModule", _P) or {}
    desc = d.obj(proto, "descriptionModule", _P)
    data: dict[str, Any] = {
        "registry_id": nct,
        "source": source,
        "source_url": url,
        "source_version_date": (status_mod.get("lastUpdatePostDateStruct") or {}).get("date"),
        "titles": _titles(d, ident),
        "identifiers": _identifiers(d, ident, aliases, m),
        "status": _status(d, status_mod, m),
        **_design(d, d.obj(proto, "designModule", _P), m),
        "conditions": d.strings(d.obj(proto, "conditionsModule", _P), "conditions", _CONDITIONS),
        "keywords": d.strings(d.obj(proto, "conditionsModule", _P), "keywords", _CONDITIONS),
        **_arms_interventions(d, d.obj(proto, "armsInterventionsModule", _P), m),
        "eligibility": _eligibility(d, d.obj(proto, "eligibilityModule", _P), m),
        "outcomes": _outcomes(d, d.obj(proto, "outcomesModule", _P)),
        "sponsors": _sponsors(d, d.obj(proto, "sponsorCollaboratorsModule", _P), m),
        "sites": _sites(d, d.obj(proto, "contactsLocationsModule", _P), m),
        "summary": d.text(desc, "briefSummary", _DESCRIPTION),
        "description": d.text(desc, "detailedDescription", _DESCRIPTION),
        "unmapped": none_if_empty(m.unmapped),
    }
    return build_record(data, source=source, registry_id=registry_id, url=url)


def _titles(d: _Doc, ident: dict[str, Any]) -> dict[str, Any] | None:
    titles = {
        "brief": d.line(ident, "briefTitle", _IDENT),
        "official": d.line(ident, "officialTitle", _IDENT),
        "acronym": d.line(ident, "acronym", _IDENT),
    }
    return titles if any(titles.values()) else None


def _identifiers(d: _Doc, ident: dict[str, Any], aliases: list[str], m: Mapper) -> dict[str, Any] | None:
    org = d.obj(ident, "orgStudyIdInfo", _IDENT)
    path = f"{_IDENT}.secondaryIdInfos"
    secondary = [
        {"id": d.line(s, "id", path, i),
         "kind": m.enum(vocab.SECONDARY_ID_TYPE, s.get("type"), "identifiers.secondary.kind"),
         "domain": d.line(s, "domain", path, i)}
        for i, s in enumerate(d.items(ident, "secondaryIdInfos", _IDENT))
    ]
    out = {
        "org_study_id": d.line(org, "id", f"{_IDENT}.orgStudyIdInfo"),
        "secondary": [s for s in secondary if s["id"]] or None,
        "aliases": aliases or None,
    }
    return out if any(out.values()) else None


def _status(d: _Doc, mod: dict[str, Any], m: Mapper) -> dict[str, Any] | None:
    out: dict[str, Any] = {
        "overall": m.enum(vocab.OVERALL_STATUS, d.get(mod, "overallStatus", str, _STATUS), "status.overall"),
        "last_known": m.enum(vocab.OVERALL_STATUS, d.get(mod, "lastKnownStatus", str, _STATUS),
                             "status.last_known"),
        "why_stopped": d.text(mod, "whyStopped", _STATUS),
    }
    for field, key in _DATES.items():
        out[field] = _date(d, d.obj(mod, key, _STATUS), f"status.{field}", m)
    verified = d.get(mod, "statusVerifiedDate", str, _STATUS)
    out["verified"] = {"date": verified, "kind": None} if verified else None
    return out if any(out.values()) else None


def _design(d: _Doc, mod: dict[str, Any] | None, m: Mapper) -> dict[str, Any]:
    info = d.obj(mod, "designInfo", _DESIGN) or {}
    masking = d.obj(info, "maskingInfo", _DESIGN_INFO) or {}
    design: dict[str, Any] = {
        field: m.enum(vocabulary, d.get(info, key, str, _DESIGN_INFO), f"design.{field}")
        for field, (key, vocabulary) in _DESIGN_ENUMS.items()
    }
    design["masking"] = m.enum(vocab.MASKING, masking.get("masking"), "design.masking")
    design["who_masked"] = d.strings(masking, "whoMasked", f"{_DESIGN_INFO}.maskingInfo")
    enrollment = d.obj(mod, "enrollmentInfo", _DESIGN) or {}
    count = d.get(enrollment, "count", int, _ENROLLMENT)
    if count == UNKNOWN_ENROLLMENT:
        count = None
    kind = m.enum(vocab.DATE_KIND, enrollment.get("type"), "enrollment.kind")
    return {
        "study_type": m.enum(vocab.STUDY_TYPE, d.get(mod, "studyType", str, _DESIGN), "study_type"),
        "phases": m.enums(vocab.PHASE, d.get(mod, "phases", list, _DESIGN), "phases"),
        "design": design if any(design.values()) else None,
        "enrollment": {"count": count, "kind": kind} if count is not None or kind else None,
    }


def _arms_interventions(d: _Doc, mod: dict[str, Any] | None, m: Mapper) -> dict[str, Any]:
    arms = []
    for i, arm in enumerate(d.items(mod, "armGroups", _ARMS_MOD)):
        label = d.line(arm, "label", _ARM_GROUPS, i)
        if not label:
            continue
        names = d.strings(arm, "interventionNames", _ARM_GROUPS, i)
        arms.append({
            "label": label,
            "type": m.enum(vocab.ARM_TYPE, arm.get("type"), "arms.type"),
            "description": d.text(arm, "description", _ARM_GROUPS, i),
            "interventions": [_strip_type(n) for n in names] if names else None,
        })
    interventions = []
    for i, item in enumerate(d.items(mod, "interventions", _ARMS_MOD)):
        name = d.line(item, "name", _INTERVENTIONS, i)
        if not name:
            continue
        interventions.append({
            "type": m.enum(vocab.INTERVENTION_TYPE, item.get("type"), "interventions.type"),
            "name": name,
            "description": d.text(item, "description", _INTERVENTIONS, i),
            "arm_labels": d.strings(item, "armGroupLabels", _INTERVENTIONS, i),
            "other_names": d.strings(item, "otherNames", _INTERVENTIONS, i),
        })
    return {"arms": arms or None, "interventions": interventions or None}


def _eligibility(d: _Doc, mod: dict[str, Any] | None, m: Mapper) -> dict[str, Any] | None:
    if not mod:
        return None
    text = d.text(mod, "eligibilityCriteria", _ELIGIBILITY)
    split = split_criteria(text) if text else None
    return {
        "criteria_text": text,
        "inclusion": split.inclusion or None if split else None,
        "exclusion": split.exclusion or None if split else None,
        "unclassified": split.unclassified or None if split else None,
        "criteria_layout": ("headed" if split.headed else "no_headers") if split else None,
        "min_age": parse_age(d.get(mod, "minimumAge", str, _ELIGIBILITY), "eligibility.min_age", m),
        "max_age": parse_age(d.get(mod, "maximumAge", str, _ELIGIBILITY), "eligibility.max_age", m),
        "sex": m.enum(vocab.SEX, d.get(mod, "sex", str, _ELIGIBILITY), "eligibility.sex"),
        "healthy_volunteers": d.get(mod, "healthyVolunteers", bool, _ELIGIBILITY),
        "std_ages": m.enums(vocab.STD_AGE, d.get(mod, "stdAges", list, _ELIGIBILITY), "eligibility.std_ages"),
    }


def _outcomes(d: _Doc, mod: dict[str, Any] | None) -> dict[str, Any] | None:
    if not mod:
        return None
    out: dict[str, Any] = {}
    for field, key, path in _OUTCOME_LISTS:
        items = []
        for i, o in enumerate(d.items(mod, key, _OUTCOMES_MOD)):
            measure = d.line(o, "measure", path, i)
            if measure:
                items.append({"measure": measure, "time_frame": d.line(o, "timeFrame", path, i),
                              "description": d.text(o, "description", path, i)})
        out[field] = items or None
    return out if any(out.values()) else None


def _sponsors(d: _Doc, mod: dict[str, Any] | None, m: Mapper) -> dict[str, Any] | None:
    lead = _org(d, d.obj(mod, "leadSponsor", _SPONSORS), f"{_SPONSORS}.leadSponsor", "sponsors.lead", m)
    path = f"{_SPONSORS}.collaborators"
    collaborators = [org for org in (_org(d, c, path, "sponsors.collaborators", m, i)
                                     for i, c in enumerate(d.items(mod, "collaborators", _SPONSORS))) if org]
    if not lead and not collaborators:
        return None
    return {"lead": lead, "collaborators": collaborators or None}


def _sites(d: _Doc, mod: dict[str, Any] | None, m: Mapper) -> list[dict[str, Any]] | None:
    sites = []
    line = d.line
    for i, loc in enumerate(d.items(mod, "locations", _CONTACTS)):
        site = {"facility": line(loc, "facility", _LOCATIONS, i), "city": line(loc, "city", _LOCATIONS, i),
                "state": line(loc, "state", _LOCATIONS, i), "country": line(loc, "country", _LOCATIONS, i),
                "status": m.enum(vocab.SITE_STATUS, loc.get("status"), "sites.status")}
        if any(site.values()):
            sites.append(site)
    return sites or None

