"""Notifications from the event log (SQLite and PostgreSQL): what notifies, retries,
refusals, and cursors that survive a restart."""

import hashlib
import hmac
import json

import pytest

from tests.fixtures import nct01342250 as fx
from tests.fixtures import results_news as news
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.sources import get_source
from trialmirror.schedules.notify import Notifier
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo
from trialmirror.store.service_state import ServiceState

NCT = "NCT01342250"


@pytest.fixture
def receiver():
    with ScriptedServer() as server:
        yield server


def _ingest(store, settings, source, doc, **kwargs):
    info = FetchInfo(source, NCT, None, utcnow(), 0.0, upstream_version=kwargs.pop("upstream", None))
    result = Ingestor(settings, store).ingest_payload(get_source(source), NCT, json.dumps(doc).encode(),
                                                      info, **kwargs)
    assert result.ok, result.error


def _history(store, settings):
    """A backfill (status changes that describe the past), then two live captures."""
    for number, day, _, _ in fx.HISTORY:
        _ingest(store, settings, "ctgov_history", fx.history_version(number), produced_by="backfill",
                valid_from=day, upstream=number)
    _ingest(store, settings, "ctgov", fx.earlier())
    _ingest(store, settings, "ctgov", fx.current())


def _notifier(settings, store, receiver, **changes):
    configured = settings.model_copy(update={"webhook_url": receiver.base_url + "/hook", **changes})
    return Notifier(configured, store)


def test_only_live_status_changes_notify_signed_and_once(store, settings, receiver):
    from pydantic import SecretStr

    receiver.play("/hook", Reply(204))
    _history(store, settings)
    notifier = _notifier(settings, store, receiver, webhook_secret=SecretStr("k"))
    assert notifier.run() == {"webhook": 1}
    (_, headers, body), = receiver.posts
    sent = json.loads(body)
    assert (sent["kind"], sent["source"], sent["status"]) == (
        "status_change", "ctgov", {"old": "RECRUITING", "new": "COMPLETED"})
    assert headers["X-Trialmirror-Signature"] == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert notifier.run() == {"webhook": 0}
    assert _notifier(settings, store, receiver).run() == {"webhook": 0}  # a restart repeats nothing
    assert len(receiver.posts) == 1


def test_backfill_events_notify_when_asked(store, settings, receiver):
    receiver.play("/hook", Reply(200))
    _history(store, settings)
    notifier = _notifier(settings, store, receiver, notify_produced_by="fetch,backfill",
                         notify_kinds="status_change,new_record")
    assert notifier.run() == {"webhook": 5}  # history: new record + 2 changes; live: new + 1
    assert [json.loads(b)["seq"] for _, _, b in receiver.posts] == sorted(
        json.loads(b)["seq"] for _, _, b in receiver.posts)


def test_failed_attempts_are_retried_with_backoff_and_each_is_logged(store, settings, receiver):
    receiver.play("/hook", Reply(500), Reply(503, headers={"Retry-After": "0"}), Reply(200))
    _history(store, settings)
    notifier = _notifier(settings, store, receiver)
    assert notifier.run() == {"webhook": 1}
    log = ServiceState(store).deliveries("webhook")
    assert [(d.attempt, d.outcome, d.http_status) for d in log] == [
        (1, "failed", 500), (2, "failed", 503), (3, "delivered", 200)]
    assert len({d.seq for d in log}) == 1


def test_an_unreachable_receiver_loses_nothing(store, settings, receiver):
    receiver.play("/hook", Reply(503))
    _history(store, settings)
    notifier = _notifier(settings, store, receiver, webhook_max_attempts=2)
    assert notifier.run() == {"webhook": 0}
    assert [d.outcome for d in ServiceState(store).deliveries()] == ["failed", "failed"]
    receiver.play("/hook", Reply(200))  # healed: the next round delivers it
    assert notifier.run() == {"webhook": 1}
    assert [json.loads(b)["kind"] for _, _, b in receiver.posts][-1] == "status_change"


def test_a_refusal_is_logged_and_passed_over(store, settings, receiver):
    receiver.play("/hook", Reply(400, b"bad"))
    _history(store, settings)
    notifier = _notifier(settings, store, receiver)
    assert notifier.run() == {"webhook": 1}
    assert [(d.outcome, d.http_status) for d in ServiceState(store).deliveries()] == [("refused", 400)]
    assert notifier.run() == {"webhook": 0} and len(receiver.posts) == 1


def test_atom_feed_lists_the_notified_events(store, settings, tmp_path):
    _history(store, settings)
    feed = tmp_path / "feeds" / "status.atom"
    notifier = Notifier(settings.model_copy(update={"atom_path": str(feed)}), store)
    assert notifier.run() == {"atom": 1}
    text = feed.read_text()
    assert text.count("<entry>") == 1 and "NCT01342250 [ctgov]: RECRUITING → COMPLETED" in text
    assert notifier.run() == {"atom": 0}


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_is_a_failed_attempt_never_followed(store, settings, receiver, status):
    """A 302 followed turns the POST into a body-less GET whose 200 looked delivered; a
    307 followed re-sends body and signature to another host. Neither is followed."""
    with ScriptedServer() as elsewhere:
        elsewhere.play("/took", Reply(200))
        receiver.play("/hook", Reply(status, headers={"Location": elsewhere.base_url + "/took"}))
        _history(store, settings)
        notifier = _notifier(settings, store, receiver, webhook_max_attempts=2)
        assert notifier.run() == {"webhook": 0}
        assert elsewhere.hits == {} and elsewhere.posts == []  # nothing went to the other host
        log = ServiceState(store).deliveries("webhook")
        assert [(d.attempt, d.outcome, d.http_status) for d in log] == [
            (1, "failed", status), (2, "failed", status)]
        assert all(f"redirect to {elsewhere.base_url}/took" in d.error for d in log)
    receiver.play("/hook", Reply(204))  # the receiver fixed: the same event is delivered
    assert notifier.run() == {"webhook": 1}
    assert [json.loads(b)["kind"] for _, _, b in receiver.posts] == ["status_change"] * 3


def test_the_atom_file_gets_ordinary_permissions(store, settings, tmp_path):
    """It was written 0600 (mkstemp's mode), so a web server or another user could not read it."""
    import os
    import stat

    _history(store, settings)
    feed = tmp_path / "feeds" / "status.atom"
    notifier = Notifier(settings.model_copy(update={"atom_path": str(feed)}), store)
    old = os.umask(0o022)
    try:
        notifier.run()
    finally:
        os.umask(old)
    assert stat.S_IMODE(feed.stat().st_mode) == 0o644
    feed.chmod(0o640)  # the user's choice, kept when the feed is rewritten
    notifier._write_atom()
    assert stat.S_IMODE(feed.stat().st_mode) == 0o640 and "<feed" in feed.read_text()
    assert [p.name for p in feed.parent.iterdir()] == ["status.atom"]  # no temporary left


def test_results_posted_notifies_once_by_default(store, settings, receiver):
    """The default kinds: a version that gains results is one webhook, and the version
    event beside it (``updated``) none; later versions without news, and a reparse, none."""
    receiver.play("/hook", Reply(204))
    news.put(store, news.record())
    news.put(store, news.record(results=True))
    notifier = _notifier(settings, store, receiver)
    assert notifier.run() == {"webhook": 1}
    (_, headers, body), = receiver.posts
    sent = json.loads(body)
    assert headers["X-Trialmirror-Event"] == "results_posted"
    assert (sent["kind"], sent["registry_id"], sent["version"], sent["results"]["first_posted"]) == (
        "results_posted", NCT, 2, "2015-03-02")
    news.put(store, news.record(results=True, enrollment=21))
    news.put(store, news.record(results=True, enrollment=21, has_results=None), produced_by="reparse")
    assert notifier.run() == {"webhook": 0} and len(receiver.posts) == 1


def test_a_violation_annotated_notifies_by_default(store, settings, receiver):
    receiver.play("/hook", Reply(200))
    news.put(store, news.record())
    news.put(store, news.record(annotations={"violation_events": [news.VIOLATION]}))
    assert _notifier(settings, store, receiver).run() == {"webhook": 1}
    sent = json.loads(receiver.posts[0][2])
    assert (sent["kind"], sent["types"], sent["violation_events"]) == (
        "annotated", ["VIOLATION_IDENTIFIED"], [news.VIOLATION])


def test_the_atom_feed_titles_results_and_annotations(store, settings, tmp_path):
    news.put(store, news.record())
    news.put(store, news.record(results=True))
    news.put(store, news.record(results=True, annotations={"violation_events": [news.VIOLATION],
                                                           "unposted_events": [news.UNPOSTED]}))
    feed = tmp_path / "status.atom"
    assert Notifier(settings.model_copy(update={"atom_path": str(feed)}), store).run() == {"atom": 2}
    text = feed.read_text()
    assert "<title>NCT01342250 [ctgov]: results posted 2015-03-02 (submitted 2015-01-30)</title>" in text
    assert ("<title>NCT01342250 [ctgov]: FDAAA 801 VIOLATION_IDENTIFIED issued 2021-07-26; "
            "unposted results RELEASE 2024-05-29</title>") in text


def _without_results(doc):
    """A registry document as it stood before its results: no results section, hasResults
    false, no results dates (the registry's own document, cut; no value invented)."""
    before = json.loads(json.dumps(doc))
    before.pop("resultsSection", None)
    before["hasResults"] = False
    status = before["protocolSection"]["statusModule"]
    for key in [k for k in status if k.startswith("results")]:
        del status[key]
    return before


def test_a_corpus_record_that_gains_results_is_one_results_event_and_one_webhook(
        corpus_dir, store, settings, receiver):
    """The issue's check, end to end: a real record with results (NCT00763412), fetched
    from a local registry first without them, then as published: exactly one
    ``results_posted`` event, exactly one webhook; a third fetch of the same adds neither."""
    from trialmirror.ingest.http import Http

    nct = "NCT00763412"
    doc = json.loads((corpus_dir / "ctgov_v2" / f"{nct}.json").read_bytes())
    assert doc["hasResults"] is True and "resultsSection" in doc
    receiver.play(f"/api/v2/studies/{nct}", Reply(body=json.dumps(_without_results(doc)).encode()),
                  Reply(body=json.dumps(doc).encode()), Reply(body=json.dumps(doc).encode()))
    receiver.play("/hook", Reply(204))
    local = settings.model_copy(update={"ctgov_base_url": receiver.base_url})
    ingestor = Ingestor(local, store, Http(local))
    outcomes = [ingestor.run("ctgov", [nct]).results[0].outcome for _ in range(3)]
    assert outcomes == ["new_version", "new_version", "unchanged"]
    kinds = [e.kind for e in store.events(registry_id=nct)]
    assert kinds.count("results_posted") == 1 and kinds[:2] == ["new_record", "updated"]
    assert _notifier(local, store, receiver).run() == {"webhook": 1}
    (_, headers, body), = receiver.posts
    sent = json.loads(body)
    assert headers["X-Trialmirror-Event"] == "results_posted" and sent["registry_id"] == nct
    first_posted = doc["protocolSection"]["statusModule"]["resultsFirstPostDateStruct"]["date"]
    assert sent["results"]["first_posted"] == first_posted
