"""Reparse: re-deriving records from the archive after a parser change (both stores)."""

import json

from sqlalchemy import text

from tests.fixtures import nct01342250 as fx
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.runs.reparse import reparse
from trialmirror.ingest.sources import ctgov, get_source
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo

NCT = "NCT01342250"


def _as_if_an_older_parser_made_it(store, status):
    """The stored version says ``status`` and an older parser version made it."""
    with store.transaction() as conn:
        row = conn.execute(text("SELECT record FROM version WHERE registry_id = :r"), {"r": NCT}).one()
        record = json.loads(row[0])
        record["status"]["overall"] = status
        conn.execute(text("UPDATE version SET record = :rec, parser_version = 1, overall_status = :s "
                          "WHERE registry_id = :r"), {"rec": json.dumps(record), "s": status, "r": NCT})
    from trialmirror.store.canonical import content_hash
    with store.transaction() as conn:
        conn.execute(text("UPDATE version SET content_hash = :h WHERE registry_id = :r"),
                     {"h": content_hash(record), "r": NCT})


def test_reparse_makes_a_version_only_where_the_record_changed(store, settings):
    Ingestor(settings, store).ingest_payload(get_source("ctgov"), NCT, json.dumps(fx.current()).encode(),
                                             FetchInfo("ctgov", NCT, "https://example.invalid/x", utcnow(), 0.0))
    assert reparse(store).skipped == 1  # made by the current parser: nothing to do
    _as_if_an_older_parser_made_it(store, "RECRUITING")
    result = reparse(store)
    assert (result.new_versions, result.unchanged, result.failed) == (1, 0, [])
    newest = store.version(NCT, "ctgov")
    assert newest.version == 2 and newest.produced_by == "reparse" and newest.overall_status == "COMPLETED"
    assert newest.parser_version == ctgov.PARSER_VERSION
    assert json.loads(newest.record)["source_url"] == "https://example.invalid/x"
    event = store.events()[-1]
    assert event.kind == "reparsed" and json.loads(event.data)["status"] == {"old": "RECRUITING",
                                                                            "new": "COMPLETED"}
    again = reparse(store, everything=True)
    assert (again.new_versions, again.unchanged) == (0, 1)  # the same output: no version
    assert len(store.versions(NCT, "ctgov")) == 2
