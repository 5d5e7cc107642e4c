"""Upgrading to the whole record (issue 15): a store filled before it keeps its versions'
content hashes, and ``reparse --all`` brings every record up to date with one
``produced_by: reparse`` version per record whose normalized form changed, and notifies
nobody. Both stores."""

from __future__ import annotations

import json

import orjson
import pytest
from click.testing import CliRunner

from tests.fixtures import nct01342250 as fx
from tests.fixtures import personal as planted
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.cli.main import main
from trialmirror.ingest.runs.reparse import reparse
from trialmirror.ingest.sources import ctgov
from trialmirror.schedules.notify import Notifier
from trialmirror.store.canonical import content_hash
from trialmirror.store.events import EVENT_KINDS

NCT = "NCT01342250"
# The content hashes main 342524d (before issue 15) stored for the records of _documents():
# computed by that commit's own ctgov parser (version 4) and store.canonical.content_hash.
OLD_HASHES = {
    "NCT01342250": "sha256:b7938689de4bde74324722e088b38868920f5e82ab5b67a1fe2f78518c470df6",
    "NCT01342251": "sha256:7f6078b5416d1038bcc0eef6ecc2c14e738b26b90247eece5ccf86964a6dd2ba",
    "NCT01342252": "sha256:ee1285225b425d5dcff335b9bcfb633f6e3ca5115ff66dbcbd9a66fa2770e8ed",
}
# The record's keys before issue 15 (that commit's models/record.py), per section and item.
_OLD_KEYS: dict[str, tuple[str, ...]] = {
    "": ("registry_id", "source", "source_url", "source_version_date", "titles", "identifiers", "status",
         "study_type", "phases", "design", "enrollment", "conditions", "keywords", "arms", "interventions",
         "eligibility", "outcomes", "sponsors", "sites", "summary", "description", "unmapped"),
    "identifiers": ("org_study_id", "secondary", "aliases"),
    "identifiers.secondary": ("id", "kind", "domain"),
    "status": ("overall", "last_known", "why_stopped", "start", "primary_completion", "completion",
               "first_posted", "last_update_posted", "verified"),
    "design": ("allocation", "intervention_model", "masking", "who_masked", "primary_purpose",
               "observational_model", "time_perspective"),
    "eligibility": ("criteria_text", "inclusion", "exclusion", "unclassified", "criteria_layout",
                    "criteria_groups", "min_age", "max_age", "sex", "healthy_volunteers", "std_ages"),
    "sponsors": ("lead", "collaborators", "funder_types"),
    "sites": ("facility", "city", "state", "country", "status"),
}


def _as_stored_before(data: dict) -> dict:
    """A record's JSON as a store made before issue 15 holds it: none of the new keys."""
    def keep(node, path):
        if isinstance(node, list):
            return [keep(item, path) for item in node]
        if not isinstance(node, dict) or path not in _OLD_KEYS:
            return node
        return {k: keep(v, f"{path}.{k}".lstrip(".")) for k, v in node.items() if k in _OLD_KEYS[path]}
    return keep(data, "")


def _documents() -> dict[str, dict]:
    """Three states of NCT01342250, stored as three records: one the whole record reads no
    differently, one with contacts (their site contacts are new fields), one as served."""
    unchanged = fx.current()  # without anything a new field maps from:
    del unchanged["hasResults"], unchanged["derivedSection"]  # results flag, MeSH indexing
    del unchanged["protocolSection"]["contactsLocationsModule"]["locations"][0]["geoPoint"]
    with_contacts = planted.document()
    return {"NCT01342250": unchanged, "NCT01342251": with_contacts, "NCT01342252": fx.current()}


def _renamed(doc: dict, registry_id: str) -> dict:
    doc = json.loads(json.dumps(doc))
    doc["protocolSection"]["identificationModule"]["nctId"] = registry_id
    return doc


def _fill_as_before(store) -> dict[str, str]:
    """Each document archived and its record stored as the store held it before issue 15
    (by the parser version of today: a store whose parser number did not move, which only
    ``reparse --all`` upgrades); returns the hash stored per record."""
    stored = {}
    for registry_id, doc in _documents().items():
        raw = orjson.dumps(_renamed(doc, registry_id))
        sha = store.archive(source="ctgov", registry_id=registry_id, url="https://example.org/s", raw=raw)
        old = _as_stored_before(ctgov.parse(raw, registry_id).model_dump(mode="json"))
        put = store.put(json.dumps(old), fetch=None, raw_sha256=sha, parser_version=ctgov.PARSER_VERSION)
        stored[registry_id] = put.content_hash
    return stored


@pytest.fixture
def receiver():
    with ScriptedServer() as server:
        server.play("/hook", Reply(204))
        yield server


def test_a_store_made_before_keeps_its_hashes_and_reparse_all_upgrades_it_silently(store, settings, receiver):
    stored = _fill_as_before(store)
    # The hash is the one the code before issue 15 stored: the added-fields rule keeps it.
    assert stored == OLD_HASHES
    for registry_id, digest in stored.items():  # and it is still the hash of what is stored
        row = store.version(registry_id, "ctgov")
        assert content_hash(json.loads(row.record)) == row.content_hash == digest
    every_kind = settings.model_copy(update={"webhook_url": receiver.base_url + "/hook",
                                             "notify_kinds": ",".join(EVENT_KINDS)})
    assert Notifier(every_kind, store).run() == {"webhook": 3}  # the three new records, before
    changed = {rid for rid, doc in _documents().items()
               if content_hash(ctgov.parse(orjson.dumps(_renamed(doc, rid)), rid)) != stored[rid]}
    assert "NCT01342251" in changed and "NCT01342250" not in changed

    result = reparse(store, everything=True)
    assert (result.new_versions, result.unchanged, result.failed) == (len(changed), 3 - len(changed), [])
    for registry_id in stored:
        versions = store.versions(registry_id, "ctgov")
        if registry_id in changed:
            assert [(v.version, v.produced_by) for v in versions] == [(1, "fetch"), (2, "reparse")]
        else:  # the same content: no version, the stored one is the new parser's output now
            assert [(v.version, v.content_hash) for v in versions] == [(1, stored[registry_id])]
            assert store.version(registry_id, "ctgov").parser_version == ctgov.PARSER_VERSION
    upgraded = json.loads(store.version("NCT01342251", "ctgov").record)
    assert upgraded["sites"][0]["contacts"] == [planted.SITE_CONTACT]
    assert {e.kind for e in store.events(kinds=list(EVENT_KINDS)) if e.version == 2} == {"reparsed"}
    # Nobody is told: not by default, and not even where every event kind notifies.
    assert Notifier(every_kind, store).run() == {"webhook": 0}
    assert len(receiver.posts) == 3
    again = reparse(store, everything=True)
    assert (again.new_versions, again.unchanged) == (0, 3)


def test_the_reparse_command_upgrades_every_record_and_says_so(settings):
    from trialmirror.store import Store

    store = Store(settings.database_url)
    try:
        _fill_as_before(store)
    finally:
        store.close()
    env = {"TRIALMIRROR_DATABASE_URL": settings.database_url, "TRIALMIRROR_DB_CHECK_INTERVAL": "0"}
    skipped = CliRunner().invoke(main, ["reparse", "--json"], env=env, catch_exceptions=False)
    done = CliRunner().invoke(main, ["reparse", "--all", "--json"], env=env, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["looked_at"] == 3 and summary["failed"] == []
    assert summary["new_versions"] >= 1 and summary["new_versions"] + summary["unchanged"] == 3
    assert json.loads(skipped.stdout)["skipped"] == 3  # made by this parser version: only --all
