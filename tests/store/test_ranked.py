"""The ranked search index (store/ranked.py): derived from the store, never a stale or
missing answer when it falls behind or cannot be used."""

import json
import logging
import sqlite3
import time

import tantivy

from tests.fixtures import nct01342250 as fx
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.sources import REGISTRY, get_source
from trialmirror.store import Store, ranked
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo

NCT = "NCT01342250"


def _put(store, settings, doc, registry_id=NCT):
    doc = json.loads(json.dumps(doc))
    doc["protocolSection"]["identificationModule"]["nctId"] = registry_id
    info = FetchInfo("ctgov", registry_id, None, utcnow(), 0.0)
    result = Ingestor(settings, store).ingest_payload(get_source("ctgov"), registry_id,
                                                      json.dumps(doc).encode(), info)
    assert result.ok


def _retitled(title):
    doc = fx.current()
    doc["protocolSection"]["identificationModule"]["briefTitle"] = title
    return doc


def test_a_sqlite_store_keeps_its_index_beside_its_file_and_it_follows_every_change(tmp_path, settings):
    store = Store(f"sqlite:///{tmp_path / 'one.db'}")
    _put(store, settings, fx.earlier())
    assert [(h.registry_id, h.status) for h in store.search("umbilical")] == [(NCT, "RECRUITING")]
    assert (tmp_path / "one.db.search").is_dir()
    _put(store, settings, _retitled("Zebrafish husbandry and umbilical cords"))
    assert [h.status for h in store.search("zebrafish")] == ["COMPLETED"]
    assert store.search("umbilical", status="RECRUITING") == []
    _put(store, settings, fx.current(), registry_id="NCT09999999")
    assert {h.registry_id for h in store.search("umbilical")} == {NCT, "NCT09999999"}
    assert [h.registry_id for h in store.search("zebrafish")] == [NCT]
    store.close()
    reopened = Store(f"sqlite:///{tmp_path / 'one.db'}")  # the index's place in the log survives
    assert [h.registry_id for h in reopened.search("zebrafish")] == [NCT]
    reopened.close()


def test_a_replaced_database_is_never_answered_from_the_old_index(tmp_path, settings):
    path = tmp_path / "one.db"
    store = Store(f"sqlite:///{path}")
    _put(store, settings, _retitled("Zebrafish husbandry"))
    assert store.search("zebrafish")
    store.close()
    for leftover in tmp_path.glob("one.db*"):
        if leftover.is_file():
            leftover.unlink()
    store = Store(f"sqlite:///{path}")  # a new database where the old one was; its index remains
    _put(store, settings, fx.current())
    assert store.search("zebrafish") == []
    assert [h.registry_id for h in store.search("umbilical")] == [NCT]
    store.close()


def test_a_reindex_rebuilds_it(store, settings):
    _put(store, settings, fx.current())
    assert store.reindex(REGISTRY) == 1
    assert [h.registry_id for h in store.search("umbilical")] == [NCT]
    assert store.catch_up_search() == 0  # the search above rebuilt it


def test_an_index_that_cannot_be_made_leaves_the_search_to_the_store(tmp_path, settings, caplog):
    (tmp_path / "one.db.search").write_text("not a folder")  # as on read-only media
    store = Store(f"sqlite:///{tmp_path / 'one.db'}")
    _put(store, settings, fx.current())
    with caplog.at_level(logging.WARNING):
        assert [h.registry_id for h in store.search("umbilical")] == [NCT]
        assert [h.registry_id for h in store.search("cords")] == [NCT]
    said = [r.getMessage() for r in caplog.records if "search index" in r.getMessage()]
    assert len(said) == 1 and "own ranking answers" in said[0]
    assert store.catch_up_search() == 0
    store.close()


def test_a_damaged_index_is_built_again(tmp_path, settings):
    store = Store(f"sqlite:///{tmp_path / 'one.db'}")
    _put(store, settings, fx.current())
    assert store.search("umbilical")
    store.close()
    (tmp_path / "one.db.search" / "meta.json").write_text("{ damaged")
    store = Store(f"sqlite:///{tmp_path / 'one.db'}")
    assert [h.registry_id for h in store.search("umbilical")] == [NCT]
    store.close()


def test_while_another_process_writes_the_index_a_search_is_still_current(tmp_path, settings):
    store = Store(f"sqlite:///{tmp_path / 'one.db'}")
    _put(store, settings, fx.current())
    assert store.search("umbilical")
    holder = tantivy.Index.open(str(tmp_path / "one.db.search")).writer(15_000_000, 1)  # its lock file
    try:
        _put(store, settings, _retitled("Zebrafish husbandry"))
        assert [h.registry_id for h in store.search("zebrafish")] == [NCT]  # by the store's ranking
    finally:
        holder.rollback()
        holder.wait_merging_threads()
    assert store.catch_up_search() == 1
    assert [h.registry_id for h in store.search("zebrafish")] == [NCT]
    store.close()


def test_far_behind_a_search_is_answered_by_the_store_while_a_thread_catches_up(tmp_path, settings, monkeypatch):
    """As a server whose store another process or host writes: no command of its own
    brings the index up to date."""
    store = Store(f"sqlite:///{tmp_path / 'one.db'}")
    _put(store, settings, fx.current())
    monkeypatch.setattr(ranked, "SEARCH_CATCH_UP", 0)  # any wait is too long
    # The store's BM25 gives a word in every record (one of one) next to nothing; the
    # index's does not: which one answered shows in the score.
    (first,) = store.search("umbilical")
    assert first.registry_id == NCT and first.score < 0.01
    deadline = time.monotonic() + 30
    while store.search("umbilical")[0].score < 0.01:
        assert time.monotonic() < deadline, "the index was not brought up to date"
        time.sleep(0.05)
    _put(store, settings, _retitled("Zebrafish husbandry"))  # one behind: still too many to wait for
    assert [h.registry_id for h in store.search("zebrafish")] == [NCT]
    store.close()


def test_building_it_keeps_no_writer_waiting(tmp_path, settings, monkeypatch):
    """A full build reads the whole registry (minutes at 580,000 records): another
    process writes meanwhile, instead of waiting for it and then failing."""
    path = tmp_path / "one.db"
    store = Store(f"sqlite:///{path}")
    _put(store, settings, fx.current())
    wrote = []
    document = ranked._document

    def and_another_writer(row):  # in the middle of the build
        other = sqlite3.connect(path, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO store_meta (key, value) VALUES ('elsewhere', 'written')")
            other.execute("COMMIT")
            wrote.append(True)
        finally:
            other.close()
        return document(row)

    monkeypatch.setattr(ranked, "_document", and_another_writer)
    assert store.catch_up_search() == 1 and wrote == [True]
    store.close()


def test_what_another_process_wrote_into_it_is_not_written_again(tmp_path, settings):
    """The API server's index and the sync command's are one folder: the server reads it
    as the sync left it."""
    url = f"sqlite:///{tmp_path / 'one.db'}"
    server, sync = Store(url), Store(url)
    _put(sync, settings, fx.current())
    assert sync.catch_up_search() == 1
    assert [h.registry_id for h in server.search("umbilical")] == [NCT]
    _put(sync, settings, _retitled("Zebrafish husbandry"))
    assert sync.catch_up_search() == 1
    assert server.catch_up_search() == 0  # up to date already
    assert [h.registry_id for h in server.search("zebrafish")] == [NCT]
    server.close()
    sync.close()
