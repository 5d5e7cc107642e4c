"""The results section as SQL views (issue 16): ``result_groups``, ``outcomes``,
``outcome_counts``, ``outcome_measurements``, ``outcome_analyses``, ``baseline_counts``,
``baseline_measurements``, ``milestones``, ``drop_withdrawals``, ``reported_events`` and
``reported_event_totals``, over the newest registry version of every record
(``latest_version``), one row per fact. Written out here, frozen, as
store/results_views.py makes them now; views only, so nothing is filled and a store of
any size upgrades at once. The downgrade drops them.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

VIEWS = ('result_groups',
 'outcomes',
 'outcome_counts',
 'outcome_measurements',
 'outcome_analyses',
 'baseline_counts',
 'baseline_measurements',
 'milestones',
 'drop_withdrawals',
 'reported_events',
 'reported_event_totals')
SQLITE_VIEWS = ("CREATE VIEW IF NOT EXISTS result_groups AS SELECT v.registry_id, v.source, v.version, 'participant_flow' "
 "AS kind, NULL AS outcome, json_extract(g.value, '$.id') AS group_id, json_extract(g.value, '$.title') AS "
 "title, json_extract(g.value, '$.description') AS description, json_extract(g.value, '$.arm') AS arm FROM "
 "latest_version v, json_each(v.record, '$.results.participant_flow.groups') g WHERE g.key IS NOT NULL UNION "
 "ALL SELECT v.registry_id, v.source, v.version, 'baseline' AS kind, NULL AS outcome, json_extract(g.value, "
 "'$.id') AS group_id, json_extract(g.value, '$.title') AS title, json_extract(g.value, '$.description') AS "
 "description, json_extract(g.value, '$.arm') AS arm FROM latest_version v, json_each(v.record, "
 "'$.results.baseline.groups') g WHERE g.key IS NOT NULL UNION ALL SELECT v.registry_id, v.source, "
 "v.version, 'outcome' AS kind, o.key + 1 AS outcome, json_extract(g.value, '$.id') AS group_id, "
 "json_extract(g.value, '$.title') AS title, json_extract(g.value, '$.description') AS description, "
 "json_extract(g.value, '$.arm') AS arm FROM latest_version v, json_each(v.record, "
 "'$.results.outcome_measures') o, json_each(o.value, '$.groups') g WHERE o.key IS NOT NULL AND g.key IS NOT "
 "NULL UNION ALL SELECT v.registry_id, v.source, v.version, 'adverse_events' AS kind, NULL AS outcome, "
 "json_extract(g.value, '$.id') AS group_id, json_extract(g.value, '$.title') AS title, "
 "json_extract(g.value, '$.description') AS description, json_extract(g.value, '$.arm') AS arm FROM "
 "latest_version v, json_each(v.record, '$.results.adverse_events.groups') g WHERE g.key IS NOT NULL",
 'CREATE VIEW IF NOT EXISTS outcomes AS SELECT v.registry_id, v.source, v.version, o.key + 1 AS outcome, '
 "json_extract(o.value, '$.type') AS type, json_extract(o.value, '$.title') AS title, json_extract(o.value, "
 "'$.description') AS description, json_extract(o.value, '$.time_frame') AS time_frame, "
 "json_extract(o.value, '$.population_description') AS population_description, json_extract(o.value, "
 "'$.reporting_status') AS reporting_status, json_extract(o.value, '$.anticipated_posting_date') AS "
 "anticipated_posting_date, json_extract(o.value, '$.param_type') AS param_type, json_extract(o.value, "
 "'$.dispersion_type') AS dispersion_type, json_extract(o.value, '$.unit') AS unit, json_extract(o.value, "
 "'$.units_analyzed') AS units_analyzed, json_extract(o.value, '$.calculate_pct') AS calculate_pct, "
 "json_extract(o.value, '$.denom_units_selected') AS denom_units_selected FROM latest_version v, "
 "json_each(v.record, '$.results.outcome_measures') o WHERE o.key IS NOT NULL",
 "CREATE VIEW IF NOT EXISTS outcome_counts AS SELECT v.registry_id, v.source, v.version, 'measure' AS scope, "
 "o.key + 1 AS outcome, NULL AS class_title, json_extract(d.value, '$.units') AS units, "
 "json_extract(q.value, '$.group') AS group_id, json_extract(q.value, '$.value') AS count, "
 "json_extract(q.value, '$.value_num') AS count_num FROM latest_version v, json_each(v.record, "
 "'$.results.outcome_measures') o, json_each(o.value, '$.denoms') d, json_each(d.value, '$.counts') q WHERE "
 'o.key IS NOT NULL AND d.key IS NOT NULL AND q.key IS NOT NULL UNION ALL SELECT v.registry_id, v.source, '
 "v.version, 'class' AS scope, o.key + 1 AS outcome, json_extract(c.value, '$.title') AS class_title, "
 "json_extract(d.value, '$.units') AS units, json_extract(q.value, '$.group') AS group_id, "
 "json_extract(q.value, '$.value') AS count, json_extract(q.value, '$.value_num') AS count_num FROM "
 "latest_version v, json_each(v.record, '$.results.outcome_measures') o, json_each(o.value, '$.classes') c, "
 "json_each(c.value, '$.denoms') d, json_each(d.value, '$.counts') q WHERE o.key IS NOT NULL AND c.key IS "
 'NOT NULL AND d.key IS NOT NULL AND q.key IS NOT NULL',
 'CREATE VIEW IF NOT EXISTS outcome_measurements AS SELECT v.registry_id, v.source, v.version, o.key + 1 AS '
 "outcome, json_extract(o.value, '$.title') AS outcome_title, json_extract(c.value, '$.title') AS "
 "class_title, json_extract(k.value, '$.title') AS category_title, json_extract(m.value, '$.group') AS "
 "group_id, json_extract(m.value, '$.value') AS value, json_extract(m.value, '$.value_num') AS value_num, "
 "json_extract(m.value, '$.spread') AS spread, json_extract(m.value, '$.spread_num') AS spread_num, "
 "json_extract(m.value, '$.lower_limit') AS lower_limit, json_extract(m.value, '$.lower_limit_num') AS "
 "lower_limit_num, json_extract(m.value, '$.upper_limit') AS upper_limit, json_extract(m.value, "
 "'$.upper_limit_num') AS upper_limit_num, json_extract(m.value, '$.comment') AS comment, "
 "json_extract(o.value, '$.param_type') AS param_type, json_extract(o.value, '$.dispersion_type') AS "
 "dispersion_type, json_extract(o.value, '$.unit') AS unit FROM latest_version v, json_each(v.record, "
 "'$.results.outcome_measures') o, json_each(o.value, '$.classes') c, json_each(c.value, '$.categories') k, "
 "json_each(k.value, '$.measurements') m WHERE o.key IS NOT NULL AND c.key IS NOT NULL AND k.key IS NOT NULL "
 'AND m.key IS NOT NULL',
 'CREATE VIEW IF NOT EXISTS outcome_analyses AS SELECT v.registry_id, v.source, v.version, o.key + 1 AS '
 "outcome, a.key + 1 AS analysis, (SELECT group_concat(j.value, '|') FROM json_each(a.value, '$.groups') j) "
 "AS groups, json_extract(a.value, '$.group_description') AS group_description, json_extract(a.value, "
 "'$.tested_non_inferiority') AS tested_non_inferiority, json_extract(a.value, '$.non_inferiority_type') AS "
 "non_inferiority_type, json_extract(a.value, '$.non_inferiority_comment') AS non_inferiority_comment, "
 "json_extract(a.value, '$.p_value') AS p_value, json_extract(a.value, '$.p_value_num') AS p_value_num, "
 "json_extract(a.value, '$.p_value_modifier') AS p_value_modifier, json_extract(a.value, "
 "'$.p_value_comment') AS p_value_comment, json_extract(a.value, '$.statistical_method') AS "
 "statistical_method, json_extract(a.value, '$.statistical_comment') AS statistical_comment, "
 "json_extract(a.value, '$.param_type') AS param_type, json_extract(a.value, '$.param_value') AS "
 "param_value, json_extract(a.value, '$.param_value_num') AS param_value_num, json_extract(a.value, "
 "'$.dispersion_type') AS dispersion_type, json_extract(a.value, '$.dispersion_value') AS dispersion_value, "
 "json_extract(a.value, '$.dispersion_value_num') AS dispersion_value_num, json_extract(a.value, '$.ci_pct') "
 "AS ci_pct, json_extract(a.value, '$.ci_pct_num') AS ci_pct_num, json_extract(a.value, '$.ci_sides') AS "
 "ci_sides, json_extract(a.value, '$.ci_lower_limit') AS ci_lower_limit, json_extract(a.value, "
 "'$.ci_lower_limit_num') AS ci_lower_limit_num, json_extract(a.value, '$.ci_upper_limit') AS "
 "ci_upper_limit, json_extract(a.value, '$.ci_upper_limit_num') AS ci_upper_limit_num, json_extract(a.value, "
 "'$.ci_lower_limit_comment') AS ci_lower_limit_comment, json_extract(a.value, '$.ci_upper_limit_comment') "
 "AS ci_upper_limit_comment, json_extract(a.value, '$.estimate_comment') AS estimate_comment, "
 "json_extract(a.value, '$.other_analysis_description') AS other_analysis_description FROM latest_version v, "
 "json_each(v.record, '$.results.outcome_measures') o, json_each(o.value, '$.analyses') a WHERE o.key IS NOT "
 'NULL AND a.key IS NOT NULL',
 "CREATE VIEW IF NOT EXISTS baseline_counts AS SELECT v.registry_id, v.source, v.version, 'overall' AS "
 "scope, NULL AS measure, NULL AS class_title, json_extract(d.value, '$.units') AS units, "
 "json_extract(q.value, '$.group') AS group_id, json_extract(q.value, '$.value') AS count, "
 "json_extract(q.value, '$.value_num') AS count_num FROM latest_version v, json_each(v.record, "
 "'$.results.baseline.denoms') d, json_each(d.value, '$.counts') q WHERE d.key IS NOT NULL AND q.key IS NOT "
 "NULL UNION ALL SELECT v.registry_id, v.source, v.version, 'measure' AS scope, b.key + 1 AS measure, NULL "
 "AS class_title, json_extract(d.value, '$.units') AS units, json_extract(q.value, '$.group') AS group_id, "
 "json_extract(q.value, '$.value') AS count, json_extract(q.value, '$.value_num') AS count_num FROM "
 "latest_version v, json_each(v.record, '$.results.baseline.measures') b, json_each(b.value, '$.denoms') d, "
 "json_each(d.value, '$.counts') q WHERE b.key IS NOT NULL AND d.key IS NOT NULL AND q.key IS NOT NULL UNION "
 "ALL SELECT v.registry_id, v.source, v.version, 'class' AS scope, b.key + 1 AS measure, "
 "json_extract(c.value, '$.title') AS class_title, json_extract(d.value, '$.units') AS units, "
 "json_extract(q.value, '$.group') AS group_id, json_extract(q.value, '$.value') AS count, "
 "json_extract(q.value, '$.value_num') AS count_num FROM latest_version v, json_each(v.record, "
 "'$.results.baseline.measures') b, json_each(b.value, '$.classes') c, json_each(c.value, '$.denoms') d, "
 "json_each(d.value, '$.counts') q WHERE b.key IS NOT NULL AND c.key IS NOT NULL AND d.key IS NOT NULL AND "
 'q.key IS NOT NULL',
 'CREATE VIEW IF NOT EXISTS baseline_measurements AS SELECT v.registry_id, v.source, v.version, b.key + 1 AS '
 "measure, json_extract(b.value, '$.title') AS measure_title, json_extract(c.value, '$.title') AS "
 "class_title, json_extract(k.value, '$.title') AS category_title, json_extract(m.value, '$.group') AS "
 "group_id, json_extract(m.value, '$.value') AS value, json_extract(m.value, '$.value_num') AS value_num, "
 "json_extract(m.value, '$.spread') AS spread, json_extract(m.value, '$.spread_num') AS spread_num, "
 "json_extract(m.value, '$.lower_limit') AS lower_limit, json_extract(m.value, '$.lower_limit_num') AS "
 "lower_limit_num, json_extract(m.value, '$.upper_limit') AS upper_limit, json_extract(m.value, "
 "'$.upper_limit_num') AS upper_limit_num, json_extract(m.value, '$.comment') AS comment, "
 "json_extract(b.value, '$.param_type') AS param_type, json_extract(b.value, '$.dispersion_type') AS "
 "dispersion_type, json_extract(b.value, '$.unit') AS unit FROM latest_version v, json_each(v.record, "
 "'$.results.baseline.measures') b, json_each(b.value, '$.classes') c, json_each(c.value, '$.categories') k, "
 "json_each(k.value, '$.measurements') m WHERE b.key IS NOT NULL AND c.key IS NOT NULL AND k.key IS NOT NULL "
 'AND m.key IS NOT NULL',
 'CREATE VIEW IF NOT EXISTS milestones AS SELECT v.registry_id, v.source, v.version, json_extract(p.value, '
 "'$.title') AS period, json_extract(s.value, '$.type') AS milestone, json_extract(s.value, '$.comment') AS "
 "milestone_comment, json_extract(x.value, '$.group') AS group_id, json_extract(x.value, '$.subjects') AS "
 "subjects, json_extract(x.value, '$.subjects_num') AS subjects_num, json_extract(x.value, '$.units') AS "
 "units, json_extract(x.value, '$.units_num') AS units_num, json_extract(x.value, '$.comment') AS comment "
 "FROM latest_version v, json_each(v.record, '$.results.participant_flow.periods') p, json_each(p.value, "
 "'$.milestones') s, json_each(s.value, '$.achievements') x WHERE p.key IS NOT NULL AND s.key IS NOT NULL "
 'AND x.key IS NOT NULL',
 'CREATE VIEW IF NOT EXISTS drop_withdrawals AS SELECT v.registry_id, v.source, v.version, '
 "json_extract(p.value, '$.title') AS period, json_extract(s.value, '$.type') AS reason, "
 "json_extract(s.value, '$.comment') AS reason_comment, json_extract(x.value, '$.group') AS group_id, "
 "json_extract(x.value, '$.subjects') AS subjects, json_extract(x.value, '$.subjects_num') AS subjects_num, "
 "json_extract(x.value, '$.units') AS units, json_extract(x.value, '$.units_num') AS units_num, "
 "json_extract(x.value, '$.comment') AS comment FROM latest_version v, json_each(v.record, "
 "'$.results.participant_flow.periods') p, json_each(p.value, '$.drop_withdraws') s, json_each(s.value, "
 "'$.reasons') x WHERE p.key IS NOT NULL AND s.key IS NOT NULL AND x.key IS NOT NULL",
 "CREATE VIEW IF NOT EXISTS reported_events AS SELECT v.registry_id, v.source, v.version, 'serious' AS "
 "event_type, json_extract(e.value, '$.term') AS term, json_extract(e.value, '$.organ_system') AS "
 "organ_system, json_extract(e.value, '$.source_vocabulary') AS source_vocabulary, json_extract(e.value, "
 "'$.assessment_type') AS assessment_type, json_extract(e.value, '$.notes') AS notes, json_extract(x.value, "
 "'$.group') AS group_id, json_extract(x.value, '$.events') AS events, json_extract(x.value, '$.affected') "
 "AS affected, json_extract(x.value, '$.at_risk') AS at_risk FROM latest_version v, json_each(v.record, "
 "'$.results.adverse_events.serious') e, json_each(e.value, '$.stats') x WHERE e.key IS NOT NULL AND x.key "
 "IS NOT NULL UNION ALL SELECT v.registry_id, v.source, v.version, 'other' AS event_type, "
 "json_extract(e.value, '$.term') AS term, json_extract(e.value, '$.organ_system') AS organ_system, "
 "json_extract(e.value, '$.source_vocabulary') AS source_vocabulary, json_extract(e.value, "
 "'$.assessment_type') AS assessment_type, json_extract(e.value, '$.notes') AS notes, json_extract(x.value, "
 "'$.group') AS group_id, json_extract(x.value, '$.events') AS events, json_extract(x.value, '$.affected') "
 "AS affected, json_extract(x.value, '$.at_risk') AS at_risk FROM latest_version v, json_each(v.record, "
 "'$.results.adverse_events.other') e, json_each(e.value, '$.stats') x WHERE e.key IS NOT NULL AND x.key IS "
 'NOT NULL',
 'CREATE VIEW IF NOT EXISTS reported_event_totals AS SELECT v.registry_id, v.source, v.version, '
 "json_extract(g.value, '$.id') AS group_id, json_extract(g.value, '$.deaths_affected') AS deaths_affected, "
 "json_extract(g.value, '$.deaths_at_risk') AS deaths_at_risk, json_extract(g.value, '$.serious_affected') "
 "AS serious_affected, json_extract(g.value, '$.serious_at_risk') AS serious_at_risk, json_extract(g.value, "
 "'$.other_affected') AS other_affected, json_extract(g.value, '$.other_at_risk') AS other_at_risk FROM "
 "latest_version v, json_each(v.record, '$.results.adverse_events.groups') g WHERE g.key IS NOT NULL")
POSTGRES_VIEWS = ('CREATE OR REPLACE VIEW result_groups AS SELECT v.registry_id, v.source, v.version, '
 "'participant_flow'::text AS kind, NULL::bigint AS outcome, g.value ->> 'id' AS group_id, g.value ->> "
 "'title' AS title, g.value ->> 'description' AS description, g.value ->> 'arm' AS arm FROM latest_version "
 "v, jsonb_array_elements((CASE jsonb_typeof(v.doc #> '{results,participant_flow,groups}') WHEN 'array' THEN "
 "v.doc #> '{results,participant_flow,groups}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS g(value, n) UNION "
 "ALL SELECT v.registry_id, v.source, v.version, 'baseline'::text AS kind, NULL::bigint AS outcome, g.value "
 "->> 'id' AS group_id, g.value ->> 'title' AS title, g.value ->> 'description' AS description, g.value ->> "
 "'arm' AS arm FROM latest_version v, jsonb_array_elements((CASE jsonb_typeof(v.doc #> "
 "'{results,baseline,groups}') WHEN 'array' THEN v.doc #> '{results,baseline,groups}' ELSE '[]'::jsonb END)) "
 "WITH ORDINALITY AS g(value, n) UNION ALL SELECT v.registry_id, v.source, v.version, 'outcome'::text AS "
 "kind, o.n AS outcome, g.value ->> 'id' AS group_id, g.value ->> 'title' AS title, g.value ->> "
 "'description' AS description, g.value ->> 'arm' AS arm FROM latest_version v, jsonb_array_elements((CASE "
 "jsonb_typeof(v.doc #> '{results,outcome_measures}') WHEN 'array' THEN v.doc #> "
 "'{results,outcome_measures}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS o(value, n), "
 "jsonb_array_elements((CASE jsonb_typeof(o.value -> 'groups') WHEN 'array' THEN o.value -> 'groups' ELSE "
 "'[]'::jsonb END)) WITH ORDINALITY AS g(value, n) UNION ALL SELECT v.registry_id, v.source, v.version, "
 "'adverse_events'::text AS kind, NULL::bigint AS outcome, g.value ->> 'id' AS group_id, g.value ->> 'title' "
 "AS title, g.value ->> 'description' AS description, g.value ->> 'arm' AS arm FROM latest_version v, "
 "jsonb_array_elements((CASE jsonb_typeof(v.doc #> '{results,adverse_events,groups}') WHEN 'array' THEN "
 "v.doc #> '{results,adverse_events,groups}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS g(value, n)",
 'CREATE OR REPLACE VIEW outcomes AS SELECT v.registry_id, v.source, v.version, o.n AS outcome, o.value ->> '
 "'type' AS type, o.value ->> 'title' AS title, o.value ->> 'description' AS description, o.value ->> "
 "'time_frame' AS time_frame, o.value ->> 'population_description' AS population_description, o.value ->> "
 "'reporting_status' AS reporting_status, o.value ->> 'anticipated_posting_date' AS "
 "anticipated_posting_date, o.value ->> 'param_type' AS param_type, o.value ->> 'dispersion_type' AS "
 "dispersion_type, o.value ->> 'unit' AS unit, o.value ->> 'units_analyzed' AS units_analyzed, (o.value ->> "
 "'calculate_pct')::boolean AS calculate_pct, o.value ->> 'denom_units_selected' AS denom_units_selected "
 "FROM latest_version v, jsonb_array_elements((CASE jsonb_typeof(v.doc #> '{results,outcome_measures}') WHEN "
 "'array' THEN v.doc #> '{results,outcome_measures}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS o(value, n)",
 "CREATE OR REPLACE VIEW outcome_counts AS SELECT v.registry_id, v.source, v.version, 'measure'::text AS "
 "scope, o.n AS outcome, NULL::text AS class_title, d.value ->> 'units' AS units, q.value ->> 'group' AS "
 "group_id, q.value ->> 'value' AS count, (q.value ->> 'value_num')::bigint AS count_num FROM latest_version "
 "v, jsonb_array_elements((CASE jsonb_typeof(v.doc #> '{results,outcome_measures}') WHEN 'array' THEN v.doc "
 "#> '{results,outcome_measures}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS o(value, n), "
 "jsonb_array_elements((CASE jsonb_typeof(o.value -> 'denoms') WHEN 'array' THEN o.value -> 'denoms' ELSE "
 "'[]'::jsonb END)) WITH ORDINALITY AS d(value, n), jsonb_array_elements((CASE jsonb_typeof(d.value -> "
 "'counts') WHEN 'array' THEN d.value -> 'counts' ELSE '[]'::jsonb END)) WITH ORDINALITY AS q(value, n) "
 "UNION ALL SELECT v.registry_id, v.source, v.version, 'class'::text AS scope, o.n AS outcome, c.value ->> "
 "'title' AS class_title, d.value ->> 'units' AS units, q.value ->> 'group' AS group_id, q.value ->> 'value' "
 "AS count, (q.value ->> 'value_num')::bigint AS count_num FROM latest_version v, jsonb_array_elements((CASE "
 "jsonb_typeof(v.doc #> '{results,outcome_measures}') WHEN 'array' THEN v.doc #> "
 "'{results,outcome_measures}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS o(value, n), "
 "jsonb_array_elements((CASE jsonb_typeof(o.value -> 'classes') WHEN 'array' THEN o.value -> 'classes' ELSE "
 "'[]'::jsonb END)) WITH ORDINALITY AS c(value, n), jsonb_array_elements((CASE jsonb_typeof(c.value -> "
 "'denoms') WHEN 'array' THEN c.value -> 'denoms' ELSE '[]'::jsonb END)) WITH ORDINALITY AS d(value, n), "
 "jsonb_array_elements((CASE jsonb_typeof(d.value -> 'counts') WHEN 'array' THEN d.value -> 'counts' ELSE "
 "'[]'::jsonb END)) WITH ORDINALITY AS q(value, n)",
 'CREATE OR REPLACE VIEW outcome_measurements AS SELECT v.registry_id, v.source, v.version, o.n AS outcome, '
 "o.value ->> 'title' AS outcome_title, c.value ->> 'title' AS class_title, k.value ->> 'title' AS "
 "category_title, m.value ->> 'group' AS group_id, m.value ->> 'value' AS value, (m.value ->> "
 "'value_num')::double precision AS value_num, m.value ->> 'spread' AS spread, (m.value ->> "
 "'spread_num')::double precision AS spread_num, m.value ->> 'lower_limit' AS lower_limit, (m.value ->> "
 "'lower_limit_num')::double precision AS lower_limit_num, m.value ->> 'upper_limit' AS upper_limit, "
 "(m.value ->> 'upper_limit_num')::double precision AS upper_limit_num, m.value ->> 'comment' AS comment, "
 "o.value ->> 'param_type' AS param_type, o.value ->> 'dispersion_type' AS dispersion_type, o.value ->> "
 "'unit' AS unit FROM latest_version v, jsonb_array_elements((CASE jsonb_typeof(v.doc #> "
 "'{results,outcome_measures}') WHEN 'array' THEN v.doc #> '{results,outcome_measures}' ELSE '[]'::jsonb "
 "END)) WITH ORDINALITY AS o(value, n), jsonb_array_elements((CASE jsonb_typeof(o.value -> 'classes') WHEN "
 "'array' THEN o.value -> 'classes' ELSE '[]'::jsonb END)) WITH ORDINALITY AS c(value, n), "
 "jsonb_array_elements((CASE jsonb_typeof(c.value -> 'categories') WHEN 'array' THEN c.value -> 'categories' "
 "ELSE '[]'::jsonb END)) WITH ORDINALITY AS k(value, n), jsonb_array_elements((CASE jsonb_typeof(k.value -> "
 "'measurements') WHEN 'array' THEN k.value -> 'measurements' ELSE '[]'::jsonb END)) WITH ORDINALITY AS "
 'm(value, n)',
 'CREATE OR REPLACE VIEW outcome_analyses AS SELECT v.registry_id, v.source, v.version, o.n AS outcome, a.n '
 "AS analysis, (SELECT string_agg(j.item, '|' ORDER BY j.n) FROM jsonb_array_elements_text((CASE "
 "jsonb_typeof(a.value -> 'groups') WHEN 'array' THEN a.value -> 'groups' ELSE '[]'::jsonb END)) WITH "
 "ORDINALITY AS j(item, n)) AS groups, a.value ->> 'group_description' AS group_description, (a.value ->> "
 "'tested_non_inferiority')::boolean AS tested_non_inferiority, a.value ->> 'non_inferiority_type' AS "
 "non_inferiority_type, a.value ->> 'non_inferiority_comment' AS non_inferiority_comment, a.value ->> "
 "'p_value' AS p_value, (a.value ->> 'p_value_num')::double precision AS p_value_num, a.value ->> "
 "'p_value_modifier' AS p_value_modifier, a.value ->> 'p_value_comment' AS p_value_comment, a.value ->> "
 "'statistical_method' AS statistical_method, a.value ->> 'statistical_comment' AS statistical_comment, "
 "a.value ->> 'param_type' AS param_type, a.value ->> 'param_value' AS param_value, (a.value ->> "
 "'param_value_num')::double precision AS param_value_num, a.value ->> 'dispersion_type' AS dispersion_type, "
 "a.value ->> 'dispersion_value' AS dispersion_value, (a.value ->> 'dispersion_value_num')::double precision "
 "AS dispersion_value_num, a.value ->> 'ci_pct' AS ci_pct, (a.value ->> 'ci_pct_num')::double precision AS "
 "ci_pct_num, a.value ->> 'ci_sides' AS ci_sides, a.value ->> 'ci_lower_limit' AS ci_lower_limit, (a.value "
 "->> 'ci_lower_limit_num')::double precision AS ci_lower_limit_num, a.value ->> 'ci_upper_limit' AS "
 "ci_upper_limit, (a.value ->> 'ci_upper_limit_num')::double precision AS ci_upper_limit_num, a.value ->> "
 "'ci_lower_limit_comment' AS ci_lower_limit_comment, a.value ->> 'ci_upper_limit_comment' AS "
 "ci_upper_limit_comment, a.value ->> 'estimate_comment' AS estimate_comment, a.value ->> "
 "'other_analysis_description' AS other_analysis_description FROM latest_version v, "
 "jsonb_array_elements((CASE jsonb_typeof(v.doc #> '{results,outcome_measures}') WHEN 'array' THEN v.doc #> "
 "'{results,outcome_measures}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS o(value, n), "
 "jsonb_array_elements((CASE jsonb_typeof(o.value -> 'analyses') WHEN 'array' THEN o.value -> 'analyses' "
 "ELSE '[]'::jsonb END)) WITH ORDINALITY AS a(value, n)",
 "CREATE OR REPLACE VIEW baseline_counts AS SELECT v.registry_id, v.source, v.version, 'overall'::text AS "
 "scope, NULL::bigint AS measure, NULL::text AS class_title, d.value ->> 'units' AS units, q.value ->> "
 "'group' AS group_id, q.value ->> 'value' AS count, (q.value ->> 'value_num')::bigint AS count_num FROM "
 "latest_version v, jsonb_array_elements((CASE jsonb_typeof(v.doc #> '{results,baseline,denoms}') WHEN "
 "'array' THEN v.doc #> '{results,baseline,denoms}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS d(value, n), "
 "jsonb_array_elements((CASE jsonb_typeof(d.value -> 'counts') WHEN 'array' THEN d.value -> 'counts' ELSE "
 "'[]'::jsonb END)) WITH ORDINALITY AS q(value, n) UNION ALL SELECT v.registry_id, v.source, v.version, "
 "'measure'::text AS scope, b.n AS measure, NULL::text AS class_title, d.value ->> 'units' AS units, q.value "
 "->> 'group' AS group_id, q.value ->> 'value' AS count, (q.value ->> 'value_num')::bigint AS count_num FROM "
 "latest_version v, jsonb_array_elements((CASE jsonb_typeof(v.doc #> '{results,baseline,measures}') WHEN "
 "'array' THEN v.doc #> '{results,baseline,measures}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS b(value, n), "
 "jsonb_array_elements((CASE jsonb_typeof(b.value -> 'denoms') WHEN 'array' THEN b.value -> 'denoms' ELSE "
 "'[]'::jsonb END)) WITH ORDINALITY AS d(value, n), jsonb_array_elements((CASE jsonb_typeof(d.value -> "
 "'counts') WHEN 'array' THEN d.value -> 'counts' ELSE '[]'::jsonb END)) WITH ORDINALITY AS q(value, n) "
 "UNION ALL SELECT v.registry_id, v.source, v.version, 'class'::text AS scope, b.n AS measure, c.value ->> "
 "'title' AS class_title, d.value ->> 'units' AS units, q.value ->> 'group' AS group_id, q.value ->> 'value' "
 "AS count, (q.value ->> 'value_num')::bigint AS count_num FROM latest_version v, jsonb_array_elements((CASE "
 "jsonb_typeof(v.doc #> '{results,baseline,measures}') WHEN 'array' THEN v.doc #> "
 "'{results,baseline,measures}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS b(value, n), "
 "jsonb_array_elements((CASE jsonb_typeof(b.value -> 'classes') WHEN 'array' THEN b.value -> 'classes' ELSE "
 "'[]'::jsonb END)) WITH ORDINALITY AS c(value, n), jsonb_array_elements((CASE jsonb_typeof(c.value -> "
 "'denoms') WHEN 'array' THEN c.value -> 'denoms' ELSE '[]'::jsonb END)) WITH ORDINALITY AS d(value, n), "
 "jsonb_array_elements((CASE jsonb_typeof(d.value -> 'counts') WHEN 'array' THEN d.value -> 'counts' ELSE "
 "'[]'::jsonb END)) WITH ORDINALITY AS q(value, n)",
 'CREATE OR REPLACE VIEW baseline_measurements AS SELECT v.registry_id, v.source, v.version, b.n AS measure, '
 "b.value ->> 'title' AS measure_title, c.value ->> 'title' AS class_title, k.value ->> 'title' AS "
 "category_title, m.value ->> 'group' AS group_id, m.value ->> 'value' AS value, (m.value ->> "
 "'value_num')::double precision AS value_num, m.value ->> 'spread' AS spread, (m.value ->> "
 "'spread_num')::double precision AS spread_num, m.value ->> 'lower_limit' AS lower_limit, (m.value ->> "
 "'lower_limit_num')::double precision AS lower_limit_num, m.value ->> 'upper_limit' AS upper_limit, "
 "(m.value ->> 'upper_limit_num')::double precision AS upper_limit_num, m.value ->> 'comment' AS comment, "
 "b.value ->> 'param_type' AS param_type, b.value ->> 'dispersion_type' AS dispersion_type, b.value ->> "
 "'unit' AS unit FROM latest_version v, jsonb_array_elements((CASE jsonb_typeof(v.doc #> "
 "'{results,baseline,measures}') WHEN 'array' THEN v.doc #> '{results,baseline,measures}' ELSE '[]'::jsonb "
 "END)) WITH ORDINALITY AS b(value, n), jsonb_array_elements((CASE jsonb_typeof(b.value -> 'classes') WHEN "
 "'array' THEN b.value -> 'classes' ELSE '[]'::jsonb END)) WITH ORDINALITY AS c(value, n), "
 "jsonb_array_elements((CASE jsonb_typeof(c.value -> 'categories') WHEN 'array' THEN c.value -> 'categories' "
 "ELSE '[]'::jsonb END)) WITH ORDINALITY AS k(value, n), jsonb_array_elements((CASE jsonb_typeof(k.value -> "
 "'measurements') WHEN 'array' THEN k.value -> 'measurements' ELSE '[]'::jsonb END)) WITH ORDINALITY AS "
 'm(value, n)',
 "CREATE OR REPLACE VIEW milestones AS SELECT v.registry_id, v.source, v.version, p.value ->> 'title' AS "
 "period, s.value ->> 'type' AS milestone, s.value ->> 'comment' AS milestone_comment, x.value ->> 'group' "
 "AS group_id, x.value ->> 'subjects' AS subjects, (x.value ->> 'subjects_num')::bigint AS subjects_num, "
 "x.value ->> 'units' AS units, (x.value ->> 'units_num')::bigint AS units_num, x.value ->> 'comment' AS "
 'comment FROM latest_version v, jsonb_array_elements((CASE jsonb_typeof(v.doc #> '
 "'{results,participant_flow,periods}') WHEN 'array' THEN v.doc #> '{results,participant_flow,periods}' ELSE "
 "'[]'::jsonb END)) WITH ORDINALITY AS p(value, n), jsonb_array_elements((CASE jsonb_typeof(p.value -> "
 "'milestones') WHEN 'array' THEN p.value -> 'milestones' ELSE '[]'::jsonb END)) WITH ORDINALITY AS s(value, "
 "n), jsonb_array_elements((CASE jsonb_typeof(s.value -> 'achievements') WHEN 'array' THEN s.value -> "
 "'achievements' ELSE '[]'::jsonb END)) WITH ORDINALITY AS x(value, n)",
 "CREATE OR REPLACE VIEW drop_withdrawals AS SELECT v.registry_id, v.source, v.version, p.value ->> 'title' "
 "AS period, s.value ->> 'type' AS reason, s.value ->> 'comment' AS reason_comment, x.value ->> 'group' AS "
 "group_id, x.value ->> 'subjects' AS subjects, (x.value ->> 'subjects_num')::bigint AS subjects_num, "
 "x.value ->> 'units' AS units, (x.value ->> 'units_num')::bigint AS units_num, x.value ->> 'comment' AS "
 'comment FROM latest_version v, jsonb_array_elements((CASE jsonb_typeof(v.doc #> '
 "'{results,participant_flow,periods}') WHEN 'array' THEN v.doc #> '{results,participant_flow,periods}' ELSE "
 "'[]'::jsonb END)) WITH ORDINALITY AS p(value, n), jsonb_array_elements((CASE jsonb_typeof(p.value -> "
 "'drop_withdraws') WHEN 'array' THEN p.value -> 'drop_withdraws' ELSE '[]'::jsonb END)) WITH ORDINALITY AS "
 "s(value, n), jsonb_array_elements((CASE jsonb_typeof(s.value -> 'reasons') WHEN 'array' THEN s.value -> "
 "'reasons' ELSE '[]'::jsonb END)) WITH ORDINALITY AS x(value, n)",
 "CREATE OR REPLACE VIEW reported_events AS SELECT v.registry_id, v.source, v.version, 'serious'::text AS "
 "event_type, e.value ->> 'term' AS term, e.value ->> 'organ_system' AS organ_system, e.value ->> "
 "'source_vocabulary' AS source_vocabulary, e.value ->> 'assessment_type' AS assessment_type, e.value ->> "
 "'notes' AS notes, x.value ->> 'group' AS group_id, (x.value ->> 'events')::bigint AS events, (x.value ->> "
 "'affected')::bigint AS affected, (x.value ->> 'at_risk')::bigint AS at_risk FROM latest_version v, "
 "jsonb_array_elements((CASE jsonb_typeof(v.doc #> '{results,adverse_events,serious}') WHEN 'array' THEN "
 "v.doc #> '{results,adverse_events,serious}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS e(value, n), "
 "jsonb_array_elements((CASE jsonb_typeof(e.value -> 'stats') WHEN 'array' THEN e.value -> 'stats' ELSE "
 "'[]'::jsonb END)) WITH ORDINALITY AS x(value, n) UNION ALL SELECT v.registry_id, v.source, v.version, "
 "'other'::text AS event_type, e.value ->> 'term' AS term, e.value ->> 'organ_system' AS organ_system, "
 "e.value ->> 'source_vocabulary' AS source_vocabulary, e.value ->> 'assessment_type' AS assessment_type, "
 "e.value ->> 'notes' AS notes, x.value ->> 'group' AS group_id, (x.value ->> 'events')::bigint AS events, "
 "(x.value ->> 'affected')::bigint AS affected, (x.value ->> 'at_risk')::bigint AS at_risk FROM "
 "latest_version v, jsonb_array_elements((CASE jsonb_typeof(v.doc #> '{results,adverse_events,other}') WHEN "
 "'array' THEN v.doc #> '{results,adverse_events,other}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS e(value, "
 "n), jsonb_array_elements((CASE jsonb_typeof(e.value -> 'stats') WHEN 'array' THEN e.value -> 'stats' ELSE "
 "'[]'::jsonb END)) WITH ORDINALITY AS x(value, n)",
 'CREATE OR REPLACE VIEW reported_event_totals AS SELECT v.registry_id, v.source, v.version, g.value ->> '
 "'id' AS group_id, (g.value ->> 'deaths_affected')::bigint AS deaths_affected, (g.value ->> "
 "'deaths_at_risk')::bigint AS deaths_at_risk, (g.value ->> 'serious_affected')::bigint AS serious_affected, "
 "(g.value ->> 'serious_at_risk')::bigint AS serious_at_risk, (g.value ->> 'other_affected')::bigint AS "
 "other_affected, (g.value ->> 'other_at_risk')::bigint AS other_at_risk FROM latest_version v, "
 "jsonb_array_elements((CASE jsonb_typeof(v.doc #> '{results,adverse_events,groups}') WHEN 'array' THEN "
 "v.doc #> '{results,adverse_events,groups}' ELSE '[]'::jsonb END)) WITH ORDINALITY AS g(value, n)")


def upgrade() -> None:
    bind = op.get_bind()
    for statement in POSTGRES_VIEWS if bind.dialect.name == "postgresql" else SQLITE_VIEWS:
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for view in reversed(VIEWS):
        bind.exec_driver_sql(f"DROP VIEW IF EXISTS {view}")
