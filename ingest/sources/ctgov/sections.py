"""The parts of an API v2 study beyond the core protocol fields: contacts and sites,
oversight, references, IPD sharing, MeSH indexing, documents, annotations and the
registry's tracking data. Pure, like the parser that calls them: dicts in, the
record's dicts out, every surprise flagged at its record path (drift policy).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from trialmirror.ingest.parsing.fields import Mapper
from trialmirror.ingest.sources.ctgov.doc import Doc, date_struct, iso, said
from trialmirror.models import vocab

Item = dict[str, Any]
_UPLOADED = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?)?$")  # "2017-10-05T11:25"


def _said(out: Item) -> Item | None:
    """``out``, or None when the source said none of it (the contract's null)."""
    return out if said(out) else None


def _each(d: Doc, node: Item | None, key: str, field: str,
          build: Callable[[Item], Item]) -> list[Item] | None:
    """The list at ``key``, each object built into an item; empty items are left out."""
    out = []
    for raw in d.items(node, key, field):
        item = build(raw)
        if said(item):
            out.append(item)
    return out or None


def _day(d: Doc, node: Item | None, key: str, field: str) -> str | None:
    value = None if node is None else node.get(key)
    if value is None or value == "":
        return None
    return iso(value, field, d.m)


# --- contacts and sites -------------------------------------------------------------

def _contact_list(d: Doc, node: Item | None, key: str, field: str, m: Mapper) -> list[Item] | None:
    out = []
    line = d.line
    for c in d.items(node, key, field):
        contact = {"name": line(c, "name", field + ".name"),
                   "role": m.enum(vocab.CONTACT_ROLE, c.get("role"), field + ".role"),
                   "phone": line(c, "phone", field + ".phone"),
                   "phone_ext": line(c, "phoneExt", field + ".phone_ext"),
                   "email": line(c, "email", field + ".email")}
        if said(contact):
            out.append(contact)
    return out or None


def _coordinate(d: Doc, point: Item | None, key: str, field: str, limit: float) -> float | None:
    raw = None if point is None else point.get(key)
    if raw is None:
        return None
    if raw.__class__ is float and -limit <= raw <= limit:
        return raw  # type: ignore[no-any-return]  # nearly every one
    if raw.__class__ is int or raw.__class__ is float:
        value: float = float(raw)  # a whole number of degrees is the same JSON number
    else:
        drifted = d.drifted(raw, float, field)
        if drifted is None:
            return None
        value = drifted
    if -limit <= value <= limit:
        return value
    d.m.flag(field, raw, "dropped")  # no place on Earth; the flag keeps what the source wrote
    return None


def contacts_locations(d: Doc, mod: Item | None, m: Mapper) -> Item:
    """``sites`` (with their coordinates and contacts) and ``contacts`` (central
    contacts, overall officials) from the contacts-and-locations module."""
    line = d.line
    sites = []
    for loc in d.items(mod, "locations", "sites"):
        point = d.obj(loc, "geoPoint", "sites.latitude")
        site = {"facility": line(loc, "facility", "sites.facility"), "city": line(loc, "city", "sites.city"),
                "state": line(loc, "state", "sites.state"), "country": line(loc, "country", "sites.country"),
                "status": m.enum(vocab.SITE_STATUS, loc.get("status"), "sites.status"),
                "zip": line(loc, "zip", "sites.zip"),
                "latitude": _coordinate(d, point, "lat", "sites.latitude", 90.0),
                "longitude": _coordinate(d, point, "lon", "sites.longitude", 180.0),
                "contacts": _contact_list(d, loc, "contacts", "sites.contacts", m)}
        if said(site):
            sites.append(site)
    officials = []
    for o in d.items(mod, "overallOfficials", "contacts.officials"):
        official = {"name": line(o, "name", "contacts.officials.name"),
                    "affiliation": line(o, "affiliation", "contacts.officials.affiliation"),
                    "role": m.enum(vocab.OFFICIAL_ROLE, o.get("role"), "contacts.officials.role")}
        if said(official):
            officials.append(official)
    contacts = _said({"central": _contact_list(d, mod, "centralContacts", "contacts.central", m),
                      "officials": officials or None})
    return {"sites": sites or None, "contacts": contacts}


def responsible_party(d: Doc, node: Item | None, m: Mapper) -> Item | None:
    if node is None:
        return None
    f = "sponsors.responsible_party"
    return _said({
        "type": m.enum(vocab.RESPONSIBLE_PARTY_TYPE, node.get("type"), f + ".type"),
        "investigator_name": d.line(node, "investigatorFullName", f + ".investigator_name"),
        "investigator_title": d.line(node, "investigatorTitle", f + ".investigator_title"),
        "investigator_affiliation": d.line(node, "investigatorAffiliation", f + ".investigator_affiliation"),
        "old_name_title": d.line(node, "oldNameTitle", f + ".old_name_title"),
        "old_organization": d.line(node, "oldOrganization", f + ".old_organization"),
    })


# --- oversight, references, IPD sharing ----------------------------------------------

_OVERSIGHT = (("has_dmc", "oversightHasDmc"), ("fda_regulated_drug", "isFdaRegulatedDrug"),
              ("fda_regulated_device", "isFdaRegulatedDevice"), ("unapproved_device", "isUnapprovedDevice"),
              ("ppsd", "isPpsd"), ("us_export", "isUsExport"), ("fdaaa801_violation", "fdaaa801Violation"))


def oversight(d: Doc, mod: Item | None) -> Item | None:
    if mod is None:
        return None
    return _said({field: d.get(mod, key, bool, "oversight." + field) for field, key in _OVERSIGHT})


def references(d: Doc, mod: Item | None, m: Mapper) -> Item | None:
    if mod is None:
        return None
    line, text = d.line, d.text

    def retraction(r: Item) -> Item:
        return {"pmid": line(r, "pmid", "references.citations.retractions.pmid"),
                "source": line(r, "source", "references.citations.retractions.source")}

    def citation(c: Item) -> Item:
        return {"pmid": line(c, "pmid", "references.citations.pmid"),
                "type": m.enum(vocab.REFERENCE_TYPE, c.get("type"), "references.citations.type"),
                "citation": text(c, "citation", "references.citations.citation"),
                "retractions": _each(d, c, "retractions", "references.citations.retractions", retraction)}

    def link(x: Item) -> Item:
        return {"label": line(x, "label", "references.links.label"),
                "url": line(x, "url", "references.links.url")}

    def ipd(x: Item) -> Item:
        return {"id": line(x, "id", "references.available_ipds.id"),
                "type": line(x, "type", "references.available_ipds.type"),
                "url": line(x, "url", "references.available_ipds.url"),
                "comment": text(x, "comment", "references.available_ipds.comment")}

    return _said({
        "citations": _each(d, mod, "references", "references.citations", citation),
        "links": _each(d, mod, "seeAlsoLinks", "references.links", link),
        "available_ipds": _each(d, mod, "availIpds", "references.available_ipds", ipd),
    })


def ipd_sharing(d: Doc, mod: Item | None, m: Mapper) -> Item | None:
    if mod is None:
        return None
    return _said({
        "sharing": m.enum(vocab.IPD_SHARING, mod.get("ipdSharing"), "ipd_sharing.sharing"),
        "description": d.text(mod, "description", "ipd_sharing.description"),
        "info_types": m.enums(vocab.IPD_INFO_TYPE, mod.get("infoTypes"), "ipd_sharing.info_types"),
        "time_frame": d.text(mod, "timeFrame", "ipd_sharing.time_frame"),
        "access_criteria": d.text(mod, "accessCriteria", "ipd_sharing.access_criteria"),
        "url": d.line(mod, "url", "ipd_sharing.url"),
    })


# --- derived: MeSH indexing, the registry's tracking data ------------------------------

def _term_list(d: Doc, mod: Item, key: str, field: str) -> list[Item] | None:
    """A list of ``{id, <name>}`` objects (MeSH terms, ancestors): a loop of its own,
    not a builder callback, because it runs ~25 times a record (compiled, a loop is
    several times cheaper than a call through a function object)."""
    out = []
    line = d.line
    id_path, term_path = field + ".id", field + ".term"
    for t in d.items(mod, key, field):
        item = {"id": line(t, "id", id_path), "term": line(t, "term", term_path)}
        if item["id"] is not None or item["term"] is not None:
            out.append(item)
    return out or None


def _relevance(value: Any, path: str, m: Mapper) -> str | None:
    if value == "HIGH" or value == "LOW":
        return value  # type: ignore[no-any-return]  # ~10 a record: the vocabulary's own words
    return m.enum(vocab.BROWSE_RELEVANCE, value, path)


def _mesh_index(d: Doc, mod: Item | None, field: str, m: Mapper) -> Item | None:
    if mod is None:
        return None
    line = d.line
    leaves = []
    at = field + ".leaves"
    id_path, name_path, found_path, relevance_path = at + ".id", at + ".name", at + ".as_found", at + ".relevance"
    for t in d.items(mod, "browseLeaves", at):
        leaf = {"id": line(t, "id", id_path), "name": line(t, "name", name_path),
                "as_found": line(t, "asFound", found_path),
                "relevance": _relevance(t.get("relevance"), relevance_path, m)}
        if leaf["id"] is not None or leaf["name"] is not None or leaf["as_found"] is not None \
                or leaf["relevance"] is not None:
            leaves.append(leaf)
    branches = []
    for t in d.items(mod, "browseBranches", field + ".branches"):
        branch = {"abbrev": line(t, "abbrev", field + ".branches.abbrev"),
                  "name": line(t, "name", field + ".branches.name")}
        if branch["abbrev"] is not None or branch["name"] is not None:
            branches.append(branch)
    return _said({
        "terms": _term_list(d, mod, "meshes", field + ".terms"),
        "ancestors": _term_list(d, mod, "ancestors", field + ".ancestors"),
        "leaves": leaves or None,
        "branches": branches or None,
    })


def mesh(d: Doc, derived: Item | None, m: Mapper) -> Item | None:
    if derived is None:
        return None
    return _said({
        "conditions": _mesh_index(d, d.obj(derived, "conditionBrowseModule", "mesh.conditions"),
                                  "mesh.conditions", m),
        "interventions": _mesh_index(d, d.obj(derived, "interventionBrowseModule", "mesh.interventions"),
                                     "mesh.interventions", m),
    })


def registry_info(d: Doc, derived: Item | None, m: Mapper) -> Item | None:
    misc = d.obj(derived, "miscInfoModule", "registry_info")
    if misc is None:
        return None
    f = "registry_info.submission_tracking"
    tracking = d.obj(misc, "submissionTracking", f)
    mcp = d.obj(tracking, "firstMcpInfo", f + ".first_mcp_posted")

    def submission(s: Item) -> Item:
        return {"released": _day(d, s, "releaseDate", f + ".submissions.released"),
                "unreleased": _day(d, s, "unreleaseDate", f + ".submissions.unreleased"),
                "unreleased_unknown": d.get(s, "unreleaseDateUnknown", bool, f + ".submissions.unreleased_unknown"),
                "reset": _day(d, s, "resetDate", f + ".submissions.reset"),
                "mcp_release_n": d.get(s, "mcpReleaseN", int, f + ".submissions.mcp_release_n")}

    return _said({
        "version_holder": _day(d, misc, "versionHolder", "registry_info.version_holder"),
        "removed_countries": d.strings(misc, "removedCountries", "registry_info.removed_countries"),
        "submission_tracking": None if tracking is None else _said({
            "estimated_results_first_submitted": _day(d, tracking, "estimatedResultsFirstSubmitDate",
                                                      f + ".estimated_results_first_submitted"),
            "first_mcp_posted": date_struct(d, None if mcp is None else mcp.get("postDateStruct"),
                                            f + ".first_mcp_posted", m),
            "submissions": _each(d, tracking, "submissionInfos", f + ".submissions", submission),
        }),
    })


# --- document and annotation sections --------------------------------------------------

def documents(d: Doc, doc: Item, m: Mapper) -> Item | None:
    mod = d.obj(d.obj(doc, "documentSection", "documents"), "largeDocumentModule", "documents")
    if mod is None:
        return None
    f = "documents.large_docs"

    def uploaded(x: Item) -> str | None:
        value = d.get(x, "uploadDate", str, f + ".uploaded")
        if value is None or _UPLOADED.match(value):
            return value  # type: ignore[no-any-return]
        return _day(d, x, "uploadDate", f + ".uploaded")  # another wording: read as a day

    def large_doc(x: Item) -> Item:
        return {"type_abbrev": d.line(x, "typeAbbrev", f + ".type_abbrev"),
                "has_protocol": d.get(x, "hasProtocol", bool, f + ".has_protocol"),
                "has_sap": d.get(x, "hasSap", bool, f + ".has_sap"),
                "has_icf": d.get(x, "hasIcf", bool, f + ".has_icf"),
                "label": d.line(x, "label", f + ".label"),
                "date": _day(d, x, "date", f + ".date"),
                "uploaded": uploaded(x),
                "filename": d.line(x, "filename", f + ".filename"),
                "size": d.get(x, "size", int, f + ".size")}

    return _said({"no_sap": d.get(mod, "noSap", bool, "documents.no_sap"),
                  "large_docs": _each(d, mod, "largeDocs", f, large_doc)})


def registry_annotations(d: Doc, doc: Item, m: Mapper) -> Item | None:
    mod = d.obj(d.obj(doc, "annotationSection", "annotations"), "annotationModule", "annotations")
    if mod is None:
        return None
    unposted = d.obj(mod, "unpostedAnnotation", "annotations.unposted_events")
    violation = d.obj(mod, "violationAnnotation", "annotations.violation_events")
    u, v = "annotations.unposted_events", "annotations.violation_events"

    def unposted_event(x: Item) -> Item:
        return {"type": m.enum(vocab.UNPOSTED_EVENT_TYPE, x.get("type"), u + ".type"),
                "date": _day(d, x, "date", u + ".date"),
                "date_unknown": d.get(x, "dateUnknown", bool, u + ".date_unknown")}

    def violation_event(x: Item) -> Item:
        return {"type": m.enum(vocab.VIOLATION_EVENT_TYPE, x.get("type"), v + ".type"),
                "description": d.text(x, "description", v + ".description"),
                "created": _day(d, x, "creationDate", v + ".created"),
                "issued": _day(d, x, "issuedDate", v + ".issued"),
                "released": _day(d, x, "releaseDate", v + ".released"),
                "posted": _day(d, x, "postedDate", v + ".posted")}

    return _said({
        "unposted_responsible_party": d.line(unposted, "unpostedResponsibleParty",
                                             "annotations.unposted_responsible_party"),
        "unposted_events": _each(d, unposted, "unpostedEvents", u, unposted_event),
        "violation_events": _each(d, violation, "violationEvents", v, violation_event),
    })
