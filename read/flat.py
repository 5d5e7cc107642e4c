"""Normalized records as flat tables (CSV, Parquet, the SQL views): one row per study,
arm, intervention, criterion, outcome, site, condition, MeSH term, MeSH browse branch,
reference and official; then the results tables (``models.results_tables``: result
groups, outcome measures, their measurements and analyses, ...), made by
:mod:`trialmirror.read.results_flat`.

The columns are part of the schema: the SQL views (:mod:`trialmirror.store.views`) have the
same names, and a test holds the two to the same rows. Lists inside a cell
(phases, an arm's interventions) are joined with ``|``; ``null`` stays empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from trialmirror.models import results_tables
from trialmirror.read import results_flat

SEP = "|"

TABLES: dict[str, tuple[str, ...]] = {
    "study": (
        "registry_id", "source", "version", "valid_from", "brief_title", "official_title", "acronym",
        "overall_status", "study_type", "phases", "allocation", "intervention_model", "masking",
        "primary_purpose", "enrollment_count", "enrollment_kind", "start_date", "primary_completion_date",
        "completion_date", "first_posted", "last_update_posted", "sex", "min_age_years", "max_age_years",
        "healthy_volunteers", "lead_sponsor", "lead_sponsor_class", "org_study_id",
        "has_results", "results_first_posted", "first_submitted", "last_update_submitted", "has_dmc",
        "fda_regulated_drug", "fda_regulated_device", "ipd_sharing", "responsible_party_type",
        "sampling_method", "patient_registry", "summary",
    ),
    "study_condition": ("registry_id", "condition"),
    "study_arm": ("registry_id", "label", "type", "description", "interventions"),
    "study_intervention": ("registry_id", "type", "name", "description", "arm_labels", "other_names"),
    "study_criterion": ("registry_id", "kind", "position", "text"),
    "study_outcome": ("registry_id", "kind", "measure", "time_frame", "description"),
    "study_site": ("registry_id", "facility", "city", "state", "country", "status", "zip", "latitude",
                   "longitude"),
    # The registry's MeSH indexing: kind condition | intervention, level term | ancestor.
    "study_mesh": ("registry_id", "kind", "level", "mesh_id", "term"),
    "study_browse_branch": ("registry_id", "kind", "abbrev", "name"),
    "study_reference": ("registry_id", "pmid", "type", "citation"),
    "study_official": ("registry_id", "name", "affiliation", "role"),
    **{table.name: table.columns for table in results_tables.TABLES},
}
# (table, the list's path in the record): one row per item, the table's columns its keys.
_ITEM_TABLES = (("study_site", ("sites",)), ("study_reference", ("references", "citations")),
                ("study_official", ("contacts", "officials")))
_MESH_KINDS = (("condition", "conditions"), ("intervention", "interventions"))


def _get(node: Any, *path: str) -> Any:
    for name in path:
        node = node.get(name) if isinstance(node, dict) else None
    return node


def _joined(values: list[Any] | None) -> str | None:
    return SEP.join(values) if values else None


def _date(record: dict[str, Any], name: str) -> str | None:
    return _get(record, "status", name, "date")  # type: ignore[no-any-return]


def study_row(record: dict[str, Any], source: str, version: int, valid_from: str | None) -> dict[str, Any]:
    design, elig = record.get("design") or {}, record.get("eligibility") or {}
    oversight = record.get("oversight") or {}
    return {
        "registry_id": record["registry_id"], "source": source, "version": version,
        "valid_from": valid_from, "brief_title": _get(record, "titles", "brief"),
        "official_title": _get(record, "titles", "official"), "acronym": _get(record, "titles", "acronym"),
        "overall_status": _get(record, "status", "overall"), "study_type": record.get("study_type"),
        "phases": _joined(record.get("phases")), "allocation": design.get("allocation"),
        "intervention_model": design.get("intervention_model"), "masking": design.get("masking"),
        "primary_purpose": design.get("primary_purpose"),
        "enrollment_count": _get(record, "enrollment", "count"),
        "enrollment_kind": _get(record, "enrollment", "kind"),
        "start_date": _date(record, "start"), "primary_completion_date": _date(record, "primary_completion"),
        "completion_date": _date(record, "completion"), "first_posted": _date(record, "first_posted"),
        "last_update_posted": _date(record, "last_update_posted"), "sex": elig.get("sex"),
        "min_age_years": _get(elig, "min_age", "years"), "max_age_years": _get(elig, "max_age", "years"),
        "healthy_volunteers": elig.get("healthy_volunteers"),
        "lead_sponsor": _get(record, "sponsors", "lead", "name"),
        "lead_sponsor_class": _get(record, "sponsors", "lead", "class"),
        "org_study_id": _get(record, "identifiers", "org_study_id"),
        "has_results": record.get("has_results"),
        "results_first_posted": _date(record, "results_first_posted"),
        "first_submitted": _date(record, "first_submitted"),
        "last_update_submitted": _date(record, "last_update_submitted"),
        "has_dmc": oversight.get("has_dmc"), "fda_regulated_drug": oversight.get("fda_regulated_drug"),
        "fda_regulated_device": oversight.get("fda_regulated_device"),
        "ipd_sharing": _get(record, "ipd_sharing", "sharing"),
        "responsible_party_type": _get(record, "sponsors", "responsible_party", "type"),
        "sampling_method": elig.get("sampling_method"), "patient_registry": design.get("patient_registry"),
        "summary": record.get("summary"),
    }


def _mesh_rows(record: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    rid = record["registry_id"]
    for kind, part in _MESH_KINDS:
        indexing = _get(record, "mesh", part) or {}
        for level, name in (("term", "terms"), ("ancestor", "ancestors")):
            for item in indexing.get(name) or []:
                yield "study_mesh", {"registry_id": rid, "kind": kind, "level": level,
                                     "mesh_id": item["id"], "term": item["term"]}
        for branch in indexing.get("branches") or []:
            yield "study_browse_branch", {"registry_id": rid, "kind": kind, "abbrev": branch["abbrev"],
                                          "name": branch["name"]}


def rows(record: dict[str, Any], source: str, version: int,
         valid_from: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, row) for every row the record gives."""
    rid = record["registry_id"]
    yield "study", study_row(record, source, version, valid_from)
    for condition in record.get("conditions") or []:
        yield "study_condition", {"registry_id": rid, "condition": condition}
    for arm in record.get("arms") or []:
        yield "study_arm", {"registry_id": rid, "label": arm["label"], "type": arm["type"],
                            "description": arm["description"], "interventions": _joined(arm["interventions"])}
    for item in record.get("interventions") or []:
        yield "study_intervention", {
            "registry_id": rid, "type": item["type"], "name": item["name"],
            "description": item["description"], "arm_labels": _joined(item["arm_labels"]),
            "other_names": _joined(item["other_names"])}
    elig = record.get("eligibility") or {}
    for kind in ("inclusion", "exclusion", "unclassified"):
        for position, text in enumerate(elig.get(kind) or [], start=1):
            yield "study_criterion", {"registry_id": rid, "kind": kind, "position": position, "text": text}
    for kind in ("primary", "secondary", "other"):
        for outcome in _get(record, "outcomes", kind) or []:
            yield "study_outcome", {"registry_id": rid, "kind": kind, "measure": outcome["measure"],
                                    "time_frame": outcome["time_frame"],
                                    "description": outcome["description"]}
    for table, path in _ITEM_TABLES:
        for item in _get(record, *path) or []:
            # .get: a version stored before the item grew a key (a site's zip) has none.
            yield table, {"registry_id": rid, **{k: item.get(k) for k in TABLES[table][1:]}}
    yield from _mesh_rows(record)
    yield from results_flat.rows(record, source, version)
