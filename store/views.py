"""Relational views over the newest ClinicalTrials.gov version of every record.

``latest_version`` (the version the search index holds), then one view per table
of :data:`trialmirror.read.flat.TABLES` with the same columns: ``study``,
``study_condition``, ``study_arm``, ``study_intervention``, ``study_criterion``,
``study_outcome``, ``study_site``. SQL tools and Datasette read them from the
SQLite file as it is; the same views exist on PostgreSQL. Booleans are 0/1 on
SQLite, lists in a cell are joined with ``|`` in their order.
"""

from __future__ import annotations

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
    ("org_study_id", "identifiers.org_study_id", "text"), ("summary", "summary", "text"),
)
_ITEMS = {  # view -> (list path, [(column, path in the item, joined list?)])
    "study_arm": ("arms", [("label", "label", False), ("type", "type", False),
                           ("description", "description", False), ("interventions", "interventions", True)]),
    "study_intervention": ("interventions", [
        ("type", "type", False), ("name", "name", False), ("description", "description", False),
        ("arm_labels", "arm_labels", True), ("other_names", "other_names", True)]),
    "study_site": ("sites", [("facility", "facility", False), ("city", "city", False),
                             ("state", "state", False), ("country", "country", False),
                             ("status", "status", False)]),
}


def _sq(path: str) -> str:
    return "$." + path


def _pg(path: str) -> str:
    return "{" + ",".join(path.split(".")) + "}"


def _key(expr: str, key: str) -> str:
    return f"{expr} -> '{key}'"


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
                 if joined else f"json_extract(i.value, '$.{path}') AS {col}") for col, path, joined in fields]
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
    return views


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
                 if joined else f"i.value ->> '{path}' AS {col}") for col, path, joined in fields]
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
    return views
