"""Search by MeSH term and by place; the views of the whole record (issue 15).

- ``search_mesh`` (a record's MeSH terms and their ancestors) and ``search_site`` (its
  sites' coordinates): the search index's side tables, one set of rows per search row
  (store/search.py). Filled here from the indexed versions, so an index of build 2
  (everything else it holds is the same) becomes build 3 without a ``reindex``; an
  older index stays outdated and ``reindex`` rebuilds it, side tables included.
- The views: ``study`` gains the whole record's scalar fields people filter by
  (has_results, results and submission dates, oversight flags, IPD sharing, the
  responsible party's type, sampling method, patient registry), ``study_site`` its zip
  and coordinates; new ``study_mesh``, ``study_browse_branch``, ``study_reference``,
  ``study_official``. Written out here, frozen, as store/views.py makes them now.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import math
import re
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BATCH = 1_000
_NEW_VIEWS = ('study', 'study_site', 'study_reference', 'study_official', 'study_mesh', 'study_browse_branch')

SQLITE_VIEWS = ('CREATE VIEW IF NOT EXISTS study AS SELECT v.registry_id, v.source, v.version, v.valid_from, '
 "json_extract(v.record, '$.titles.brief') AS brief_title, json_extract(v.record, '$.titles.official') AS "
 "official_title, json_extract(v.record, '$.titles.acronym') AS acronym, json_extract(v.record, "
 "'$.status.overall') AS overall_status, json_extract(v.record, '$.study_type') AS study_type, (SELECT "
 "group_concat(value, '|') FROM json_each(v.record, '$.phases')) AS phases, json_extract(v.record, "
 "'$.design.allocation') AS allocation, json_extract(v.record, '$.design.intervention_model') AS "
 "intervention_model, json_extract(v.record, '$.design.masking') AS masking, json_extract(v.record, "
 "'$.design.primary_purpose') AS primary_purpose, json_extract(v.record, '$.enrollment.count') AS "
 "enrollment_count, json_extract(v.record, '$.enrollment.kind') AS enrollment_kind, json_extract(v.record, "
 "'$.status.start.date') AS start_date, json_extract(v.record, '$.status.primary_completion.date') AS "
 "primary_completion_date, json_extract(v.record, '$.status.completion.date') AS completion_date, "
 "json_extract(v.record, '$.status.first_posted.date') AS first_posted, json_extract(v.record, "
 "'$.status.last_update_posted.date') AS last_update_posted, json_extract(v.record, '$.eligibility.sex') AS "
 "sex, json_extract(v.record, '$.eligibility.min_age.years') AS min_age_years, json_extract(v.record, "
 "'$.eligibility.max_age.years') AS max_age_years, json_extract(v.record, "
 "'$.eligibility.healthy_volunteers') AS healthy_volunteers, json_extract(v.record, '$.sponsors.lead.name') "
 "AS lead_sponsor, json_extract(v.record, '$.sponsors.lead.class') AS lead_sponsor_class, "
 "json_extract(v.record, '$.identifiers.org_study_id') AS org_study_id, json_extract(v.record, "
 "'$.has_results') AS has_results, json_extract(v.record, '$.status.results_first_posted.date') AS "
 "results_first_posted, json_extract(v.record, '$.status.first_submitted.date') AS first_submitted, "
 "json_extract(v.record, '$.status.last_update_submitted.date') AS last_update_submitted, "
 "json_extract(v.record, '$.oversight.has_dmc') AS has_dmc, json_extract(v.record, "
 "'$.oversight.fda_regulated_drug') AS fda_regulated_drug, json_extract(v.record, "
 "'$.oversight.fda_regulated_device') AS fda_regulated_device, json_extract(v.record, "
 "'$.ipd_sharing.sharing') AS ipd_sharing, json_extract(v.record, '$.sponsors.responsible_party.type') AS "
 "responsible_party_type, json_extract(v.record, '$.eligibility.sampling_method') AS sampling_method, "
 "json_extract(v.record, '$.design.patient_registry') AS patient_registry, json_extract(v.record, "
 "'$.summary') AS summary FROM latest_version v",
 "CREATE VIEW IF NOT EXISTS study_site AS SELECT v.registry_id, json_extract(i.value, '$.facility') AS "
 "facility, json_extract(i.value, '$.city') AS city, json_extract(i.value, '$.state') AS state, "
 "json_extract(i.value, '$.country') AS country, json_extract(i.value, '$.status') AS status, "
 "json_extract(i.value, '$.zip') AS zip, json_extract(i.value, '$.latitude') AS latitude, "
 "json_extract(i.value, '$.longitude') AS longitude FROM latest_version v, json_each(v.record, '$.sites') i "
 'WHERE i.key IS NOT NULL',
 "CREATE VIEW IF NOT EXISTS study_reference AS SELECT v.registry_id, json_extract(i.value, '$.pmid') AS "
 "pmid, json_extract(i.value, '$.type') AS type, json_extract(i.value, '$.citation') AS citation FROM "
 "latest_version v, json_each(v.record, '$.references.citations') i WHERE i.key IS NOT NULL",
 "CREATE VIEW IF NOT EXISTS study_official AS SELECT v.registry_id, json_extract(i.value, '$.name') AS name, "
 "json_extract(i.value, '$.affiliation') AS affiliation, json_extract(i.value, '$.role') AS role FROM "
 "latest_version v, json_each(v.record, '$.contacts.officials') i WHERE i.key IS NOT NULL",
 'CREATE VIEW IF NOT EXISTS study_mesh AS SELECT v.registry_id, k.kind, l.level, json_extract(m.value, '
 "'$.id') AS mesh_id, json_extract(m.value, '$.term') AS term FROM latest_version v, (SELECT 'condition' AS "
 "kind, 'conditions' AS part UNION ALL SELECT 'intervention' AS kind, 'interventions' AS part) k, (SELECT "
 "'term' AS level, 'terms' AS part UNION ALL SELECT 'ancestor' AS level, 'ancestors' AS part) l, "
 "json_each(v.record, '$.mesh.' || k.part || '.' || l.part) m WHERE m.key IS NOT NULL",
 'CREATE VIEW IF NOT EXISTS study_browse_branch AS SELECT v.registry_id, k.kind, json_extract(b.value, '
 "'$.abbrev') AS abbrev, json_extract(b.value, '$.name') AS name FROM latest_version v, (SELECT 'condition' "
 "AS kind, 'conditions' AS part UNION ALL SELECT 'intervention' AS kind, 'interventions' AS part) k, "
 "json_each(v.record, '$.mesh.' || k.part || '.branches') b WHERE b.key IS NOT NULL")
POSTGRES_VIEWS = ('CREATE OR REPLACE VIEW study AS SELECT v.registry_id, v.source, v.version, v.valid_from, (v.doc #>> '
 "'{titles,brief}') AS brief_title, (v.doc #>> '{titles,official}') AS official_title, (v.doc #>> "
 "'{titles,acronym}') AS acronym, (v.doc #>> '{status,overall}') AS overall_status, (v.doc #>> "
 "'{study_type}') AS study_type, (SELECT string_agg(x, '|' ORDER BY n) FROM jsonb_array_elements_text((CASE "
 "jsonb_typeof(v.doc #> '{phases}') WHEN 'array' THEN v.doc #> '{phases}' ELSE '[]'::jsonb END)) WITH "
 "ORDINALITY AS t(x, n)) AS phases, (v.doc #>> '{design,allocation}') AS allocation, (v.doc #>> "
 "'{design,intervention_model}') AS intervention_model, (v.doc #>> '{design,masking}') AS masking, (v.doc "
 "#>> '{design,primary_purpose}') AS primary_purpose, (v.doc #>> '{enrollment,count}')::bigint AS "
 "enrollment_count, (v.doc #>> '{enrollment,kind}') AS enrollment_kind, (v.doc #>> '{status,start,date}') AS "
 "start_date, (v.doc #>> '{status,primary_completion,date}') AS primary_completion_date, (v.doc #>> "
 "'{status,completion,date}') AS completion_date, (v.doc #>> '{status,first_posted,date}') AS first_posted, "
 "(v.doc #>> '{status,last_update_posted,date}') AS last_update_posted, (v.doc #>> '{eligibility,sex}') AS "
 "sex, (v.doc #>> '{eligibility,min_age,years}')::double precision AS min_age_years, (v.doc #>> "
 "'{eligibility,max_age,years}')::double precision AS max_age_years, (v.doc #>> "
 "'{eligibility,healthy_volunteers}')::boolean AS healthy_volunteers, (v.doc #>> '{sponsors,lead,name}') AS "
 "lead_sponsor, (v.doc #>> '{sponsors,lead,class}') AS lead_sponsor_class, (v.doc #>> "
 "'{identifiers,org_study_id}') AS org_study_id, (v.doc #>> '{has_results}')::boolean AS has_results, (v.doc "
 "#>> '{status,results_first_posted,date}') AS results_first_posted, (v.doc #>> "
 "'{status,first_submitted,date}') AS first_submitted, (v.doc #>> '{status,last_update_submitted,date}') AS "
 "last_update_submitted, (v.doc #>> '{oversight,has_dmc}')::boolean AS has_dmc, (v.doc #>> "
 "'{oversight,fda_regulated_drug}')::boolean AS fda_regulated_drug, (v.doc #>> "
 "'{oversight,fda_regulated_device}')::boolean AS fda_regulated_device, (v.doc #>> '{ipd_sharing,sharing}') "
 "AS ipd_sharing, (v.doc #>> '{sponsors,responsible_party,type}') AS responsible_party_type, (v.doc #>> "
 "'{eligibility,sampling_method}') AS sampling_method, (v.doc #>> '{design,patient_registry}')::boolean AS "
 "patient_registry, (v.doc #>> '{summary}') AS summary FROM latest_version v",
 "CREATE OR REPLACE VIEW study_site AS SELECT v.registry_id, i.value ->> 'facility' AS facility, i.value ->> "
 "'city' AS city, i.value ->> 'state' AS state, i.value ->> 'country' AS country, i.value ->> 'status' AS "
 "status, i.value ->> 'zip' AS zip, (i.value ->> 'latitude')::double precision AS latitude, (i.value ->> "
 "'longitude')::double precision AS longitude FROM latest_version v, jsonb_array_elements((CASE "
 "jsonb_typeof(v.doc -> 'sites') WHEN 'array' THEN v.doc -> 'sites' ELSE '[]'::jsonb END)) AS i(value)",
 "CREATE OR REPLACE VIEW study_reference AS SELECT v.registry_id, i.value ->> 'pmid' AS pmid, i.value ->> "
 "'type' AS type, i.value ->> 'citation' AS citation FROM latest_version v, jsonb_array_elements((CASE "
 "jsonb_typeof(v.doc #> '{references,citations}') WHEN 'array' THEN v.doc #> '{references,citations}' ELSE "
 "'[]'::jsonb END)) AS i(value)",
 "CREATE OR REPLACE VIEW study_official AS SELECT v.registry_id, i.value ->> 'name' AS name, i.value ->> "
 "'affiliation' AS affiliation, i.value ->> 'role' AS role FROM latest_version v, jsonb_array_elements((CASE "
 "jsonb_typeof(v.doc #> '{contacts,officials}') WHEN 'array' THEN v.doc #> '{contacts,officials}' ELSE "
 "'[]'::jsonb END)) AS i(value)",
 "CREATE OR REPLACE VIEW study_mesh AS SELECT v.registry_id, k.kind, l.level, m.value ->> 'id' AS mesh_id, "
 "m.value ->> 'term' AS term FROM latest_version v CROSS JOIN (VALUES ('condition', 'conditions'), "
 "('intervention', 'interventions')) AS k(kind, part) CROSS JOIN (VALUES ('term', 'terms'), ('ancestor', "
 "'ancestors')) AS l(level, part), jsonb_array_elements((CASE jsonb_typeof(v.doc -> 'mesh' -> k.part -> "
 "l.part) WHEN 'array' THEN v.doc -> 'mesh' -> k.part -> l.part ELSE '[]'::jsonb END)) AS m(value)",
 "CREATE OR REPLACE VIEW study_browse_branch AS SELECT v.registry_id, k.kind, b.value ->> 'abbrev' AS "
 "abbrev, b.value ->> 'name' AS name FROM latest_version v CROSS JOIN (VALUES ('condition', 'conditions'), "
 "('intervention', 'interventions')) AS k(kind, part), jsonb_array_elements((CASE jsonb_typeof(v.doc -> "
 "'mesh' -> k.part -> 'branches') WHEN 'array' THEN v.doc -> 'mesh' -> k.part -> 'branches' ELSE '[]'::jsonb "
 'END)) AS b(value)')
# study and study_site as 0001 made them (the downgrade).
SQLITE_OLD_VIEWS = ('CREATE VIEW IF NOT EXISTS study AS SELECT v.registry_id, v.source, v.version, v.valid_from, '
 "json_extract(v.record, '$.titles.brief') AS brief_title, json_extract(v.record, '$.titles.official') AS "
 "official_title, json_extract(v.record, '$.titles.acronym') AS acronym, json_extract(v.record, "
 "'$.status.overall') AS overall_status, json_extract(v.record, '$.study_type') AS study_type, (SELECT "
 "group_concat(value, '|') FROM json_each(v.record, '$.phases')) AS phases, json_extract(v.record, "
 "'$.design.allocation') AS allocation, json_extract(v.record, '$.design.intervention_model') AS "
 "intervention_model, json_extract(v.record, '$.design.masking') AS masking, json_extract(v.record, "
 "'$.design.primary_purpose') AS primary_purpose, json_extract(v.record, '$.enrollment.count') AS "
 "enrollment_count, json_extract(v.record, '$.enrollment.kind') AS enrollment_kind, json_extract(v.record, "
 "'$.status.start.date') AS start_date, json_extract(v.record, '$.status.primary_completion.date') AS "
 "primary_completion_date, json_extract(v.record, '$.status.completion.date') AS completion_date, "
 "json_extract(v.record, '$.status.first_posted.date') AS first_posted, json_extract(v.record, "
 "'$.status.last_update_posted.date') AS last_update_posted, json_extract(v.record, '$.eligibility.sex') AS "
 "sex, json_extract(v.record, '$.eligibility.min_age.years') AS min_age_years, json_extract(v.record, "
 "'$.eligibility.max_age.years') AS max_age_years, json_extract(v.record, "
 "'$.eligibility.healthy_volunteers') AS healthy_volunteers, json_extract(v.record, '$.sponsors.lead.name') "
 "AS lead_sponsor, json_extract(v.record, '$.sponsors.lead.class') AS lead_sponsor_class, "
 "json_extract(v.record, '$.identifiers.org_study_id') AS org_study_id, json_extract(v.record, '$.summary') "
 'AS summary FROM latest_version v',
 "CREATE VIEW IF NOT EXISTS study_site AS SELECT v.registry_id, json_extract(i.value, '$.facility') AS "
 "facility, json_extract(i.value, '$.city') AS city, json_extract(i.value, '$.state') AS state, "
 "json_extract(i.value, '$.country') AS country, json_extract(i.value, '$.status') AS status FROM "
 "latest_version v, json_each(v.record, '$.sites') i WHERE i.key IS NOT NULL")
POSTGRES_OLD_VIEWS = ('CREATE OR REPLACE VIEW study AS SELECT v.registry_id, v.source, v.version, v.valid_from, (v.doc #>> '
 "'{titles,brief}') AS brief_title, (v.doc #>> '{titles,official}') AS official_title, (v.doc #>> "
 "'{titles,acronym}') AS acronym, (v.doc #>> '{status,overall}') AS overall_status, (v.doc #>> "
 "'{study_type}') AS study_type, (SELECT string_agg(x, '|' ORDER BY n) FROM jsonb_array_elements_text((CASE "
 "jsonb_typeof(v.doc #> '{phases}') WHEN 'array' THEN v.doc #> '{phases}' ELSE '[]'::jsonb END)) WITH "
 "ORDINALITY AS t(x, n)) AS phases, (v.doc #>> '{design,allocation}') AS allocation, (v.doc #>> "
 "'{design,intervention_model}') AS intervention_model, (v.doc #>> '{design,masking}') AS masking, (v.doc "
 "#>> '{design,primary_purpose}') AS primary_purpose, (v.doc #>> '{enrollment,count}')::bigint AS "
 "enrollment_count, (v.doc #>> '{enrollment,kind}') AS enrollment_kind, (v.doc #>> '{status,start,date}') AS "
 "start_date, (v.doc #>> '{status,primary_completion,date}') AS primary_completion_date, (v.doc #>> "
 "'{status,completion,date}') AS completion_date, (v.doc #>> '{status,first_posted,date}') AS first_posted, "
 "(v.doc #>> '{status,last_update_posted,date}') AS last_update_posted, (v.doc #>> '{eligibility,sex}') AS "
 "sex, (v.doc #>> '{eligibility,min_age,years}')::double precision AS min_age_years, (v.doc #>> "
 "'{eligibility,max_age,years}')::double precision AS max_age_years, (v.doc #>> "
 "'{eligibility,healthy_volunteers}')::boolean AS healthy_volunteers, (v.doc #>> '{sponsors,lead,name}') AS "
 "lead_sponsor, (v.doc #>> '{sponsors,lead,class}') AS lead_sponsor_class, (v.doc #>> "
 "'{identifiers,org_study_id}') AS org_study_id, (v.doc #>> '{summary}') AS summary FROM latest_version v",
 "CREATE OR REPLACE VIEW study_site AS SELECT v.registry_id, i.value ->> 'facility' AS facility, i.value ->> "
 "'city' AS city, i.value ->> 'state' AS state, i.value ->> 'country' AS country, i.value ->> 'status' AS "
 "status FROM latest_version v, jsonb_array_elements((CASE jsonb_typeof(v.doc -> 'sites') WHEN 'array' THEN "
 "v.doc -> 'sites' ELSE '[]'::jsonb END)) AS i(value)")


def _mesh_id_key(mesh_id: str) -> str:  # frozen here as store/facets.py has it at 0004
    upper = mesh_id.strip().upper()
    match = re.fullmatch(r"([A-Z])0*([0-9]{1,12})", upper)
    return f"{match[1]}{int(match[2]):06d}" if match else upper


def _mesh_rows(registry_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for kind, part in (("condition", "conditions"), ("intervention", "interventions")):
        indexing = (record.get("mesh") or {}).get(part) or {}
        for level, name in (("term", "terms"), ("ancestor", "ancestors")):
            for item in indexing.get(name) or []:
                term, mesh_id = item.get("term"), item.get("id")
                if term or mesh_id:
                    rows.append({"registry_id": registry_id, "kind": kind, "level": level,
                                 "mesh_id": _mesh_id_key(mesh_id) if mesh_id else None, "term": term,
                                 "term_key": term.casefold() if term else None})
    return rows


def _degrees(value: Any, limit: float) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            and -limit <= value <= limit)


def _site_rows(registry_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
    points: dict[tuple[float, float], None] = {}
    for site in record.get("sites") or []:
        lat, lon = site.get("latitude"), site.get("longitude")
        if _degrees(lat, 90.0) and _degrees(lon, 180.0):
            points[(float(lat), float(lon))] = None
    return [{"registry_id": registry_id, "latitude": lat, "longitude": lon} for lat, lon in points]


def _tables() -> tuple[sa.Table, sa.Table]:
    mesh = op.create_table(
        "search_mesh",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("registry_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("mesh_id", sa.String(32), nullable=True),
        sa.Column("term", sa.Text, nullable=True),
        sa.Column("term_key", sa.Text, nullable=True))
    op.create_index("ix_search_mesh_registry_id", "search_mesh", ["registry_id"])
    op.create_index("ix_search_mesh_key", "search_mesh", ["term_key"])
    op.create_index("ix_search_mesh_id", "search_mesh", ["mesh_id"])
    site = op.create_table(
        "search_site",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("registry_id", sa.String(64), nullable=False),
        sa.Column("latitude", sa.Float, nullable=False),
        sa.Column("longitude", sa.Float, nullable=False))
    op.create_index("ix_search_site_registry_id", "search_site", ["registry_id"])
    op.create_index("ix_search_site_point", "search_site", ["latitude", "longitude"])
    assert mesh is not None and site is not None
    return mesh, site


def _fill(mesh: sa.Table, site: sa.Table) -> None:
    """The side rows of every indexed version that has MeSH terms or coordinates."""
    conn = op.get_bind()
    # Versions stored before issue 15 have neither key; the rest are read. Streamed and
    # written in batches: memory stays flat whatever the store's size.
    indexed = sa.text(
        "SELECT v.registry_id, v.record FROM version v JOIN search_doc d ON d.registry_id = v.registry_id "
        "AND d.source = v.source AND d.version = v.version "
        """WHERE v.record LIKE '%"mesh"%' OR v.record LIKE '%"latitude"%'""")
    mesh_rows: list[dict[str, Any]] = []
    site_rows: list[dict[str, Any]] = []
    for registry_id, text in conn.execute(indexed.execution_options(stream_results=True, yield_per=_BATCH)):
        record = orjson.loads(text)
        mesh_rows += _mesh_rows(registry_id, record)
        site_rows += _site_rows(registry_id, record)
        if len(mesh_rows) + len(site_rows) >= _BATCH:
            _write(mesh, mesh_rows, site, site_rows)
            mesh_rows, site_rows = [], []
    _write(mesh, mesh_rows, site, site_rows)


def _write(mesh: sa.Table, mesh_rows: list[dict[str, Any]], site: sa.Table,
           site_rows: list[dict[str, Any]]) -> None:
    if mesh_rows:
        op.bulk_insert(mesh, mesh_rows)
    if site_rows:
        op.bulk_insert(site, site_rows)


def _views(statements: tuple[str, ...]) -> None:
    bind = op.get_bind()
    for view in reversed(_NEW_VIEWS):
        bind.exec_driver_sql(f"DROP VIEW IF EXISTS {view}")
    for statement in statements:
        bind.exec_driver_sql(statement)


def upgrade() -> None:
    mesh, site = _tables()
    _fill(mesh, site)
    postgres = op.get_bind().dialect.name == "postgresql"
    _views(POSTGRES_VIEWS if postgres else SQLITE_VIEWS)
    op.execute("UPDATE store_meta SET value = '3' WHERE key = 'search_index_version' AND value = '2'")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _views(POSTGRES_OLD_VIEWS if postgres else SQLITE_OLD_VIEWS)
    op.drop_table("search_site")
    op.drop_table("search_mesh")
    op.execute("UPDATE store_meta SET value = '2' WHERE key = 'search_index_version' AND value = '3'")
