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

from trialmirror.ingest.parsing.criteria import split_criteria
from trialmirror.ingest.parsing.fields import Mapper, build_record, none_if_empty, parse_age
from trialmirror.ingest.parsing.text import Markup
from trialmirror.ingest.sources.ctgov import results, sections
from trialmirror.ingest.sources.ctgov.doc import NAME, Doc, date_struct, iso, org, said
from trialmirror.models import vocab
from trialmirror.models.record import Record

PARSER_VERSION = 6  # 2: canonical text (one line per paragraph or item; blank lines dropped);
# 3: the drift policy (flags with an action; items without a label kept);
# 4: criteria headers by their shape, criteria_groups; 5: the whole record (every
# protocol, derived, document and annotation field; see ``fieldmap``); 6: the results
# section (``results``)
UNKNOWN_ENROLLMENT = 99_999_999

_DATES = {  # record field -> statusModule key
    "start": "startDateStruct",
    "primary_completion": "primaryCompletionDateStruct",
    "completion": "completionDateStruct",
    "first_posted": "studyFirstPostDateStruct",
    "last_update_posted": "lastUpdatePostDateStruct",
    "results_first_posted": "resultsFirstPostDateStruct",
    "disposition_first_posted": "dispFirstPostDateStruct",
}
_DAYS = {  # record field -> statusModule key of a date given without a kind
    "first_submitted": "studyFirstSubmitDate",
    "first_submitted_qc": "studyFirstSubmitQcDate",
    "last_update_submitted": "lastUpdateSubmitDate",
    "results_first_submitted": "resultsFirstSubmitDate",
    "results_first_submitted_qc": "resultsFirstSubmitQcDate",
    "disposition_first_submitted": "dispFirstSubmitDate",
    "disposition_first_submitted_qc": "dispFirstSubmitQcDate",
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
_STATUS_PATHS = {field: f"status.{field}" for field in (*_DATES, *_DAYS)}  # made once, not per record
_EXPANDED_ACCESS_TYPES = (("individual", "INDIVIDUAL"), ("intermediate", "INTERMEDIATE"),
                          ("treatment", "TREATMENT"))

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
        raise Doc(registry_id, url, Mapper()).fail(f"malformed JSON ({exc})", "$") from exc
    if not isinstance(doc, dict):
        raise Doc(registry_id, url, Mapper()).fail(
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
    d = Doc(registry_id, url, m, markup)
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
    arms_interventions = _arms_interventions(d, d.obj(proto, "armsInterventionsModule", _ARMS_MOD), m)
    derived = d.obj(doc, "derivedSection", "$.derivedSection")
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
        **arms_interventions,
        "eligibility": _eligibility(d, d.obj(proto, "eligibilityModule", _ELIGIBILITY), m),
        "outcomes": _outcomes(d, d.obj(proto, "outcomesModule", _OUTCOMES_MOD), m),
        "sponsors": _sponsors(d, d.obj(proto, "sponsorCollaboratorsModule", _SPONSORS), ident, m),
        "summary": d.text(desc, "briefSummary", "summary"),
        "description": d.text(desc, "detailedDescription", "description"),
        "has_results": d.get(doc, "hasResults", bool, "has_results"),
        **sections.contacts_locations(d, d.obj(proto, "contactsLocationsModule", _CONTACTS), m),
        "oversight": sections.oversight(d, d.obj(proto, "oversightModule", "oversight")),
        "references": sections.references(d, d.obj(proto, "referencesModule", "references"), m),
        "ipd_sharing": sections.ipd_sharing(d, d.obj(proto, "ipdSharingStatementModule", "ipd_sharing"), m),
        "mesh": sections.mesh(d, derived, m),
        "documents": sections.documents(d, doc, m),
        "annotations": sections.registry_annotations(d, doc, m),
        "registry_info": sections.registry_info(d, derived, m),
        "results": results.results(d, doc, arms_interventions["arms"], m),
    }
    updated = (status or {}).get("last_update_posted")
    data["source_version_date"] = updated["date"] if updated else None
    data["unmapped"] = none_if_empty(m.unmapped)
    return build_record(data, source=source, registry_id=registry_id, url=url, mapper=m)


def _titles(d: Doc, ident: dict[str, Any]) -> dict[str, Any] | None:
    titles = {
        "brief": d.line(ident, "briefTitle", "titles.brief"),
        "official": d.line(ident, "officialTitle", "titles.official"),
        "acronym": d.line(ident, "acronym", "titles.acronym"),
    }
    return titles if any(titles.values()) else None


def _identifiers(d: Doc, ident: dict[str, Any], aliases: list[str], m: Mapper) -> dict[str, Any] | None:
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
        "org_study_id_kind": m.enum(vocab.ORG_STUDY_ID_TYPE, None if org is None else org.get("type"),
                                    "identifiers.org_study_id_kind"),
        "org_study_id_link": d.line(org, "link", "identifiers.org_study_id_link"),
        "secondary": secondary or None,
        "aliases": aliases or None,
    }
    return out if any(out.values()) else None


def _status(d: Doc, mod: dict[str, Any], m: Mapper) -> dict[str, Any] | None:
    out: dict[str, Any] = {
        "overall": m.enum(vocab.OVERALL_STATUS, mod.get("overallStatus"), "status.overall"),
        "last_known": m.enum(vocab.OVERALL_STATUS, mod.get("lastKnownStatus"), "status.last_known"),
        "why_stopped": d.text(mod, "whyStopped", "status.why_stopped"),
    }
    for field, key in _DATES.items():
        out[field] = date_struct(d, mod.get(key), _STATUS_PATHS[field], m)
    verified = mod.get("statusVerifiedDate")
    if verified.__class__ is dict:  # drifted into a struct like the others
        m.flag("status.verified", verified, "coerced")
        out["verified"] = date_struct(d, verified, "status.verified", m)
    else:
        day = iso(verified, "status.verified", m) if verified is not None and verified != "" else None
        out["verified"] = {"date": day, "kind": None} if day else None
    for field, key in _DAYS.items():
        value = mod.get(key)
        day = None if value is None or value == "" else iso(value, _STATUS_PATHS[field], m)
        out[field] = {"date": day, "kind": None} if day else None
    out["delayed_posting"] = d.get(mod, "delayedPosting", bool, "status.delayed_posting")
    out["results_waived"] = d.get(mod, "resultsWaived", bool, "status.results_waived")
    access = d.obj(mod, "expandedAccessInfo", "status.expanded_access")
    if access:
        entry = {"available": d.get(access, "hasExpandedAccess", bool, "status.expanded_access.available"),
                 "registry_id": d.line(access, "nctId", "status.expanded_access.registry_id"),
                 "status": m.enum(vocab.EXPANDED_ACCESS_STATUS, access.get("statusForNctId"),
                                  "status.expanded_access.status")}
        out["expanded_access"] = entry if said(entry) else None
    return out if said(out) else None


def _design(d: Doc, mod: dict[str, Any] | None, m: Mapper) -> dict[str, Any]:
    info = d.obj(mod, "designInfo", "design") or {}
    masking = d.obj(info, "maskingInfo", "design.masking") or {}
    design: dict[str, Any] = {
        field: m.enum(vocabulary, info.get(key), f"design.{field}")
        for field, (key, vocabulary) in _DESIGN_ENUMS.items()
    }
    design["masking"] = m.enum(vocab.MASKING, masking.get("masking"), "design.masking")
    design["who_masked"] = d.strings(masking, "whoMasked", "design.who_masked")
    design["intervention_model_description"] = d.text(info, "interventionModelDescription",
                                                      "design.intervention_model_description")
    design["masking_description"] = d.text(masking, "maskingDescription", "design.masking_description")
    if mod:
        design["patient_registry"] = d.get(mod, "patientRegistry", bool, "design.patient_registry")
        design["target_duration"] = parse_age(d.get(mod, "targetDuration", str, "design.target_duration"),
                                              "design.target_duration", m)
        bio = d.obj(mod, "bioSpec", "design.bio_spec_retention")
        design["bio_spec_retention"] = m.enum(vocab.BIO_SPEC_RETENTION, None if bio is None else bio.get("retention"),
                                              "design.bio_spec_retention")
        design["bio_spec_description"] = d.text(bio, "description", "design.bio_spec_description")
        types = d.obj(mod, "expandedAccessTypes", "design.expanded_access_types")
        if types:
            design["expanded_access_types"] = [
                name for key, name in _EXPANDED_ACCESS_TYPES
                if d.get(types, key, bool, "design.expanded_access_types")] or None
            unknown = types.keys() - {key for key, _ in _EXPANDED_ACCESS_TYPES}
            for key in sorted(unknown):  # a kind the registry added: kept by its name
                if d.get(types, key, bool, "design.expanded_access_types"):
                    design["expanded_access_types"] = [*(design["expanded_access_types"] or []), key]
                    m.flag("design.expanded_access_types", key, "kept")
        design["expanded_access_referrers"] = d.get(mod, "nPtrsToThisExpAccNctId", int,
                                                    "design.expanded_access_referrers")
    enrollment = d.obj(mod, "enrollmentInfo", "enrollment") or {}
    count = d.get(enrollment, "count", int, "enrollment.count")
    if count == UNKNOWN_ENROLLMENT:
        count = None
    kind = m.enum(vocab.DATE_KIND, enrollment.get("type"), "enrollment.kind")
    return {
        "study_type": m.enum(vocab.STUDY_TYPE, None if mod is None else mod.get("studyType"), "study_type"),
        "phases": m.enums(vocab.PHASE, None if mod is None else mod.get("phases"), "phases"),
        "design": design if said(design) else None,
        "enrollment": {"count": count, "kind": kind} if count is not None or kind else None,
    }


def _arms_interventions(d: Doc, mod: dict[str, Any] | None, m: Mapper) -> dict[str, Any]:
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


def _eligibility(d: Doc, mod: dict[str, Any] | None, m: Mapper) -> dict[str, Any] | None:
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
        "gender_based": d.get(mod, "genderBased", bool, "eligibility.gender_based"),
        "gender_description": d.text(mod, "genderDescription", "eligibility.gender_description"),
        "study_population": d.text(mod, "studyPopulation", "eligibility.study_population"),
        "sampling_method": m.enum(vocab.SAMPLING_METHOD, mod.get("samplingMethod"),
                                  "eligibility.sampling_method"),
    }


def _outcomes(d: Doc, mod: dict[str, Any] | None, m: Mapper) -> dict[str, Any] | None:
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


def _sponsors(d: Doc, mod: dict[str, Any] | None, ident: dict[str, Any], m: Mapper) -> dict[str, Any] | None:
    lead = org(d, d.obj(mod, "leadSponsor", "sponsors.lead"), "sponsors.lead", m)
    collaborators = [o for o in (org(d, c, "sponsors.collaborators", m)
                                 for c in d.items(mod, "collaborators", "sponsors.collaborators")) if o]
    registrant = org(d, d.obj(ident, "organization", "sponsors.organization"), "sponsors.organization", m,
                     name_key="fullName")
    party = sections.responsible_party(d, d.obj(mod, "responsibleParty", "sponsors.responsible_party"), m)
    if not lead and not collaborators and not registrant and not party:
        return None
    return {"lead": lead, "collaborators": collaborators or None, "organization": registrant,
            "responsible_party": party}
