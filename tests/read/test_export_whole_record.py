"""The whole record's new fields in the views, flat tables and exports (SQLite and
PostgreSQL): MeSH terms and branches, site zip and coordinates, references, officials,
the study's new scalar columns; es-bulk's geo points and the index mapping."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.fixtures import mesh_places as mp
from trialmirror.cli.main import main
from trialmirror.read import export
from trialmirror.read.flat import TABLES


@pytest.fixture
def filled(store):
    return mp.fill(store)


def _view(store, name):
    with store.transaction() as conn:
        result = conn.execute(text(f"SELECT * FROM {name}"))  # noqa: S608 (a fixed view name)
        assert list(result.keys()) == list(TABLES[name]), name  # the documented columns
        return [dict(zip(result.keys(), row, strict=True)) for row in result]


def _canonical(rows):
    return sorted((tuple(int(r[k]) if isinstance(r[k], bool) else r[k] for k in sorted(r)) for r in rows), key=repr)


def test_views_hold_the_flat_rows_of_the_whole_record(filled):
    flat = export.flat_tables(filled)
    for name in TABLES:
        assert _canonical(_view(filled, name)) == _canonical(flat[name]), name
    mesh = [r for r in flat["study_mesh"] if r["registry_id"] == mp.LIVER]
    assert sorted((r["kind"], r["level"], r["mesh_id"], r["term"]) for r in mesh) == [
        ("condition", "ancestor", "D004066", "Digestive System Diseases"),
        ("condition", "ancestor", "D008107", "Liver Diseases"),
        ("condition", "term", "D008103", "Liver Cirrhosis"),
        ("intervention", "ancestor", "D007004", "Hypoglycemic Agents"),
        ("intervention", "term", "D007328", "Insulin")]
    assert flat["study_browse_branch"] == [{"registry_id": mp.LIVER, "kind": "condition", "abbrev": "BC06",
                                            "name": "Digestive System Diseases"}]
    assert flat["study_reference"] == [{"registry_id": mp.LIVER, "pmid": "21129631", "type": "BACKGROUND",
                                        "citation": "Zhang Z, et al. Stem cells. 2011."}]
    assert [r["role"] for r in flat["study_official"]] == ["PRINCIPAL_INVESTIGATOR"]
    sites = {r["city"]: r for r in _view(filled, "study_site") if r["registry_id"] == mp.LIVER}
    assert (sites["Shanghai"]["zip"], sites["Shanghai"]["latitude"], sites["Shanghai"]["longitude"]) == (
        "200000", *mp.SHANGHAI)
    assert sites["Nowhere"]["latitude"] is None
    (study,) = [r for r in _view(filled, "study") if r["registry_id"] == mp.LIVER]
    assert bool(study["has_results"]) and bool(study["has_dmc"]) and study["fda_regulated_drug"] in (0, False)
    assert study["ipd_sharing"] == "NO" and study["patient_registry"] is None


def test_csv_and_parquet_carry_the_new_columns_typed(filled, tmp_path):
    counts = export.write_tables(filled, tmp_path / "parquet", "parquet")
    assert counts["study_mesh"] == 7 and counts["study_reference"] == 1 and counts["study_browse_branch"] == 1
    sites = pq.read_table(tmp_path / "parquet" / "study_site.parquet")
    assert str(sites.schema.field("latitude").type) == "double"
    shanghai = next(r for r in sites.to_pylist() if r["city"] == "Shanghai")
    assert (shanghai["latitude"], shanghai["longitude"], shanghai["zip"]) == (*mp.SHANGHAI, "200000")
    study = {r["registry_id"]: r for r in pq.read_table(tmp_path / "parquet" / "study.parquet").to_pylist()}
    assert study[mp.LIVER]["has_results"] is True and study[mp.LIVER]["fda_regulated_device"] is False
    export.write_tables(filled, tmp_path / "csv", "csv")
    header = (tmp_path / "csv" / "study_mesh.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "registry_id,kind,level,mesh_id,term"


def test_ndjson_and_es_bulk_carry_mesh_and_coordinates(filled):
    out = io.BytesIO()
    export.ndjson(filled, out)
    records = {r["registry_id"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert records[mp.LIVER]["mesh"]["conditions"]["ancestors"][0]["term"] == "Liver Diseases"
    assert records[mp.LIVER]["sites"][0]["latitude"] == mp.SHANGHAI[0]
    bulk = io.BytesIO()
    export.es_bulk(filled, bulk)
    lines = [json.loads(line) for line in bulk.getvalue().splitlines()]
    docs = {d["registry_id"]: d for d in lines[1::2]}
    assert docs[mp.LIVER]["site_locations"] == [{"lat": mp.SHANGHAI[0], "lon": mp.SHANGHAI[1]}]
    assert "site_locations" not in docs[mp.TEXT_ONLY]  # no coordinates: the record as stored
    assert {k: v for k, v in docs[mp.LIVER].items() if k != "site_locations"} == records[mp.LIVER]


def test_the_es_mapping_maps_site_points_and_mesh_terms(tmp_path):
    target = tmp_path / "mapping.json"
    result = CliRunner().invoke(main, ["export", "--format", "es-mapping", "-o", str(target)],
                                env={"TRIALMIRROR_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"})
    assert result.exit_code == 0, result.output
    properties = json.loads(target.read_text())["mappings"]["properties"]
    assert properties["site_locations"] == {"type": "geo_point"}
    terms = properties["mesh"]["properties"]["conditions"]["properties"]["ancestors"]["properties"]
    assert terms == {"id": {"type": "keyword"}, "term": {"type": "keyword"}}
    assert not (tmp_path / "none.db").exists()  # no store needed, none made
