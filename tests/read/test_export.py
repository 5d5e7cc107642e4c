"""Exports round-trip, and the SQL views hold the same rows as the flat tables."""

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

from tests.fixtures import nct01342250 as fx
from tests.fixtures.corpus_store import fill
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.sources import REGISTRY, get_source
from trialmirror.models.record import Record
from trialmirror.read import export
from trialmirror.read.flat import TABLES
from trialmirror.store import Store
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo

NCT = "NCT01342250"


@pytest.fixture(scope="module")
def corpus_store(corpus_dir, tmp_path_factory):
    store = fill(Store(f"sqlite:///{tmp_path_factory.mktemp('export') / 'corpus.db'}"), corpus_dir)
    yield store
    store.close()


def _put(store, settings, source, doc, **kwargs):
    info = FetchInfo(source, NCT, None, utcnow(), 0.0, upstream_version=kwargs.pop("upstream", None))
    assert Ingestor(settings, store).ingest_payload(get_source(source), NCT, json.dumps(doc).encode(),
                                                    info, **kwargs).ok


def _with_history(store, settings):
    for number, day, _, _ in fx.HISTORY:
        _put(store, settings, "ctgov_history", fx.history_version(number), produced_by="backfill",
             valid_from=day, upstream=number)
    _put(store, settings, "ctgov", fx.current())


def _view_rows(store, name):
    with store.transaction() as conn:
        result = conn.execute(text(f"SELECT * FROM {name}"))  # noqa: S608 (a fixed view name)
        assert list(result.keys()) == list(TABLES[name]), name  # the documented columns
        return [dict(zip(result.keys(), row, strict=True)) for row in result]


def _canonical(rows):
    def cell(value):
        return int(value) if isinstance(value, bool) else value
    return sorted((tuple(cell(r[k]) for k in sorted(r)) for r in rows), key=repr)


def test_views_hold_the_flat_rows(store, settings):
    _with_history(store, settings)
    flat = export.flat_tables(store)
    for name in TABLES:
        assert _canonical(_view_rows(store, name)) == _canonical(flat[name]), name
    assert len(flat["study_arm"]) == 3 and flat["study_outcome"] == []  # none established


@pytest.mark.corpus
def test_views_hold_the_flat_rows_over_the_corpus(corpus_store):
    flat = export.flat_tables(corpus_store)
    for name in TABLES:
        assert _canonical(_view_rows(corpus_store, name)) == _canonical(flat[name]), name


@pytest.mark.corpus
def test_ndjson_reads_back_as_the_stored_records(corpus_store):
    out = io.BytesIO()
    count = export.ndjson(corpus_store, out)
    lines = out.getvalue().decode().splitlines()
    assert count == len(lines) == 972
    newest = {r.registry_id: r for r in corpus_store.newest_registry_versions(REGISTRY)}
    for line in lines[:: 37]:
        record = Record.model_validate_json(line)
        stored = corpus_store.version(record.registry_id, "ctgov", newest[record.registry_id].version)
        assert json.loads(line) == json.loads(stored.record)


def test_as_of_exports_the_state_of_that_day(store, settings):
    _with_history(store, settings)
    out = io.BytesIO()
    export.ndjson(store, out, as_of="2011-08-01")
    (record,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert record["status"]["overall"] == "ACTIVE_NOT_RECRUITING" and record["source"] == "ctgov_history"


def test_es_bulk_is_valid_bulk_ndjson_and_moves_a_cursor(store, settings):
    _with_history(store, settings)
    out = io.BytesIO()
    count, cursor = export.es_bulk(store, out, after=0, index="trials")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == 1 and len(lines) == 2 * count
    action, document = lines
    assert action == {"index": {"_index": "trials", "_id": NCT}}
    assert document["status"]["overall"] == "COMPLETED"
    assert cursor == max(e.seq for e in store.events())
    again = io.BytesIO()
    assert export.es_bulk(store, again, after=cursor) == (0, cursor) and again.getvalue() == b""
    _put(store, settings, "ctgov", fx.earlier())  # the record changes: it is sent again
    assert export.es_bulk(store, io.BytesIO(), after=cursor)[0] == 1


def test_csv_and_parquet_tables(store, settings, tmp_path):
    _with_history(store, settings)
    counts = export.write_tables(store, tmp_path / "csv", "csv")
    with (tmp_path / "csv" / "study_criterion.csv").open(encoding="utf-8") as handle:
        criteria = list(csv.DictReader(handle))
    assert len(criteria) == counts["study_criterion"] == len(fx.INCLUSION) + len(fx.EXCLUSION)
    assert criteria[0] == {"registry_id": NCT, "kind": "inclusion", "position": "1",
                           "text": fx.INCLUSION[0]}
    assert counts["versions"] == 4 and counts["changes"] == 4
    assert {k: len(v) for k, v in export.flat_tables(store).items()} == counts  # streamed = in memory
    export.write_tables(store, tmp_path / "parquet", "parquet")
    study = pq.read_table(tmp_path / "parquet" / "study.parquet").to_pylist()
    assert study[0]["registry_id"] == NCT and study[0]["enrollment_count"] == 20
    assert study[0]["phases"] == "PHASE1|PHASE2" and study[0]["healthy_volunteers"] is False
    outcomes = pq.read_table(tmp_path / "parquet" / "study_outcome.parquet")
    assert outcomes.num_rows == 0 and outcomes.schema.names == list(TABLES["study_outcome"])
