"""ClinicalTrials.gov API v2: ``GET {base}/api/v2/studies/{nctId}``.

Quirks this module handles (see REGISTRY-NOTES.md):
- text fields are Markdown with backslash escapes (``\\<``): undone by ingest.text;
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

from ingest.criteria import split_criteria
from ingest.errors import InvalidIdError, ParseError
from ingest.http import Fetched, Http
from ingest.settings import Settings
from ingest.sources.base import Mapper, build_record, none_if_empty, parse_age
from ingest.text import clean, clean_line
from models import vocab
from models.record import Record

NAME = "ctgov"
LABEL = "ClinicalTrials.gov"
PARSER_VERSION = 1
NCT_ID = re.compile(r"^NCT\d{8}$")
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
_OUTCOMES = {"primary": "primaryOutcomes", "secondary": "secondaryOutcomes", "other": "otherOutcomes"}
_TYPED_NAME = re.compile(r"^\s*([A-Za-z /]+?)\s*:\s*(.+)$")


def validate_id(registry_id: str) -> str:
    candidate = registry_id.strip().upper()
    if not NCT_ID.match(candidate):
        raise InvalidIdError(f"{registry_id!r} is not a ClinicalTrials.gov id", source=NAME,
                             registry_id=registry_id)
    return candidate


def url(settings: Settings, registry_id: str) -> str:
    return f"{settings.ctgov_base_url}/api/v2/studies/{registry_id}"


def fetch(http: Http, settings: Settings, registry_id: str, *, etag: str | None = None,
          last_modified: str | None = None) -> Fetched:
    return http.get(url(settings, registry_id), source=NAME, registry_id=registry_id,
                    etag=etag, last_modified=last_modified)


class _Doc:
    """Typed access into the API document; a wrong type is a ParseError naming its path."""

    def __init__(self, registry_id: str, url: str | None):
        self.registry_id, self.url = registry_id, url

    def fail(self, reason: str, path: str) -> ParseError:
        return ParseError(reason, field_path=path, source=NAME, registry_id=self.registry_id,
                          url=self.url)

    def get(self, node: dict[str, Any] | None, key: str, kind: type, path: str) -> Any:
        if node is None:
            return None
        value = node.get(key)
        if value is None or value.__class__ is kind or isinstance(value, kind):
            return value
        if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise self.fail(f"expected {kind.__name__}, found {type(value).__name__}", f"{path}.{key}")

    def obj(self, node: dict[str, Any] | None, key: str, path: str) -> dict[str, Any] | None:
        return self.get(node, key, dict, path)

    def items(self, node: dict[str, Any] | None, key: str, path: str) -> list[dict[str, Any]]:
        values = self.get(node, key, list, path) or []
        for i, v in enumerate(values):
            if not isinstance(v, dict):
                raise self.fail(f"expected object, found {type(v).__name__}", f"{path}.{key}[{i}]")
        return values

    def strings(self, node: dict[str, Any] | None, key: str, path: str) -> list[str] | None:
        values = self.get(node, key, list, path) or []
        out = [clean_line(str(v)) for v in values if v is not None]
        return [v for v in out if v] or None


def _date(d: _Doc, struct: dict[str, Any] | None, path: str, m: Mapper) -> dict[str, Any] | None:
    if not struct or not struct.get("date"):
        return None
    kind = struct.get("type")
    return {"date": d.get(struct, "date", str, path), "kind": m.enum(vocab.DATE_KIND, kind, path + ".kind")}


def _org(d: _Doc, node: dict[str, Any] | None, path: str, m: Mapper) -> dict[str, Any] | None:
    name = clean_line(d.get(node, "name", str, path))
    if not name:
        return None
    return {"name": name, "class": m.enum(vocab.AGENCY_CLASS, node.get("class"), path + ".class")}


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
                   source: str = NAME) -> Record:
    """An API v2 study object (already decoded) -> the normalized record."""
    d = _Doc(registry_id, url)
    proto = d.obj(doc, "protocolSection", "$")
    if proto is None:
        raise d.fail("missing protocolSection: not an API v2 study document", "$.protocolSection")
    m = Mapper()
    p = "protocolSection"
    ident = d.obj(proto, "identificationModule", p) or {}
    nct = d.get(ident, "nctId", str, f"{p}.identificationModule")
    if not nct:
        raise d.fail("missing nctId", f"{p}.identificationModule.nctId")
    aliases = d.strings(ident, "nctIdAliases", f"{p}.identificationModule") or []
    if nct != registry_id and registry_id not in aliases:
        raise d.fail(f"document is for {nct}, not {registry_id}", f"{p}.identificationModule.nctId")
    status_mod = d.obj(proto, "statusModule", p) or {}
    data: dict[str, Any] = {
        "registry_id": nct,
        "source": source,
        "source_url": url,
        "source_version_date": (status_mod.get("lastUpdatePostDateStruct") or {}).get("date"),
        "titles": _titles(d, ident, p),
        "identifiers": _identifiers(d, ident, aliases, p, m),
        "status": _status(d, status_mod, p, m),
        **_design(d, d.obj(proto, "designModule", p), p, m),
        **_conditions(d, d.obj(proto, "conditionsModule", p), p),
        **_arms_interventions(d, d.obj(proto, "armsInterventionsModule", p), p, m),
        "eligibility": _eligibility(d, d.obj(proto, "eligibilityModule", p), p, m),
        "outcomes": _outcomes(d, d.obj(proto, "outcomesModule", p), p),
        "sponsors": _sponsors(d, d.obj(proto, "sponsorCollaboratorsModule", p), p, m),
        "sites": _sites(d, d.obj(proto, "contactsLocationsModule", p), p, m),
    }
    desc = d.obj(proto, "descriptionModule", p)
    data["summary"] = clean(d.get(desc, "briefSummary", str, f"{p}.descriptionModule"))
    data["description"] = clean(d.get(desc, "detailedDescription", str, f"{p}.descriptionModule"))
    data["unmapped"] = none_if_empty(m.unmapped)
    return build_record(data, source=source, registry_id=registry_id, url=url)


def _titles(d: _Doc, ident: dict[str, Any], p: str) -> dict[str, Any] | None:
    path = f"{p}.identificationModule"
    titles = {
        "brief": clean_line(d.get(ident, "briefTitle", str, path)),
        "official": clean_line(d.get(ident, "officialTitle", str, path)),
        "acronym": clean_line(d.get(ident, "acronym", str, path)),
    }
    return titles if any(titles.values()) else None


def _identifiers(d: _Doc, ident: dict[str, Any], aliases: list[str], p: str,
                 m: Mapper) -> dict[str, Any] | None:
    path = f"{p}.identificationModule"
    org = d.obj(ident, "orgStudyIdInfo", path)
    secondary = [
        {"id": clean_line(d.get(s, "id", str, f"{path}.secondaryIdInfos")),
         "kind": m.enum(vocab.SECONDARY_ID_TYPE, s.get("type"), "identifiers.secondary.kind"),
         "domain": clean_line(d.get(s, "domain", str, f"{path}.secondaryIdInfos"))}
        for s in d.items(ident, "secondaryIdInfos", path)
    ]
    out = {
        "org_study_id": clean_line(d.get(org, "id", str, f"{path}.orgStudyIdInfo")),
        "secondary": [s for s in secondary if s["id"]] or None,
        "aliases": aliases or None,
    }
    return out if any(out.values()) else None


def _status(d: _Doc, mod: dict[str, Any], p: str, m: Mapper) -> dict[str, Any] | None:
    path = f"{p}.statusModule"
    out: dict[str, Any] = {
        "overall": m.enum(vocab.OVERALL_STATUS, d.get(mod, "overallStatus", str, path), "status.overall"),
        "last_known": m.enum(vocab.OVERALL_STATUS, d.get(mod, "lastKnownStatus", str, path),
                             "status.last_known"),
        "why_stopped": clean(d.get(mod, "whyStopped", str, path)),
    }
    for field, key in _DATES.items():
        out[field] = _date(d, d.obj(mod, key, path), f"status.{field}", m)
    verified = d.get(mod, "statusVerifiedDate", str, path)
    out["verified"] = {"date": verified, "kind": None} if verified else None
    return out if any(out.values()) else None


def _design(d: _Doc, mod: dict[str, Any] | None, p: str, m: Mapper) -> dict[str, Any]:
    path = f"{p}.designModule"
    info = d.obj(mod, "designInfo", path) or {}
    masking = d.obj(info, "maskingInfo", f"{path}.designInfo") or {}
    design: dict[str, Any] = {
        field: m.enum(vocabulary, d.get(info, key, str, f"{path}.designInfo"), f"design.{field}")
        for field, (key, vocabulary) in _DESIGN_ENUMS.items()
    }
    design["masking"] = m.enum(vocab.MASKING, masking.get("masking"), "design.masking")
    design["who_masked"] = none_if_empty([str(w) for w in masking.get("whoMasked") or []])
    enrollment = d.obj(mod, "enrollmentInfo", path) or {}
    count = d.get(enrollment, "count", int, f"{path}.enrollmentInfo")
    if count == UNKNOWN_ENROLLMENT:
        count = None
    kind = m.enum(vocab.DATE_KIND, enrollment.get("type"), "enrollment.kind")
    return {
        "study_type": m.enum(vocab.STUDY_TYPE, d.get(mod, "studyType", str, path), "study_type"),
        "phases": m.enums(vocab.PHASE, d.get(mod, "phases", list, path), "phases"),
        "design": design if any(design.values()) else None,
        "enrollment": {"count": count, "kind": kind} if count is not None or kind else None,
    }


def _conditions(d: _Doc, mod: dict[str, Any] | None, p: str) -> dict[str, Any]:
    path = f"{p}.conditionsModule"
    return {"conditions": d.strings(mod, "conditions", path), "keywords": d.strings(mod, "keywords", path)}


def _arms_interventions(d: _Doc, mod: dict[str, Any] | None, p: str, m: Mapper) -> dict[str, Any]:
    path = f"{p}.armsInterventionsModule"
    arms = []
    for arm in d.items(mod, "armGroups", path):
        label = clean_line(d.get(arm, "label", str, f"{path}.armGroups"))
        if not label:
            continue
        names = d.strings(arm, "interventionNames", f"{path}.armGroups")
        arms.append({
            "label": label,
            "type": m.enum(vocab.ARM_TYPE, arm.get("type"), "arms.type"),
            "description": clean(d.get(arm, "description", str, f"{path}.armGroups")),
            "interventions": [_strip_type(n) for n in names] if names else None,
        })
    interventions = []
    for item in d.items(mod, "interventions", path):
        name = clean_line(d.get(item, "name", str, f"{path}.interventions"))
        if not name:
            continue
        interventions.append({
            "type": m.enum(vocab.INTERVENTION_TYPE, item.get("type"), "interventions.type"),
            "name": name,
            "description": clean(d.get(item, "description", str, f"{path}.interventions")),
            "arm_labels": d.strings(item, "armGroupLabels", f"{path}.interventions"),
            "other_names": d.strings(item, "otherNames", f"{path}.interventions"),
        })
    return {"arms": arms or None, "interventions": interventions or None}


def _eligibility(d: _Doc, mod: dict[str, Any] | None, p: str, m: Mapper) -> dict[str, Any] | None:
    if not mod:
        return None
    path = f"{p}.eligibilityModule"
    text = clean(d.get(mod, "eligibilityCriteria", str, path))
    split = split_criteria(text) if text else None
    healthy = d.get(mod, "healthyVolunteers", bool, path)
    return {
        "criteria_text": text,
        "inclusion": split.inclusion or None if split else None,
        "exclusion": split.exclusion or None if split else None,
        "unclassified": split.unclassified or None if split else None,
        "criteria_layout": ("headed" if split.headed else "no_headers") if split else None,
        "min_age": parse_age(d.get(mod, "minimumAge", str, path), "eligibility.min_age", m),
        "max_age": parse_age(d.get(mod, "maximumAge", str, path), "eligibility.max_age", m),
        "sex": m.enum(vocab.SEX, d.get(mod, "sex", str, path), "eligibility.sex"),
        "healthy_volunteers": healthy,
        "std_ages": m.enums(vocab.STD_AGE, d.get(mod, "stdAges", list, path), "eligibility.std_ages"),
    }


def _outcomes(d: _Doc, mod: dict[str, Any] | None, p: str) -> dict[str, Any] | None:
    path = f"{p}.outcomesModule"
    out: dict[str, Any] = {}
    for field, key in _OUTCOMES.items():
        items = [
            {"measure": clean_line(d.get(o, "measure", str, f"{path}.{key}")),
             "time_frame": clean_line(d.get(o, "timeFrame", str, f"{path}.{key}")),
             "description": clean(d.get(o, "description", str, f"{path}.{key}"))}
            for o in d.items(mod, key, path)
        ]
        out[field] = [o for o in items if o["measure"]] or None
    return out if any(out.values()) else None


def _sponsors(d: _Doc, mod: dict[str, Any] | None, p: str, m: Mapper) -> dict[str, Any] | None:
    path = f"{p}.sponsorCollaboratorsModule"
    lead = _org(d, d.obj(mod, "leadSponsor", path), "sponsors.lead", m)
    collaborators = [
        org for org in (_org(d, c, "sponsors.collaborators", m)
                        for c in d.items(mod, "collaborators", path)) if org
    ]
    if not lead and not collaborators:
        return None
    return {"lead": lead, "collaborators": collaborators or None}


def _sites(d: _Doc, mod: dict[str, Any] | None, p: str, m: Mapper) -> list[dict[str, Any]] | None:
    path = f"{p}.contactsLocationsModule.locations"
    sites = []
    for loc in d.items(mod, "locations", f"{p}.contactsLocationsModule"):
        site = {key: clean_line(d.get(loc, key, str, path)) for key in ("facility", "city", "state", "country")}
        site["status"] = m.enum(vocab.SITE_STATUS, loc.get("status"), "sites.status")
        if any(site.values()):
            sites.append(site)
    return sites or None


class _CtGov:
    name = NAME
    label = LABEL
    parser_version = PARSER_VERSION
    validate_id = staticmethod(validate_id)
    url = staticmethod(url)
    fetch = staticmethod(fetch)
    parse = staticmethod(parse)


SOURCE = _CtGov()
