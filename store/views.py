"""Relational views over the newest ClinicalTrials.gov version of every record.

``latest_version`` (the version the search index holds), then one view per table
of :data:`trialmirror.read.flat.TABLES` with the same columns: ``study``,
``study_condition``, ``study_arm``, ``study_intervention``, ``study_criterion``,
``study_outcome``, ``study_site``, ``study_mesh``, ``study_browse_branch``,
``study_reference``, ``study_official``; then the results tables' views
(:mod:`trialmirror.store.results_views`: ``result_groups``, ``outcomes``, ...) and
``reporting_status``, each record's results reporting under FDAAA today
(store/reporting.py). SQL tools and Datasette read them from the SQLite file as it is;
the same views exist on PostgreSQL. Booleans are 0/1 on SQLite, lists in a cell are
joined with ``|`` in their order.
"""

from __future__ import annotations

from trialmirror.store import reporting, results_views

_KINDS = {"study_criterion": ("inclusion", "exclusion", "unclassified"),
          "study_outcome": ("primary", "secondary", "other")}

# (column, JSON path below the record, SQL type on PostgreSQL)
_STUDY = (
    ("brief_title", "titles.brief", "text"), ("official_title", "titles.official", "text"),
    ("acronym", "titles.acronym", "text"), ("overall_status", "status.overall", "text"),
    ("study_type", "study_type", "text"), ("phases", "*phases", "text"),
    ("allocation", "design.allocation", "text"),
    ("intervention_model", "design.intervention_model", "text"), ("masking", "design.masking", "text"),
    ("primary_purpose", "design.primary_purpose", "text"),
    ("enrollment_count", "enrollment.count", "bigint"), ("enrollment_kind", "enrollment.kind", "text"),
    ("start_date", "status.start.date", "text"),
    ("primary_completion_date", "status.primary_completion.date", "text"),
    ("completion_date", "status.completion.date", "text"),
    ("first_posted", "status.first_posted.date", "text"),
    ("last_update_posted", "status.last_update_posted.date", "text"),
    ("sex", "eligibility.sex", "text"), ("min_age_years", "eligibility.min_age.years", "double precision"),
    ("max_age_years", "eligibility.max_age.years", "double precision"),
    ("healthy_volunteers", "eligibility.healthy_volunteers", "boolean"),
    ("lead_sponsor", "sponsors.lead.name", "text"), ("lead_sponsor_class", "sponsors.lead.class", "text"),
    ("org_study_id", "identifiers.org_study_id", "text"),
    ("has_results", "has_results", "boolean"),
    ("results_first_posted", "status.results_first_posted.date", "text"),
    ("first_submitted", "status.first_submitted.date", "text"),
    ("last_update_submitted", "status.last_update_submitted.date", "text"),
    ("has_dmc", "oversight.has_dmc", "boolean"),
    ("fda_regulated_drug", "oversight.fda_regulated_drug", "boolean"),
    ("fda_regulated_device", "oversight.fda_regulated_device", "boolean"),
    ("ipd_sharing", "ipd_sharing.sharing", "text"),
    ("responsible_party_type", "sponsors.responsible_party.type", "text"),
    ("sampling_method", "eligibility.sampling_method", "text"),
    ("patient_registry", "design.patient_registry", "boolean"),
    ("summary", "summary", "text"),
)
_LIST = "list"  # an item's list, joined with "|" in one cell
# view -> (list path, [(column, path in the item, "text" | "list" | SQL type on PostgreSQL)])
_ITEMS = {
    "study_arm": ("arms", [("label", "label", "text"), ("type", "type", "text"),
                           ("description", "description", "text"), ("interventions", "interventions", _LIST)]),
    "study_intervention": ("interventions", [
        ("type", "type", "text"), ("name", "name", "text"), ("description", "description", "text"),
        ("arm_labels", "arm_labels", _LIST), ("other_names", "other_names", _LIST)]),
    "study_site": ("sites", [("facility", "facility", "text"), ("city", "city", "text"),
                             ("state", "state", "text"), ("country", "country", "text"),
                             ("status", "status", "text"), ("zip", "zip", "text"),
                             ("latitude", "latitude", "double precision"),
                             ("longitude", "longitude", "double precision")]),
    "study_reference": ("references.citations", [("pmid", "pmid", "text"), ("type", "type", "text"),
                                                  ("citation", "citation", "text")]),
    "study_official": ("contacts.officials", [("name", "name", "text"), ("affiliation", "affiliation", "text"),
                                              ("role", "role", "text")]),
}
# The MeSH views: one row per item of mesh.<part>.<list> (part: conditions | interventions).
_MESH_KINDS = (("condition", "conditions"), ("intervention", "interventions"))
_MESH_LEVELS = (("term", "terms"), ("ancestor", "ancestors"))


def _sq(path: str) -> str:
    return "$." + path


def _pg(path: str) -> str:
    return "{" + ",".join(path.split(".")) + "}"


def _key(expr: str, key: str) -> str:
    return f"{expr} -> '{key}'" if "." not in key else f"{expr} #> '{_pg(key)}'"


def _pg_array(expr: str) -> str:
    return f"(CASE jsonb_typeof({expr}) WHEN 'array' THEN {expr} ELSE '[]'::jsonb END)"


def sqlite_ddl() -> list[str]:
    views = ["CREATE VIEW IF NOT EXISTS latest_version AS SELECT v.* FROM version v JOIN search_doc d "
             "ON d.registry_id = v.registry_id AND d.source = v.source AND d.version = v.version"]
    columns = []
    for name, path, _ in _STUDY:
        if path.startswith("*"):
            columns.append(f"(SELECT group_concat(value, '|') FROM json_each(v.record, '{_sq(path[1:])}')) "
                           f"AS {name}")
        else:
            columns.append(f"json_extract(v.record, '{_sq(path)}') AS {name}")
    views.append("CREATE VIEW IF NOT EXISTS study AS SELECT v.registry_id, v.source, v.version, "
                 f"v.valid_from, {', '.join(columns)} FROM latest_version v")
    # json_each of a JSON null is one row whose key is NULL: "key IS NOT NULL" keeps array items.
    views.append("CREATE VIEW IF NOT EXISTS study_condition AS SELECT v.registry_id, c.value AS condition "
                 "FROM latest_version v, json_each(v.record, '$.conditions') c WHERE c.key IS NOT NULL")
    for view, (list_path, fields) in _ITEMS.items():
        cols = [(f"(SELECT group_concat(x.value, '|') FROM json_each(i.value, '$.{path}') x) AS {col}"
                 if kind == _LIST else f"json_extract(i.value, '$.{path}') AS {col}") for col, path, kind in fields]
        views.append(f"CREATE VIEW IF NOT EXISTS {view} AS SELECT v.registry_id, {', '.join(cols)} "
                     f"FROM latest_version v, json_each(v.record, '$.{list_path}') i WHERE i.key IS NOT NULL")
    kinds = " UNION ALL ".join(f"SELECT '{k}' AS kind" for k in _KINDS["study_criterion"])
    views.append("CREATE VIEW IF NOT EXISTS study_criterion AS SELECT v.registry_id, k.kind, "
                 "c.key + 1 AS position, c.value AS text FROM latest_version v, "
                 f"({kinds}) k, json_each(v.record, '$.eligibility.' || k.kind) c WHERE c.key IS NOT NULL")
    kinds = " UNION ALL ".join(f"SELECT '{k}' AS kind" for k in _KINDS["study_outcome"])
    views.append("CREATE VIEW IF NOT EXISTS study_outcome AS SELECT v.registry_id, k.kind, "
                 "json_extract(o.value, '$.measure') AS measure, json_extract(o.value, '$.time_frame') "
                 "AS time_frame, json_extract(o.value, '$.description') AS description "
                 f"FROM latest_version v, ({kinds}) k, json_each(v.record, '$.outcomes.' || k.kind) o "
                 "WHERE o.key IS NOT NULL")
    parts = " UNION ALL ".join(f"SELECT '{k}' AS kind, '{p}' AS part" for k, p in _MESH_KINDS)
    levels = " UNION ALL ".join(f"SELECT '{k}' AS level, '{p}' AS part" for k, p in _MESH_LEVELS)
    views.append("CREATE VIEW IF NOT EXISTS study_mesh AS SELECT v.registry_id, k.kind, l.level, "
                 "json_extract(m.value, '$.id') AS mesh_id, json_extract(m.value, '$.term') AS term "
                 f"FROM latest_version v, ({parts}) k, ({levels}) l, "
                 "json_each(v.record, '$.mesh.' || k.part || '.' || l.part) m WHERE m.key IS NOT NULL")
    views.append("CREATE VIEW IF NOT EXISTS study_browse_branch AS SELECT v.registry_id, k.kind, "
                 "json_extract(b.value, '$.abbrev') AS abbrev, json_extract(b.value, '$.name') AS name "
                 f"FROM latest_version v, ({parts}) k, json_each(v.record, '$.mesh.' || k.part || '.branches') b "
                 "WHERE b.key IS NOT NULL")
    return [*views, *results_views.sqlite_ddl(), reporting.SQLITE_VIEW]


def postgres_ddl() -> list[str]:
    views = ["CREATE OR REPLACE VIEW latest_version AS SELECT v.*, v.record::jsonb AS doc FROM version v "
             "JOIN search_doc d ON d.registry_id = v.registry_id AND d.source = v.source "
             "AND d.version = v.version"]
    columns = []
    for name, path, sql_type in _STUDY:
        if path.startswith("*"):
            elements = _pg_array("v.doc #> '" + _pg(path[1:]) + "'")
            columns.append(f"(SELECT string_agg(x, '|' ORDER BY n) FROM jsonb_array_elements_text("
                           f"{elements}) WITH ORDINALITY AS t(x, n)) AS {name}")
        else:
            cast = "" if sql_type == "text" else f"::{sql_type}"
            columns.append(f"(v.doc #>> '{_pg(path)}'){cast} AS {name}")
    views.append("CREATE OR REPLACE VIEW study AS SELECT v.registry_id, v.source, v.version, v.valid_from, "
                 f"{', '.join(columns)} FROM latest_version v")
    views.append("CREATE OR REPLACE VIEW study_condition AS SELECT v.registry_id, c.value AS condition "
                 f"FROM latest_version v, jsonb_array_elements_text({_pg_array(_key('v.doc', 'conditions'))}) "
                 "AS c(value)")
    for view, (list_path, fields) in _ITEMS.items():
        cols = [(f"(SELECT string_agg(x, '|' ORDER BY n) FROM jsonb_array_elements_text("
                 f"{_pg_array(_key('i.value', path))}) WITH ORDINALITY AS t(x, n)) AS {col}"
                 if kind == _LIST else f"i.value ->> '{path}' AS {col}" if kind == "text"
                 else f"(i.value ->> '{path}')::{kind} AS {col}") for col, path, kind in fields]
        views.append(f"CREATE OR REPLACE VIEW {view} AS SELECT v.registry_id, {', '.join(cols)} FROM "
                     f"latest_version v, jsonb_array_elements({_pg_array(_key('v.doc', list_path))}) "
                     "AS i(value)")
    kinds = ", ".join(f"('{k}')" for k in _KINDS["study_criterion"])
    views.append("CREATE OR REPLACE VIEW study_criterion AS SELECT v.registry_id, k.kind, c.n::bigint AS "
                 "position, c.value AS text FROM latest_version v CROSS JOIN (VALUES " + kinds + ") AS k(kind), "
                 f"jsonb_array_elements_text({_pg_array(_key('v.doc', 'eligibility') + ' -> k.kind')}) "
                 "WITH ORDINALITY AS c(value, n)")
    kinds = ", ".join(f"('{k}')" for k in _KINDS["study_outcome"])
    views.append("CREATE OR REPLACE VIEW study_outcome AS SELECT v.registry_id, k.kind, o.value ->> 'measure' "
                 "AS measure, o.value ->> 'time_frame' AS time_frame, o.value ->> 'description' AS description "
                 "FROM latest_version v CROSS JOIN (VALUES " + kinds + ") AS k(kind), "
                 f"jsonb_array_elements({_pg_array(_key('v.doc', 'outcomes') + ' -> k.kind')}) "
                 "AS o(value)")
    parts = ", ".join(f"('{k}', '{p}')" for k, p in _MESH_KINDS)
    levels = ", ".join(f"('{k}', '{p}')" for k, p in _MESH_LEVELS)
    views.append("CREATE OR REPLACE VIEW study_mesh AS SELECT v.registry_id, k.kind, l.level, m.value ->> 'id' "
                 "AS mesh_id, m.value ->> 'term' AS term FROM latest_version v "
                 f"CROSS JOIN (VALUES {parts}) AS k(kind, part) CROSS JOIN (VALUES {levels}) AS l(level, part), "
                 f"jsonb_array_elements({_pg_array(_key('v.doc', 'mesh') + ' -> k.part -> l.part')}) AS m(value)")
    branches = _pg_array(_key("v.doc", "mesh") + " -> k.part -> 'branches'")
    views.append("CREATE OR REPLACE VIEW study_browse_branch AS SELECT v.registry_id, k.kind, "
                 "b.value ->> 'abbrev' AS abbrev, b.value ->> 'name' AS name FROM latest_version v "
                 f"CROSS JOIN (VALUES {parts}) AS k(kind, part), jsonb_array_elements({branches}) AS b(value)")
    return [*views, *results_views.postgres_ddl(), reporting.POSTGRES_VIEW]
