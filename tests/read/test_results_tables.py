"""The results section as flat tables and SQL views (issue 16): the views hold the flat rows
on SQLite and PostgreSQL, over the corpus records with results too; every table has a row
per fact of the source JSON, with the registry's values; CSV and Parquet carry them typed;
the answer the README states for its results example is the data's."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.fixtures import results_record as rr
from trialmirror.cli.main import main
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.sources import ctgov, get_source
from trialmirror.models.results_tables import TABLES
from trialmirror.read import export, results_flat
from trialmirror.settings import Settings
from trialmirror.store import Store
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def results_docs(corpus_dir: Path) -> dict[str, bytes]:
    """The corpus documents that have a results section (78), by NCT id."""
    docs = {p.stem: p.read_bytes() for p in sorted((corpus_dir / "ctgov_v2").glob("NCT*.json"))}
    return {nct: raw for nct, raw in docs.items() if b'"resultsSection"' in raw}


def _ingest(store: Store, docs: dict[str, bytes]) -> Store:
    ingestor, source = Ingestor(Settings(_env_file=None), store), get_source("ctgov")
    for nct, raw in docs.items():
        assert ingestor.ingest_payload(source, nct, raw, FetchInfo("ctgov", nct, None, utcnow(), 0.0)).ok
    return store


def _view(store: Store, name: str) -> list[dict[str, Any]]:
    with store.transaction() as conn:
        result = conn.execute(text(f"SELECT * FROM {name}"))  # noqa: S608 (a fixed view name)
        assert list(result.keys()) == list(export.TABLES[name]), name  # the documented columns
        return [dict(zip(result.keys(), row, strict=True)) for row in result]


def _canonical(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((tuple(int(r[k]) if isinstance(r[k], bool) else r[k] for k in sorted(r)) for r in rows), key=repr)


def test_the_views_hold_the_flat_rows_of_a_record_with_results(store):
    flat = export.flat_tables(rr.put(store))
    for table in TABLES:
        assert flat[table.name], table.name  # the record has rows in every table
        assert _canonical(_view(store, table.name)) == _canonical(flat[table.name]), table.name
    (bound, exact) = sorted(_view(store, "outcome_analyses"), key=lambda r: r["analysis"])
    assert (bound["p_value"], bound["p_value_num"], bound["p_value_modifier"]) == ("<0.001", 0.001, "<")
    assert bound["groups"] == "OG000|OG001" and bound["ci_upper_limit"] == "NA" and bound["ci_upper_limit_num"] is None
    assert (exact["analysis"], exact["p_value_num"], exact["p_value_modifier"]) == (2, 0.2, None)
    assert {(r["registry_id"], r["source"], r["version"]) for t in TABLES for r in flat[t.name]} == {
        (rr.NCT, "ctgov", 1)}


def test_a_record_without_results_has_no_results_rows(store):
    store.put(rr.record().model_copy(update={"results": None}), fetch=None, raw_sha256=None, searchable=True)
    assert all(_view(store, table.name) == [] for table in TABLES)


@pytest.mark.corpus
def test_the_views_hold_the_flat_rows_over_the_corpus_records_with_results(store, results_docs):
    flat = export.flat_tables(_ingest(store, results_docs))
    for table in TABLES:
        view = _view(store, table.name)
        assert view, table.name
        assert _canonical(view) == _canonical(flat[table.name]), table.name
    assert {r["registry_id"] for r in flat["outcomes"]} == set(results_docs) and len(results_docs) == 78


def _cells(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for c in node.get("classes", []) for k in c.get("categories", []) for m in k.get("measurements", [])]


def _denoms(node: dict[str, Any]) -> int:
    return sum(len(d.get("counts", [])) for d in node.get("denoms", []))


def _source_counts(doc: dict[str, Any]) -> dict[str, int]:
    """How many facts of each table the registry's JSON holds."""
    res = doc["resultsSection"]
    flow, base = res.get("participantFlowModule", {}), res.get("baselineCharacteristicsModule", {})
    outcomes, ae = res.get("outcomeMeasuresModule", {}).get("outcomeMeasures", []), res.get("adverseEventsModule", {})
    periods, measures = flow.get("periods", []), base.get("measures", [])
    counts = {
        "result_groups": sum(len(m.get("groups", [])) for m in (flow, base, *outcomes))
        + len(ae.get("eventGroups", [])),
        "outcomes": len(outcomes),
        "outcome_counts": sum(_denoms(o) + sum(_denoms(c) for c in o.get("classes", [])) for o in outcomes),
        "outcome_measurements": sum(len(_cells(o)) for o in outcomes),
        "outcome_analyses": sum(len(o.get("analyses", [])) for o in outcomes),
        "baseline_counts": _denoms(base) + sum(_denoms(m) + sum(_denoms(c) for c in m.get("classes", []))
                                               for m in measures),
        "baseline_measurements": sum(len(_cells(m)) for m in measures),
        "milestones": sum(len(s.get("achievements", [])) for p in periods for s in p.get("milestones", [])),
        "drop_withdrawals": sum(len(s.get("reasons", [])) for p in periods for s in p.get("dropWithdraws", [])),
        "reported_events": sum(len(e.get("stats", [])) for k in ("seriousEvents", "otherEvents")
                               for e in ae.get(k, [])),
        "reported_event_totals": len(ae.get("eventGroups", [])),
    }
    return {name: n for name, n in counts.items() if n}


def _rows(raw: bytes, nct: str) -> list[tuple[str, dict[str, Any]]]:
    return list(results_flat.rows(ctgov.parse(raw, nct).model_dump(mode="json"), "ctgov", 1))


def _text(value: Any) -> str | None:
    return value or None  # an empty text is null in the record


@pytest.mark.corpus
def test_each_table_has_a_row_for_each_fact_of_the_source(results_docs):
    """Outcome measures, analyses, measurements, milestones, events ... of each record with
    results, counted in the registry's JSON, and rows of their tables counted."""
    totals: Counter[str] = Counter()
    for nct, raw in results_docs.items():
        rows = _rows(raw, nct)
        assert dict(Counter(name for name, _ in rows)) == _source_counts(json.loads(raw)), nct
        totals.update(name for name, _ in rows)
    assert totals["outcome_analyses"] == 837 and totals["reported_events"] == 9902


@pytest.mark.corpus
def test_the_rows_hold_the_registrys_values_in_its_order(results_docs):
    """Every outcome measurement and every event count, value by value against the JSON."""
    for nct, raw in results_docs.items():
        doc, rows = json.loads(raw)["resultsSection"], _rows(raw, nct)
        outcomes = doc.get("outcomeMeasuresModule", {}).get("outcomeMeasures", [])
        expected = [(n, m.get("groupId"), _text(m.get("value")), _text(m.get("spread")), _text(m.get("lowerLimit")),
                     _text(m.get("upperLimit"))) for n, o in enumerate(outcomes, 1) for m in _cells(o)]
        got = [(r["outcome"], r["group_id"], r["value"], r["spread"], r["lower_limit"], r["upper_limit"])
               for name, r in rows if name == "outcome_measurements"]
        assert got == expected, nct
        ae = doc.get("adverseEventsModule", {})
        expected = [(kind, e.get("term"), s.get("groupId"), s.get("numEvents"), s.get("numAffected"),
                     s.get("numAtRisk")) for kind, key in (("serious", "seriousEvents"), ("other", "otherEvents"))
                    for e in ae.get(key, []) for s in e.get("stats", [])]
        got = [(r["event_type"], r["term"], r["group_id"], r["events"], r["affected"], r["at_risk"])
               for name, r in rows if name == "reported_events"]
        assert got == expected, nct


@pytest.mark.corpus
def test_a_p_value_written_as_a_bound_and_groups_linked_to_arms(results_docs):
    rows = _rows(results_docs["NCT00422734"], "NCT00422734")
    first = next(r for name, r in rows if name == "outcome_analyses")
    assert (first["p_value"], first["p_value_num"], first["p_value_modifier"]) == ("<0.001", 0.001, "<")
    groups = {(r["kind"], r["group_id"]): r for name, r in _rows(results_docs["NCT00931528"], "NCT00931528")
              if name == "result_groups"}
    assert groups["adverse_events", "EG000"]["title"] == groups["adverse_events", "EG000"]["arm"] == "Tadalafil"
    age = next(r for name, r in _rows(results_docs["NCT00084552"], "NCT00084552") if name == "baseline_measurements")
    assert (age["measure_title"], age["group_id"], age["value_num"], age["lower_limit_num"], age["upper_limit_num"],
            age["param_type"], age["dispersion_type"], age["unit"]) == (
        "Age, Continuous", "BG000", 61.0, 47.0, 75.0, "MEDIAN", "FULL_RANGE", "years")
    assert [r["title"] for name, r in _rows(results_docs["NCT00084552"], "NCT00084552")
            if name == "result_groups" and r["kind"] == "adverse_events" and r["arm"] is None] == [
        "s-IMRT", "ETS-IMRT"]  # the arms are "Arm I" and "Arm II": unlinked, never guessed


def test_csv_and_parquet_exports_carry_the_results_tables_typed(tmp_path):
    store = rr.put(Store(f"sqlite:///{tmp_path / 'store.db'}"))
    try:
        counts = export.write_tables(store, tmp_path / "parquet", "parquet")
        assert {t.name: counts[t.name] for t in TABLES} == {t.name: len(v) for t in TABLES
                                                           for v in [export.flat_tables(store)[t.name]]}
        analyses = pq.read_table(tmp_path / "parquet" / "outcome_analyses.parquet")
        types = {f.name: str(f.type) for f in analyses.schema}
        assert analyses.schema.names == list(export.TABLES["outcome_analyses"])
        assert (types["outcome"], types["p_value"], types["p_value_num"], types["tested_non_inferiority"]) == (
            "int64", "string", "double", "bool")
        first = min(analyses.to_pylist(), key=lambda r: r["analysis"])
        assert (first["p_value"], first["p_value_num"], first["tested_non_inferiority"]) == ("<0.001", 0.001, False)
        totals = pq.read_table(tmp_path / "parquet" / "reported_event_totals.parquet").to_pylist()
        assert [(r["group_id"], r["deaths_affected"], r["serious_at_risk"]) for r in totals] == [
            ("EG000", 0, 40), ("EG001", 1, 38)]
    finally:
        store.close()
    result = CliRunner().invoke(main, ["--database-url", f"sqlite:///{tmp_path / 'store.db'}", "export",
                                       "--format", "csv", "-o", str(tmp_path / "csv")])
    assert result.exit_code == 0, result.output
    assert "outcome_analyses: 2" in result.output and "reported_events: 4" in result.output
    with (tmp_path / "csv" / "outcome_measurements.csv").open(encoding="utf-8") as handle:
        cells = list(csv.DictReader(handle))
    assert list(cells[0]) == list(export.TABLES["outcome_measurements"])
    assert [(c["group_id"], c["value"], c["value_num"]) for c in cells] == [("OG000", "-4.2", "-4.2"),
                                                                           ("OG001", "NA", "")]


# --- the README's results example ---------------------------------------------------------

def _readme_example() -> tuple[list[str], list[list[str]]]:
    """The ids the README's corpus example syncs, and the rows each of its queries shows."""
    body = re.search(r"<!-- tested: corpus -->\n```console\n(.*?)```", README.read_text(encoding="utf-8"), re.S)[1]
    ids = re.search(r"^\$ trialmirror sync (.*)$", body, re.M)[1].split()
    answers = [[line for line in part.rsplit('"\n', 1)[1].splitlines() if line]
               for part in body.split("$ sqlite3 ")[1:]]
    return ids, answers


def _mesh_terms(doc: dict[str, Any]) -> set[str]:
    browse = doc.get("derivedSection", {}).get("conditionBrowseModule", {})
    return {m["term"] for m in browse.get("meshes", []) + browse.get("ancestors", [])}


@pytest.mark.corpus
def test_the_readme_states_the_datas_answer(results_docs):
    """The README's serious adverse event rates and primary p-values, computed here from the
    registry's JSON (not from the views the example runs)."""
    ids, (rates, p_values) = _readme_example()
    docs = {nct: json.loads(raw) for nct, raw in results_docs.items()}
    assert ids == [nct for nct, doc in docs.items() if "Prostatic Neoplasms" in _mesh_terms(doc)]
    expected = []
    for nct in ids:
        for g in docs[nct]["resultsSection"]["adverseEventsModule"]["eventGroups"]:
            affected, at_risk = g["seriousNumAffected"], g["seriousNumAtRisk"]
            if at_risk:
                expected.append(f"{nct}|{g['title']}|{affected}|{at_risk}|{round(100 * affected / at_risk, 1)}")
    assert rates == expected
    expected = []
    for nct in ids:
        outcomes = docs[nct]["resultsSection"].get("outcomeMeasuresModule", {}).get("outcomeMeasures", [])
        for n, outcome in enumerate(outcomes, 1):
            for a, analysis in enumerate(outcome.get("analyses", []), 1):
                p_value = analysis.get("pValue", "")
                if outcome["type"] == "PRIMARY" and re.fullmatch(r"<?\s*0?\.\d+", p_value) \
                        and float(p_value.lstrip("< ")) < 0.05:
                    expected.append(f"{nct}|{n}|{a}|{p_value}|{analysis['statisticalMethod']}")
    assert p_values == expected == ["NCT00931528|1|4|0.0467|Regression, Logistic",
                                    "NCT00931528|1|5|0.0068|Regression, Logistic"]
