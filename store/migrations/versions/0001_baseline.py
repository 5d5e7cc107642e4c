"""The baseline: the schema of trialmirror main b867388, as its ``Store`` made it.

Tables and indexes (then SQLModel's ``create_all`` of models/tables.py), the search
index (SQLite: the FTS5 table ``search_fts``; PostgreSQL: the generated ``tsv`` column,
its GIN index and ``ntok``), the relational views, and the search index's build number
in ``store_meta``. Everything is written out here, frozen: later models and later
builds of the search index or the views must not change what this revision makes.

:func:`level` brings a database made before the migrations to this revision: it ran
the same statements, idempotently, on every open, so a database of an older build may
lack some (a table, the ``ntok`` column): those are made, nothing is dropped.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Connection

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)  # sqlmodel's UTCDateTime: timestamp with time zone on PostgreSQL


def _tables() -> sa.MetaData:
    m = sa.MetaData()
    sa.Table(
        "raw_payload", m,
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("registry_id", sa.String(64), nullable=False, index=True),
        sa.Column("url", sa.String, nullable=True),
        sa.Column("content_type", sa.String(128), nullable=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("compression", sa.String(16), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("first_seen_at", _TZ, nullable=False))
    sa.Table(
        "fetch", m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("registry_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String, nullable=True),
        sa.Column("started_at", _TZ, nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=True),
        sa.Column("error_family", sa.String(32), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("raw_sha256", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("upstream_version", sa.Integer, nullable=True),
        sa.Column("etag", sa.String, nullable=True),
        sa.Column("last_modified", sa.String, nullable=True),
        sa.Index("ix_fetch_record", "source", "registry_id", "id"))
    sa.Table(
        "version", m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("registry_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(80), nullable=False),
        sa.Column("overall_status", sa.String(64), nullable=True),
        sa.Column("observed_at", _TZ, nullable=False),
        sa.Column("valid_from", sa.String(32), nullable=True),
        sa.Column("raw_sha256", sa.String(64), nullable=True),
        sa.Column("parser_version", sa.Integer, nullable=False),
        sa.Column("produced_by", sa.String(16), nullable=False),
        sa.Column("upstream_version", sa.Integer, nullable=True),
        sa.Column("record", sa.Text, nullable=False),
        sa.Column("diff", sa.Text, nullable=True),
        sa.UniqueConstraint("registry_id", "source", "version"))
    sa.Table(
        "event", m,
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("registry_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False, index=True),
        sa.Column("occurred_at", _TZ, nullable=False),
        sa.Column("data", sa.Text, nullable=True),
        sa.Index("ix_event_record", "registry_id", "source", "seq"),
        sqlite_autoincrement=True)
    sa.Table(
        "search_doc", m,
        sa.Column("registry_id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("valid_from", sa.String(32), nullable=False),
        sa.Column("status", sa.String(64), nullable=True, index=True),
        sa.Column("phases", sa.String(128), nullable=True),
        *(sa.Column(name, sa.Text, nullable=True) for name in (
            "conditions_filter", "title", "conditions", "interventions", "arms", "criteria", "summary")))
    sa.Table(
        "watch", m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("registry_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("pinned_url", sa.String, nullable=True),
        sa.Column("added_at", _TZ, nullable=False),
        sa.UniqueConstraint("registry_id", "source"))
    sa.Table(
        "lease", m,
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("registry_id", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(80), nullable=True),
        sa.Column("expires_at", _TZ, nullable=False),
        sa.Column("done_at", _TZ, nullable=True))
    sa.Table(
        "notify_cursor", m,
        sa.Column("target", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("updated_at", _TZ, nullable=False))
    sa.Table(
        "delivery", m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("http_status", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("duration_ms", sa.Float, nullable=True),
        sa.Index("ix_delivery_target_seq", "target", "seq"))
    sa.Table(
        "store_meta", m,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String, nullable=False))
    sa.Table(
        "sync_checkpoint", m,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("full", sa.Boolean, nullable=False),
        sa.Column("since", sa.String(32), nullable=True),
        sa.Column("page_token", sa.Text, nullable=True),
        sa.Column("resume_date", sa.String(32), nullable=True),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("total_count", sa.Integer, nullable=True),
        sa.Column("started_at", _TZ, nullable=False),
        sa.Column("finished_at", _TZ, nullable=True),
        sa.Column("last_started_at", _TZ, nullable=True))
    return m


# The search index and the views, as b867388's search.py and views.py wrote them.
SQLITE = ('CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(title, conditions, interventions, arms, '
 "criteria, summary, content='search_doc', tokenize='porter unicode61')",
 'CREATE VIEW IF NOT EXISTS latest_version AS SELECT v.* FROM version v JOIN search_doc d ON '
 'd.registry_id = v.registry_id AND d.source = v.source AND d.version = v.version',
 'CREATE VIEW IF NOT EXISTS study AS SELECT v.registry_id, v.source, v.version, v.valid_from, '
 "json_extract(v.record, '$.titles.brief') AS brief_title, json_extract(v.record, '$.titles.official') "
 "AS official_title, json_extract(v.record, '$.titles.acronym') AS acronym, json_extract(v.record, "
 "'$.status.overall') AS overall_status, json_extract(v.record, '$.study_type') AS study_type, (SELECT "
 "group_concat(value, '|') FROM json_each(v.record, '$.phases')) AS phases, json_extract(v.record, "
 "'$.design.allocation') AS allocation, json_extract(v.record, '$.design.intervention_model') AS "
 "intervention_model, json_extract(v.record, '$.design.masking') AS masking, json_extract(v.record, "
 "'$.design.primary_purpose') AS primary_purpose, json_extract(v.record, '$.enrollment.count') AS "
 "enrollment_count, json_extract(v.record, '$.enrollment.kind') AS enrollment_kind, "
 "json_extract(v.record, '$.status.start.date') AS start_date, json_extract(v.record, "
 "'$.status.primary_completion.date') AS primary_completion_date, json_extract(v.record, "
 "'$.status.completion.date') AS completion_date, json_extract(v.record, '$.status.first_posted.date') "
 "AS first_posted, json_extract(v.record, '$.status.last_update_posted.date') AS last_update_posted, "
 "json_extract(v.record, '$.eligibility.sex') AS sex, json_extract(v.record, "
 "'$.eligibility.min_age.years') AS min_age_years, json_extract(v.record, "
 "'$.eligibility.max_age.years') AS max_age_years, json_extract(v.record, "
 "'$.eligibility.healthy_volunteers') AS healthy_volunteers, json_extract(v.record, "
 "'$.sponsors.lead.name') AS lead_sponsor, json_extract(v.record, '$.sponsors.lead.class') AS "
 "lead_sponsor_class, json_extract(v.record, '$.identifiers.org_study_id') AS org_study_id, "
 "json_extract(v.record, '$.summary') AS summary FROM latest_version v",
 'CREATE VIEW IF NOT EXISTS study_condition AS SELECT v.registry_id, c.value AS condition FROM '
 "latest_version v, json_each(v.record, '$.conditions') c WHERE c.key IS NOT NULL",
 "CREATE VIEW IF NOT EXISTS study_arm AS SELECT v.registry_id, json_extract(i.value, '$.label') AS "
 "label, json_extract(i.value, '$.type') AS type, json_extract(i.value, '$.description') AS "
 "description, (SELECT group_concat(x.value, '|') FROM json_each(i.value, '$.interventions') x) AS "
 "interventions FROM latest_version v, json_each(v.record, '$.arms') i WHERE i.key IS NOT NULL",
 "CREATE VIEW IF NOT EXISTS study_intervention AS SELECT v.registry_id, json_extract(i.value, '$.type') "
 "AS type, json_extract(i.value, '$.name') AS name, json_extract(i.value, '$.description') AS "
 "description, (SELECT group_concat(x.value, '|') FROM json_each(i.value, '$.arm_labels') x) AS "
 "arm_labels, (SELECT group_concat(x.value, '|') FROM json_each(i.value, '$.other_names') x) AS "
 "other_names FROM latest_version v, json_each(v.record, '$.interventions') i WHERE i.key IS NOT NULL",
 "CREATE VIEW IF NOT EXISTS study_site AS SELECT v.registry_id, json_extract(i.value, '$.facility') AS "
 "facility, json_extract(i.value, '$.city') AS city, json_extract(i.value, '$.state') AS state, "
 "json_extract(i.value, '$.country') AS country, json_extract(i.value, '$.status') AS status FROM "
 "latest_version v, json_each(v.record, '$.sites') i WHERE i.key IS NOT NULL",
 'CREATE VIEW IF NOT EXISTS study_criterion AS SELECT v.registry_id, k.kind, c.key + 1 AS position, '
 "c.value AS text FROM latest_version v, (SELECT 'inclusion' AS kind UNION ALL SELECT 'exclusion' AS "
 "kind UNION ALL SELECT 'unclassified' AS kind) k, json_each(v.record, '$.eligibility.' || k.kind) c "
 'WHERE c.key IS NOT NULL',
 'CREATE VIEW IF NOT EXISTS study_outcome AS SELECT v.registry_id, k.kind, json_extract(o.value, '
 "'$.measure') AS measure, json_extract(o.value, '$.time_frame') AS time_frame, json_extract(o.value, "
 "'$.description') AS description FROM latest_version v, (SELECT 'primary' AS kind UNION ALL SELECT "
 "'secondary' AS kind UNION ALL SELECT 'other' AS kind) k, json_each(v.record, '$.outcomes.' || k.kind) "
 'o WHERE o.key IS NOT NULL')
POSTGRES = ('ALTER TABLE search_doc ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS '
 "(setweight(to_tsvector('english', translate(coalesce(title, ''), '/', ' ')), 'A') || "
 "setweight(to_tsvector('english', translate(coalesce(conditions, ''), '/', ' ')), 'B') || "
 "setweight(to_tsvector('english', translate(coalesce(interventions, ''), '/', ' ')), 'C') || "
 "setweight(to_tsvector('english', translate(coalesce(arms, ''), '/', ' ')), 'C') || "
 "setweight(to_tsvector('english', translate(coalesce(criteria, ''), '/', ' ')), 'D') || "
 "setweight(to_tsvector('english', translate(coalesce(summary, ''), '/', ' ')), 'D')) STORED",
 'CREATE INDEX IF NOT EXISTS ix_search_doc_tsv ON search_doc USING gin (tsv)',
 'ALTER TABLE search_doc ADD COLUMN IF NOT EXISTS ntok integer',
 'CREATE OR REPLACE VIEW latest_version AS SELECT v.*, v.record::jsonb AS doc FROM version v JOIN '
 'search_doc d ON d.registry_id = v.registry_id AND d.source = v.source AND d.version = v.version',
 'CREATE OR REPLACE VIEW study AS SELECT v.registry_id, v.source, v.version, v.valid_from, (v.doc #>> '
 "'{titles,brief}') AS brief_title, (v.doc #>> '{titles,official}') AS official_title, (v.doc #>> "
 "'{titles,acronym}') AS acronym, (v.doc #>> '{status,overall}') AS overall_status, (v.doc #>> "
 "'{study_type}') AS study_type, (SELECT string_agg(x, '|' ORDER BY n) FROM "
 "jsonb_array_elements_text((CASE jsonb_typeof(v.doc #> '{phases}') WHEN 'array' THEN v.doc #> "
 "'{phases}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS t(x, n)) AS phases, (v.doc #>> "
 "'{design,allocation}') AS allocation, (v.doc #>> '{design,intervention_model}') AS "
 "intervention_model, (v.doc #>> '{design,masking}') AS masking, (v.doc #>> '{design,primary_purpose}') "
 "AS primary_purpose, (v.doc #>> '{enrollment,count}')::bigint AS enrollment_count, (v.doc #>> "
 "'{enrollment,kind}') AS enrollment_kind, (v.doc #>> '{status,start,date}') AS start_date, (v.doc #>> "
 "'{status,primary_completion,date}') AS primary_completion_date, (v.doc #>> "
 "'{status,completion,date}') AS completion_date, (v.doc #>> '{status,first_posted,date}') AS "
 "first_posted, (v.doc #>> '{status,last_update_posted,date}') AS last_update_posted, (v.doc #>> "
 "'{eligibility,sex}') AS sex, (v.doc #>> '{eligibility,min_age,years}')::double precision AS "
 "min_age_years, (v.doc #>> '{eligibility,max_age,years}')::double precision AS max_age_years, (v.doc "
 "#>> '{eligibility,healthy_volunteers}')::boolean AS healthy_volunteers, (v.doc #>> "
 "'{sponsors,lead,name}') AS lead_sponsor, (v.doc #>> '{sponsors,lead,class}') AS lead_sponsor_class, "
 "(v.doc #>> '{identifiers,org_study_id}') AS org_study_id, (v.doc #>> '{summary}') AS summary FROM "
 'latest_version v',
 'CREATE OR REPLACE VIEW study_condition AS SELECT v.registry_id, c.value AS condition FROM '
 "latest_version v, jsonb_array_elements_text((CASE jsonb_typeof(v.doc -> 'conditions') WHEN 'array' "
 "THEN v.doc -> 'conditions' ELSE '[]'::jsonb END)) AS c(value)",
 "CREATE OR REPLACE VIEW study_arm AS SELECT v.registry_id, i.value ->> 'label' AS label, i.value ->> "
 "'type' AS type, i.value ->> 'description' AS description, (SELECT string_agg(x, '|' ORDER BY n) FROM "
 "jsonb_array_elements_text((CASE jsonb_typeof(i.value -> 'interventions') WHEN 'array' THEN i.value -> "
 "'interventions' ELSE '[]'::jsonb END)) WITH ORDINALITY AS t(x, n)) AS interventions FROM "
 "latest_version v, jsonb_array_elements((CASE jsonb_typeof(v.doc -> 'arms') WHEN 'array' THEN v.doc -> "
 "'arms' ELSE '[]'::jsonb END)) AS i(value)",
 "CREATE OR REPLACE VIEW study_intervention AS SELECT v.registry_id, i.value ->> 'type' AS type, "
 "i.value ->> 'name' AS name, i.value ->> 'description' AS description, (SELECT string_agg(x, '|' ORDER "
 "BY n) FROM jsonb_array_elements_text((CASE jsonb_typeof(i.value -> 'arm_labels') WHEN 'array' THEN "
 "i.value -> 'arm_labels' ELSE '[]'::jsonb END)) WITH ORDINALITY AS t(x, n)) AS arm_labels, (SELECT "
 "string_agg(x, '|' ORDER BY n) FROM jsonb_array_elements_text((CASE jsonb_typeof(i.value -> "
 "'other_names') WHEN 'array' THEN i.value -> 'other_names' ELSE '[]'::jsonb END)) WITH ORDINALITY AS "
 't(x, n)) AS other_names FROM latest_version v, jsonb_array_elements((CASE jsonb_typeof(v.doc -> '
 "'interventions') WHEN 'array' THEN v.doc -> 'interventions' ELSE '[]'::jsonb END)) AS i(value)",
 "CREATE OR REPLACE VIEW study_site AS SELECT v.registry_id, i.value ->> 'facility' AS facility, "
 "i.value ->> 'city' AS city, i.value ->> 'state' AS state, i.value ->> 'country' AS country, i.value "
 "->> 'status' AS status FROM latest_version v, jsonb_array_elements((CASE jsonb_typeof(v.doc -> "
 "'sites') WHEN 'array' THEN v.doc -> 'sites' ELSE '[]'::jsonb END)) AS i(value)",
 'CREATE OR REPLACE VIEW study_criterion AS SELECT v.registry_id, k.kind, c.n::bigint AS position, '
 "c.value AS text FROM latest_version v CROSS JOIN (VALUES ('inclusion'), ('exclusion'), "
 "('unclassified')) AS k(kind), jsonb_array_elements_text((CASE jsonb_typeof(v.doc -> 'eligibility' -> "
 "k.kind) WHEN 'array' THEN v.doc -> 'eligibility' -> k.kind ELSE '[]'::jsonb END)) WITH ORDINALITY AS "
 'c(value, n)',
 "CREATE OR REPLACE VIEW study_outcome AS SELECT v.registry_id, k.kind, o.value ->> 'measure' AS "
 "measure, o.value ->> 'time_frame' AS time_frame, o.value ->> 'description' AS description FROM "
 "latest_version v CROSS JOIN (VALUES ('primary'), ('secondary'), ('other')) AS k(kind), "
 "jsonb_array_elements((CASE jsonb_typeof(v.doc -> 'outcomes' -> k.kind) WHEN 'array' THEN v.doc -> "
 "'outcomes' -> k.kind ELSE '[]'::jsonb END)) AS o(value)")


def _make(conn: Connection, *, checkfirst: bool) -> None:
    _tables().create_all(conn, checkfirst=checkfirst)
    for statement in POSTGRES if conn.dialect.name == "postgresql" else SQLITE:
        conn.exec_driver_sql(statement)
    # The search index's build (b867388's INDEX_VERSION) when nothing is indexed yet.
    if conn.exec_driver_sql("SELECT 1 FROM search_doc LIMIT 1").first() is None:
        conn.exec_driver_sql("DELETE FROM store_meta WHERE key = 'search_index_version'")
        conn.exec_driver_sql("INSERT INTO store_meta (key, value) VALUES ('search_index_version', '2')")


def level(conn: Connection) -> None:
    """Bring a database made before the migrations to this revision (idempotent)."""
    _make(conn, checkfirst=True)


def upgrade() -> None:
    _make(op.get_bind(), checkfirst=False)


def downgrade() -> None:
    bind = op.get_bind()
    views = ("study_outcome", "study_criterion", "study_site", "study_intervention", "study_arm",
             "study_condition", "study", "latest_version")
    for view in views:
        bind.exec_driver_sql(f"DROP VIEW IF EXISTS {view}")
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("DROP TABLE IF EXISTS search_fts")
    _tables().drop_all(bind)
