"""Many records, one commit (Store.batch): what a bulk page stores is what record-by-record
storing gives, each record's writes stay atomic, and the search index stays whole."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import text

from tests.fixtures import nct01342250 as fx
from trialmirror.ingest.runs.pipeline import Ingestor, Payload
from trialmirror.ingest.sources import get_source
from trialmirror.settings import Settings
from trialmirror.store import Store, search
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo

NCT = "NCT01342250"
SOURCE = get_source("ctgov")


def _payload(doc: dict, registry_id: str = NCT) -> Payload:
    return Payload(registry_id, json.dumps(doc).encode(), FetchInfo("ctgov", registry_id, None, utcnow(), 0.0))


def _titled(title: str, registry_id: str = NCT) -> dict:
    doc = copy.deepcopy(fx.current())
    doc["protocolSection"]["identificationModule"]["briefTitle"] = title
    doc["protocolSection"]["identificationModule"]["nctId"] = registry_id
    return doc


def _found(store: Store, words: str) -> list[str]:
    return [hit.registry_id for hit in store.search(words)]


def _fts_whole(store: Store) -> None:
    """FTS5's own check that the index says what search_doc holds (SQLite)."""
    if not store.is_postgres:
        with store.transaction() as conn:  # raises "database disk image is malformed" if not
            conn.execute(text("INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)"))


def test_a_page_with_two_versions_of_one_record_indexes_the_newer(store):
    ingestor = Ingestor(Settings(_env_file=None), store)
    pages = [_payload(_titled("Xylophone cord cells", "NCT90000001"), "NCT90000001"),
             _payload(_titled("Xylophone only")), _payload(_titled("Marimba cord cells")),
             _payload(_titled("Ocarina cord cells", "NCT90000002"), "NCT90000002")]
    results = ingestor.ingest_payloads(SOURCE, pages)

    assert [r.outcome for r in results] == ["new_version"] * 4
    assert [r.version for r in results] == [1, 1, 2, 1]  # NCT01342250 twice: versions 1 and 2
    assert json.loads(store.version(NCT, "ctgov").record)["titles"]["brief"] == "Marimba cord cells"
    assert _found(store, "xylophone") == ["NCT90000001"]  # the first title of NCT01342250 is forgotten
    assert _found(store, "marimba") == [NCT]
    _fts_whole(store)


def test_a_failed_write_inside_a_batch_is_undone_alone(store):
    record = SOURCE.parse(json.dumps(_titled("Glockenspiel study", "NCT90000003")).encode(), "NCT90000003")
    kept = SOURCE.parse(json.dumps(_titled("Celesta study", "NCT90000004")).encode(), "NCT90000004")
    data = record.model_dump(mode="json")
    with store.batch():
        with pytest.raises(RuntimeError), store.transaction() as conn:
            search.index(conn, store.is_postgres, data, "ctgov", 1, "2024-01-01")
            raise RuntimeError("the writer failed after indexing")
        store.put(kept, fetch=None, raw_sha256=None, searchable=True)

    assert _found(store, "glockenspiel") == []  # its search row and its FTS5 postings both undone
    assert _found(store, "celesta") == ["NCT90000004"]
    _fts_whole(store)


def test_a_batch_that_raises_stores_nothing_of_itself(store):
    record = SOURCE.parse(json.dumps(_titled("Theremin study", "NCT90000005")).encode(), "NCT90000005")
    with pytest.raises(RuntimeError), store.batch():
        store.put(record, fetch=None, raw_sha256=None, searchable=True)
        raise RuntimeError("the page's run stopped")
    with_versions = store.version("NCT90000005", "ctgov")
    if store.is_postgres:  # no batch there: each record's transaction committed on its own
        assert with_versions is not None and _found(store, "theremin") == ["NCT90000005"]
    else:
        assert with_versions is None and _found(store, "theremin") == []
        _fts_whole(store)


def test_every_payload_of_a_page_is_archived_before_one_is_parsed(store):
    """A page whose second record cannot be parsed: its bytes are kept, its failure logged,
    the others stored."""
    ingestor = Ingestor(Settings(_env_file=None), store)
    broken = Payload("NCT90000006", b'{"protocolSection": [', FetchInfo("ctgov", "NCT90000006", None, utcnow(), 0.0))
    results = ingestor.ingest_payloads(SOURCE, [_payload(fx.current()), broken,
                                                _payload(_titled("Bassoon", "NCT90000007"), "NCT90000007")])

    assert [r.outcome for r in results] == ["new_version", "error", "new_version"]
    assert "NCT90000006" in str(results[1].error)
    fetch = store.fetches("NCT90000006", "ctgov")[0]
    assert fetch.outcome == "error" and store.raw(fetch.raw_sha256) == b'{"protocolSection": ['


def test_ingesting_inside_a_batch_is_refused():
    """Parsing inside the batch that archives would parse bytes not yet committed."""
    store = Store("sqlite://")
    try:
        with store.batch(), pytest.raises(RuntimeError, match="archive commits"):
            Ingestor(Settings(_env_file=None), store).ingest_payloads(SOURCE, [_payload(fx.current())])
    finally:
        store.close()


def test_a_page_shared_among_writers_numbers_a_records_versions_in_page_order(store):
    """On PostgreSQL a page's records are stored by several threads (TRIALMIRROR_WRITERS):
    a record met several times in a page still gets its versions in the page's order,
    and the results come back in that order (on SQLite, one writer gives the same)."""
    ingestor = Ingestor(Settings(_env_file=None, writers=3), store)
    page = []
    for n in range(12):  # NCT01342250 every third item, the others each once
        page.append(_payload(_titled(f"Kalimba take {n}")) if n % 3 == 0 else
                    _payload(_titled(f"Sitar {n}", f"NCT9100{n:04d}"), f"NCT9100{n:04d}"))
    results = ingestor.ingest_payloads(SOURCE, page)

    assert [r.registry_id for r in results] == [p.registry_id for p in page]
    assert [r.version for r in results if r.registry_id == NCT] == [1, 2, 3, 4]
    assert [r.outcome for r in results] == ["new_version"] * 12
    assert json.loads(store.version(NCT, "ctgov").record)["titles"]["brief"] == "Kalimba take 9"
    assert _found(store, "kalimba") == [NCT] and len(_found(store, "sitar")) == 8
