"""The newest registry version of every record, page by page (what exports of the whole
registry read), is what the whole list says, as of any day."""

import json

from tests.fixtures import nct01342250 as fx
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.sources import REGISTRY, get_source
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo


def _put(ingestor, source, registry_id, doc, **kwargs):
    doc = json.loads(json.dumps(doc))
    study = doc.get("study", doc)  # a history version wraps the study
    study["protocolSection"]["identificationModule"]["nctId"] = registry_id
    info = FetchInfo(source, registry_id, None, utcnow(), 0.0, upstream_version=kwargs.pop("upstream", None))
    assert ingestor.ingest_payload(get_source(source), registry_id, json.dumps(doc).encode(), info, **kwargs).ok


def test_pages_of_any_size_give_each_record_once_with_its_newest_version(store, settings):
    ingestor = Ingestor(settings, store)
    ids = ["NCT00000101", "NCT00000102", "NCT01342250", "NCT09000001", "NCT09000002"]
    for registry_id in ids:
        _put(ingestor, "ctgov", registry_id, fx.current())
        for n in (0, 1):  # history versions: several rows of one record, across a page's edge
            _put(ingestor, "ctgov_history", registry_id, fx.history_version(n), produced_by="backfill",
                 valid_from=("2011-04-27", "2011-07-20")[n], upstream=n)
    whole = store.newest_registry_versions(REGISTRY)
    assert [r.registry_id for r in whole] == ids and {r.source for r in whole} == {"ctgov"}
    for size in (1, 2, 3, 5, 10):
        pages = list(store.newest_registry_pages(REGISTRY, page=size))
        assert [row for page in pages for row in page] == whole
        assert all(len(page) <= size for page in pages)
    then = [r for page in store.newest_registry_pages(REGISTRY, "2011-05-01", page=2) for r in page]
    assert [(r.registry_id, r.source, r.valid_from) for r in then] == [
        (registry_id, "ctgov_history", "2011-04-27") for registry_id in ids]
    assert store.count_newest(REGISTRY) == 5 and store.count_newest(REGISTRY, "2011-05-01") == 5
    assert store.count_newest(REGISTRY, "2000-01-01") == 0
    assert list(store.newest_registry_pages(REGISTRY, "2000-01-01")) == []
