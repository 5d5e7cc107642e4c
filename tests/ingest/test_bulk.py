"""Bulk sync against a local paged registry of SYNTHETIC records (see
tests/fixtures/paged_registry.py): full, incremental, resumed, complete."""

import datetime as dt

import pytest
from sqlalchemy import text

from tests.fixtures.paged_registry import PagedRegistry
from trialmirror.errors import RetryLaterError
from trialmirror.ingest.runs.bulk import bulk_sync
from trialmirror.ingest.runs.pipeline import Ingestor


@pytest.fixture
def ingestor(settings, store):
    def make(base_url):
        local = settings.model_copy(update={"ctgov_base_url": base_url, "max_retries": 0})
        return Ingestor(local, store)
    return make


def _count(store, sql):
    with store.transaction() as conn:
        return conn.execute(text(sql)).scalar()


@pytest.mark.corpus
def test_a_full_load_then_an_incremental_one_stores_exactly_the_changes(corpus_dir, store, ingestor):
    with PagedRegistry(corpus_dir, 2_500) as registry:
        first = bulk_sync(ingestor(registry.base_url), page_size=500)
        assert first.complete and (first.total_count, first.stored, first.records) == (2_500, 2_500, 2_500)
        assert first.pages == 5 and registry.page_offsets()[-1] == 2_500  # the empty page after a full one
        today = dt.date.today().isoformat()
        changed = sorted(registry.records)[::50]  # 50 records get a new state today
        for registry_id in changed:
            registry.edit(registry_id, today)
        asked = len(registry.requests)
        second = bulk_sync(ingestor(registry.base_url), page_size=500, incremental=True)
        assert second.since is not None and second.since <= today
        assert second.records == len(changed) and second.outcomes == {"new_version": len(changed)}
        assert "filter.advanced" in registry.requests[asked]
    assert _count(store, "SELECT count(*) FROM version WHERE source = 'ctgov'") == 2_500 + len(changed)
    assert _count(store, "SELECT count(DISTINCT registry_id) FROM version") == 2_500


@pytest.mark.corpus
def test_an_interrupted_load_resumes_without_refetching_stored_pages(corpus_dir, store, ingestor):
    with PagedRegistry(corpus_dir, 1_000) as registry:
        sync = ingestor(registry.base_url)
        pages = []
        registry.failures = []

        def fail_after_two(result):
            pages.append(result.pages)
            if result.pages == 2:
                registry.failures.append(503)  # the third page request fails

        with pytest.raises(RetryLaterError):
            bulk_sync(sync, page_size=200, on_page=fail_after_two)
        assert _count(store, "SELECT count(*) FROM version") == 400
        asked = len(registry.requests)
        resumed = bulk_sync(sync, page_size=200)
        assert resumed.resumed and resumed.complete and resumed.stored == 1_000
        assert 0 not in registry.page_offsets()[asked:]  # no stored page asked for again
        assert registry.page_offsets()[asked] == 400
    assert _count(store, "SELECT count(*) FROM version") == 1_000


@pytest.mark.corpus
def test_a_refused_page_token_restarts_from_the_date_checkpoint(corpus_dir, store, ingestor):
    with PagedRegistry(corpus_dir, 600) as registry:
        sync = ingestor(registry.base_url)

        def refuse_tokens(result):
            registry.refuse_tokens = result.pages == 1

        done = bulk_sync(sync, page_size=200, on_page=refuse_tokens)
        assert done.stored == 600 and _count(store, "SELECT count(*) FROM version") == 600
        assert any("filter.advanced" in p for p in registry.requests)  # went on by date


@pytest.mark.corpus
def test_vanished_and_merged_records_become_events(corpus_dir, store, ingestor):
    with PagedRegistry(corpus_dir, 300) as registry:
        sync = ingestor(registry.base_url)
        assert bulk_sync(sync, page_size=100).complete
        ids = sorted(registry.records)
        gone, survivor = ids[:2], ids[2]
        for registry_id in gone:
            del registry.records[registry_id]
        registry.records[survivor][3].append(gone[0])  # gone[0] lives on as an alias of survivor
        registry.edit(survivor, "2024-01-01")
        second = bulk_sync(sync, page_size=100)
        again = bulk_sync(sync, page_size=100)  # nothing new: the events are not repeated
    assert second.merged == [(gone[0], survivor)] and set(second.vanished) == set(gone)
    assert again.vanished == [] and again.merged == []
    kinds = {(e.registry_id, e.kind) for e in store.events() if e.kind in ("vanished", "merged")}
    assert kinds == {(gone[0], "merged"), (gone[0], "vanished"), (gone[1], "vanished")}


@pytest.mark.corpus
def test_a_vanished_record_listed_again_reappears_once_and_can_vanish_again(corpus_dir, store, ingestor):
    with PagedRegistry(corpus_dir, 200) as registry:
        sync = ingestor(registry.base_url)
        assert bulk_sync(sync, page_size=100).complete
        rid = sorted(registry.records)[5]
        kept = registry.records.pop(rid)
        assert bulk_sync(sync, page_size=100).vanished == [rid]
        assert store.vanished("ctgov") == [rid]
        registry.records[rid] = kept  # listed again, unchanged: no new version says so
        back = bulk_sync(sync, page_size=100)
        assert back.reappeared == [rid] and back.outcomes == {"unchanged": 200}
        assert store.vanished("ctgov") == []
        assert bulk_sync(sync, page_size=100).reappeared == []  # said once
        del registry.records[rid]
        assert bulk_sync(sync, page_size=100).vanished == [rid]  # and it can go again
    listing = [e.kind for e in store.events() if e.registry_id == rid and e.kind in ("vanished", "reappeared")]
    assert listing == ["vanished", "reappeared", "vanished"]
    assert len({e.version for e in store.events() if e.registry_id == rid}) == 1  # one version throughout


@pytest.mark.corpus
def test_sync_all_on_the_command_line_and_its_completeness_gate(corpus_dir, settings):
    import json

    from click.testing import CliRunner

    from trialmirror.cli.main import main

    with PagedRegistry(corpus_dir, 150) as registry:
        env = {"TRIALMIRROR_DATABASE_URL": settings.database_url, "TRIALMIRROR_MAX_RETRIES": "0",
               "TRIALMIRROR_CTGOV_BASE_URL": registry.base_url, "TRIALMIRROR_MAX_REQUESTS_PER_SECOND": "1000"}
        run = lambda *args: CliRunner().invoke(main, list(args), env=env)  # noqa: E731
        first = run("sync", "--all", "--json")
        assert first.exit_code == 0, first.stderr
        report = json.loads(first.stdout)
        assert report["complete"] and report["stored"] == report["total_count"] == 150
        # A record the parser refuses: a study that names no id (drift alone never is).
        serve = registry.document
        registry.document = lambda rid: (  # type: ignore[method-assign]
            {**serve(rid), "protocolSection": {"identificationModule": {"briefTitle": "no id"}}}
            if rid == "NCT80000007" else serve(rid))
        registry.edit("NCT80000007", "2030-01-01")
        second = run("sync", "--all", "--full")
        assert second.exit_code == 1 and "incomplete: 1 record(s) failed" in second.stderr
        assert "missing nctId" in second.stderr and "page 1 item" in second.stderr
        refused = run("sync", "--all", "NCT01342250")
        assert refused.exit_code == 2


# A soft 404 (an HTML page with HTTP 200) and a page cut short: one such answer heals when
# asked again; neither is a reason to give up on the load.
_SOFT_404 = b"<!DOCTYPE html><html><head><title>Page not found</title></head><body>Not found</body></html>"
_CUT = b'{"studies": [{"protocolSection": {"identificationModule": {"nctId": "NCT8'


@pytest.mark.corpus
@pytest.mark.parametrize("garbage", [_SOFT_404, _CUT], ids=["soft_404", "cut"])
def test_one_garbled_search_page_is_fetched_again_within_the_run(corpus_dir, settings, store, garbage):
    with PagedRegistry(corpus_dir, 30) as registry:
        local = settings.model_copy(update={"ctgov_base_url": registry.base_url, "max_retries": 1})
        registry.garbled = [garbage]
        result = bulk_sync(Ingestor(local, store), page_size=10)
    assert result.complete and result.records == 30
    (first,) = [f for f in store.fetches() if f.outcome == "listed"][:1]
    assert first.attempts == 2  # the garbled answer, then the page


@pytest.mark.corpus
def test_a_garbled_page_ends_sync_all_as_transient_and_a_rerun_heals_it(corpus_dir, settings):
    from click.testing import CliRunner

    from trialmirror.cli.main import main

    with PagedRegistry(corpus_dir, 30) as registry:
        env = {"TRIALMIRROR_DATABASE_URL": settings.database_url, "TRIALMIRROR_MAX_RETRIES": "1",
               "TRIALMIRROR_BACKOFF_FACTOR": "0", "TRIALMIRROR_CTGOV_BASE_URL": registry.base_url,
               "TRIALMIRROR_MAX_REQUESTS_PER_SECOND": "1000", "TRIALMIRROR_BULK_PAGE_SIZE": "10"}
        run = lambda *args: CliRunner().invoke(main, list(args), env=env)  # noqa: E731
        registry.garbled = [_SOFT_404, _SOFT_404]  # both tries of the first page
        failed = run("sync", "--all")
        assert failed.exit_code == 1 and "Traceback" not in failed.output
        assert "Retrying will not help" not in failed.stderr
        assert "Transient: the next run retries it" in failed.stderr
        healed = run("sync", "--all", "--json")
        assert healed.exit_code == 0, healed.stderr


@pytest.mark.corpus
def test_twenty_thousand_records_then_five_hundred_changes(corpus_dir, settings, tmp_path):
    """The issue's scale, on SQLite (the test above runs the same on both stores)."""
    from trialmirror.store import Store

    store = Store(f"sqlite:///{tmp_path / 'bulk.db'}")
    # A page of 1,000 records from the local server can take seconds on a busy machine:
    # the tests' 2 s read timeout would fail a correct run.
    sync = Ingestor(settings.model_copy(update={"max_retries": 0, "read_timeout": 60}), store)
    try:
        with PagedRegistry(corpus_dir, 20_000) as registry:
            sync.settings = sync.settings.model_copy(update={"ctgov_base_url": registry.base_url})
            first = bulk_sync(sync)
            assert first.complete and first.stored == first.total_count == 20_000 and first.pages == 20
            today = dt.date.today().isoformat()
            for registry_id in sorted(registry.records)[::40]:
                registry.edit(registry_id, today)
            second = bulk_sync(sync, incremental=True)
        assert second.outcomes == {"new_version": 500} and second.pages == 1
        assert _count(store, "SELECT count(*) FROM version") == 20_500
    finally:
        store.close()
