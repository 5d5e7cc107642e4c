"""The HTTP API on a real server, over a database filled from the real corpus."""

import json
import threading

import pytest
import requests

from tests.fixtures import nct01342250 as fx
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.sources import get_source
from trialmirror.settings import Settings
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo

NCT = "NCT01342250"
PROBLEM = "application/problem+json"


def _get(api, path, **params):
    return requests.get(api[0] + path, params=params, timeout=10)


def test_a_study_latest_as_of_and_by_version(api):
    latest = _get(api, f"/studies/{NCT}").json()
    assert latest["version"]["version"] == 2 and latest["record"]["status"]["overall"] == "COMPLETED"
    first = _get(api, f"/studies/{NCT.lower()}", version=1).json()
    assert first["record"]["status"]["overall"] == "RECRUITING"
    on_day = _get(api, f"/studies/{NCT}", as_of="2011-10-20").json()
    assert on_day["version"]["valid_from"] == "2011-10-14"
    before = _get(api, f"/studies/{NCT}", as_of="2009-01-01")
    assert before.status_code == 404 and "not yet registered on 2009-01-01" in before.json()["detail"]


def test_versions_diff_timeline(api):
    versions = _get(api, f"/studies/{NCT}/versions").json()["items"]
    assert [(v["version"], v["status"]) for v in versions] == [(1, "RECRUITING"), (2, "COMPLETED")]
    diff = _get(api, f"/studies/{NCT}/diff").json()
    assert (diff["from"], diff["to"]) == (1, 2)
    assert {c["path"] for c in diff["changes"]} >= {"status.overall", "enrollment.count"}
    periods = _get(api, f"/studies/{NCT}/timeline").json()["periods"]
    assert [p["status"] for p in periods] == ["RECRUITING", "COMPLETED"]


@pytest.mark.parametrize(("path", "params", "status", "words"), [
    ("/studies/NCT1", {}, 400, "not a ClinicalTrials.gov id"),
    (f"/studies/{NCT}", {"as_of": "2011-13-01"}, 400, "not a date: use YYYY-MM-DD"),
    (f"/studies/{NCT}", {"source": "nope"}, 400, "valid sources: ctgov"),
    (f"/studies/{NCT}", {"version": "0"}, 422, "version"),
    ("/studies/NCT09999999", {}, 404, "run `trialmirror sync NCT09999999"),
    (f"/studies/{NCT}/reconciliation", {}, 404, "no mirror capture"),
    ("/changes", {"kind": "deleted"}, 422, "kind"),
    ("/search", {"limit": "1001"}, 422, "limit"),
    ("/nowhere", {}, 404, "Not Found"),
])
def test_errors_are_problem_details_never_500(api, path, params, status, words):
    response = _get(api, path, **params)
    assert response.status_code == status and response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status and problem["instance"] == path and words in problem["detail"]


def test_search_with_filters(api):
    found = _get(api, "/search", q="umbilical cord", status="completed", phase="Phase 2").json()["items"]
    assert [h["registry_id"] for h in found] == [NCT]
    page = _get(api, "/search", q="cancer", limit=5, offset=5).json()["items"]
    assert len(page) == 5 and all(h["score"] > 0 for h in page)


def test_healthz_and_the_atom_feed(api):
    assert _get(api, "/healthz").json()["status"] == "ok"
    feed = _get(api, "/feeds/status.atom")
    assert feed.headers["content-type"] == "application/atom+xml"
    assert "NCT01342250 [ctgov]: RECRUITING → COMPLETED" in feed.text


def test_the_change_feed_paged_while_versions_arrive_gives_each_event_once(api):
    base, store = api
    ingestor = Ingestor(Settings(_env_file=None), store)
    source = get_source("ctgov")
    writers_done = threading.Event()

    def write():  # new records and new versions, while the feed is being read
        for n in range(60):
            rid = f"NCT9{n:07d}"
            for doc in (fx.earlier(), fx.current()):
                doc["protocolSection"]["identificationModule"]["nctId"] = rid
                ingestor.ingest_payload(source, rid, json.dumps(doc).encode(),
                                        FetchInfo("ctgov", rid, None, utcnow(), 0.0))
        writers_done.set()

    writer = threading.Thread(target=write)
    writer.start()
    seen, cursor = [], 0
    while True:
        page = requests.get(base + "/changes", params={"after": cursor, "limit": 7}, timeout=10).json()
        seen.extend(item["seq"] for item in page["items"])
        assert page["next"] == (page["items"][-1]["seq"] if page["items"] else cursor)
        cursor = page["next"]
        if not page["items"] and writers_done.is_set():
            break
    writer.join()
    everything = [e.seq for e in store.events()]
    assert seen == everything  # each event exactly once, in order
    assert len(everything) >= 972 + 120


def test_openapi_documents_every_route(api):
    paths = _get(api, "/openapi.json").json()["paths"]
    assert set(paths) >= {"/studies/{registry_id}", "/studies/{registry_id}/versions", "/changes",
                          "/studies/{registry_id}/diff", "/studies/{registry_id}/timeline",
                          "/studies/{registry_id}/reconciliation", "/search", "/feeds/status.atom",
                          "/healthz"}


def test_the_api_answers_while_a_writer_holds_the_lock(api):
    """Readers of the SQLite file take no write lock: a sync writing (here, a writer
    holding the lock) does not stall the API, and the API cannot write."""
    import sqlite3

    base, store = api
    path = store.url.removeprefix("sqlite:///")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        answer = requests.get(base + f"/studies/{NCT}", timeout=10)
        assert answer.status_code == 200 and answer.json()["record"]["registry_id"] == NCT
        assert requests.get(base + "/search", params={"q": "umbilical cord"}, timeout=10).json()["items"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    from trialmirror.store import Store

    reader = Store(store.url, read_only=True)
    with pytest.raises(Exception, match="readonly|read-only|query_only"), reader.transaction() as conn:
        conn.exec_driver_sql("DELETE FROM watch")
    reader.close()


def test_a_poller_gets_304_until_the_record_moves(api):
    base, store = api
    rid = "NCT01342250"
    first = requests.get(f"{base}/studies/{rid}", timeout=10)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-cache"
    again = requests.get(f"{base}/studies/{rid}", headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    assert requests.get(f"{base}/studies/{rid}", headers={"If-None-Match": f'"x", W/{etag}'},
                        timeout=10).status_code == 304  # a list, a weak tag
    older = requests.get(f"{base}/studies/{rid}", params={"version": 1}, headers={"If-None-Match": etag},
                         timeout=10)
    assert older.status_code == 200 and older.headers["ETag"] != etag  # another version, another tag
    doc = fx.current()
    doc["protocolSection"]["statusModule"]["overallStatus"] = "TERMINATED"  # SYNTHETIC edit
    info = FetchInfo("ctgov", rid, None, utcnow(), 0.0)
    assert Ingestor(Settings(_env_file=None), store).ingest_payload(
        get_source("ctgov"), rid, json.dumps(doc).encode(), info).outcome == "new_version"
    moved = requests.get(f"{base}/studies/{rid}", headers={"If-None-Match": etag}, timeout=10)
    assert moved.status_code == 200 and moved.json()["record"]["status"]["overall"] == "TERMINATED"
    assert moved.headers["ETag"] != etag


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_every_asset_from_this_server(api, page):
    """/docs loaded Swagger UI from a CDN: offline it was a blank page."""
    import re

    html = _get(api, page)
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']|<redoc spec-url=["']([^"']+)""",
                      html.text)
    urls = [next(u for u in found if u) for found in urls]
    assert any(u.endswith(".js") for u in urls) and "/openapi.json" in urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url} from elsewhere"
        asset = requests.get(api[0] + url, timeout=10)
        assert asset.status_code == 200 and asset.content, url
    assert "http://" not in html.text.replace(api[0], "") and "https://" not in html.text


def test_results_and_annotations_in_the_feed_filter_and_the_timeline(store):
    """On SQLite and PostgreSQL: ``/changes?kind=`` takes the new kinds, the timeline
    carries them in their status period."""
    from tests.fixtures import results_news as news
    from tests.fixtures.api_server import serving

    news.put(store, news.record())
    news.put(store, news.record(results=True))
    news.put(store, news.record(results=True, annotations={"unposted_events": [news.UNPOSTED]}))
    with serving(Settings(database_url=store.url, _env_file=None), store) as base:
        api = (base, store)
        posted = _get(api, "/changes", kind="results_posted").json()["items"]
        assert [(e["kind"], e["version"], e["results"]["first_posted"]) for e in posted] == [
            ("results_posted", 2, "2015-03-02")]
        annotated = _get(api, "/changes", kind="annotated").json()["items"]
        assert [(e["version"], e["unposted_events"]) for e in annotated] == [(3, [news.UNPOSTED])]
        assert _get(api, "/changes", kind="results").status_code == 422
        (period,) = _get(api, f"/studies/{NCT}/timeline").json()["periods"]
        assert period["events"] == [
            {"version": 2, "kind": "results_posted", "what": "results posted 2015-03-02 (submitted 2015-01-30)"},
            {"version": 3, "kind": "annotated", "what": "unposted results RELEASE 2024-05-29"}]
