"""TRIALMIRROR_PERSONAL_CONTACTS=false: no personal contact detail reaches the store (its
versions, raw archive, drift table, search index) or an export, whatever run stores the
record; true (the default) keeps them as published. Both stores; the database file's own
bytes are searched on SQLite."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.fixtures import mirror_pages as mp
from tests.fixtures import nct01342250 as fx
from tests.fixtures import personal as planted
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.cli.main import main
from trialmirror.ingest.runs.pipeline import Ingestor, Keeping
from trialmirror.ingest.runs.reparse import reparse
from trialmirror.ingest.sources import ctgov, get_source
from trialmirror.models.personal import LEFT_OUT
from trialmirror.read.export import es_bulk, ndjson, write_tables
from trialmirror.settings import Settings
from trialmirror.store import Store
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo

NCT = planted.NCT
# Parser 4 mapped site contacts only; the whole-record parser (5) maps centralContacts ->
# contacts.central, overallOfficials -> contacts.officials and the responsible party.
WHOLE_RECORD_PARSER = ctgov.PARSER_VERSION > 4


def _left(data: bytes | str) -> list[str]:
    data = data.encode() if isinstance(data, str) else data
    return [value for value in planted.PLANTED if value.encode() in data]


def _plain_source():
    """ClinicalTrials.gov with a parser that reads the planted record whatever the bytes
    (so these tests do not wait on the parser to map every contact field)."""
    def parse(raw: bytes, registry_id: str, *, url: str | None = None):
        return planted.record(source_url=url)
    return replace(ctgov.SOURCE, parse=parse)


def _ingest(store, settings, source, raw, **kwargs):
    info = FetchInfo(source.name, NCT, "https://example.org/study", utcnow(), 0.0, http_status=200)
    result = Ingestor(settings, store).ingest_payload(source, NCT, raw, info, **kwargs)
    assert result.ok, result.error
    return result


def _everything_stored(store: Store, tmp_path: Path) -> dict[str, bytes]:
    """Each place a value could be kept, as bytes: the versions, the raw archive, the drift
    table, the search index, and the NDJSON, CSV and Elasticsearch exports."""
    with store.transaction() as conn:
        versions = [r[0] for r in conn.execute(text("SELECT record FROM version"))]
        shas = [r[0] for r in conn.execute(text("SELECT sha256 FROM raw_payload"))]
        search = [str(r) for r in conn.execute(text("SELECT * FROM search_doc"))]
    nd, es = io.BytesIO(), io.BytesIO()
    ndjson(store, nd)
    es_bulk(store, es)
    write_tables(store, tmp_path / "csv", "csv")
    database = Path(store.url.removeprefix("sqlite:///")) if store.url.startswith("sqlite:///") else None
    files = b"".join(p.read_bytes() for p in database.parent.glob(f"{database.name}*")) if database else b""
    return {
        "database file": files,  # SQLite: the file and its write-ahead log, as they are on disk
        "versions": "\n".join(versions).encode(),
        "raw archive": b"\n".join(store.raw(sha) or b"" for sha in shas),
        "drift table": orjson.dumps([r._asdict() for r in store.drift()], default=str),
        "search index": "\n".join(search).encode(),
        "ndjson": nd.getvalue(), "es-bulk": es.getvalue(),
        "csv": b"\n".join(p.read_bytes() for p in sorted((tmp_path / "csv").glob("*.csv"))),
    }


def test_left_out_nothing_personal_is_stored_or_exported(store, settings, tmp_path):
    off = settings.model_copy(update={"personal_contacts": False})
    _ingest(store, off, _plain_source(), orjson.dumps(planted.document()))
    places = _everything_stored(store, tmp_path)
    assert {where: _left(data) for where, data in places.items() if _left(data)} == {}
    record = json.loads(store.version(NCT, "ctgov").record)
    assert record["contacts"]["central"] == [{"name": None, "role": "CONTACT", "phone": None,
                                              "phone_ext": None, "email": None}]
    assert record["contacts"]["officials"][0]["affiliation"] == "Shanghai 85 Hospital"
    drift = {(r.path, r.value) for r in store.drift()}
    assert drift == {("contacts.central.email", LEFT_OUT), ("status.completion.kind", "PROVISIONAL")}


def test_kept_by_default_as_published(store, settings, tmp_path):
    assert settings.personal_contacts is True
    _ingest(store, settings, _plain_source(), orjson.dumps(planted.document()))
    places = _everything_stored(store, tmp_path)
    assert set(_left(places["versions"])) == set(planted.PLANTED)
    assert set(_left(places["raw archive"])) == set(planted.PLANTED) - {planted.FLAG["value"]}
    assert planted.FLAG["value"] in places["drift table"].decode()
    assert set(_left(places["ndjson"])) == set(planted.PLANTED)
    if places["database file"]:  # the search of the file's bytes finds what is there
        assert set(_left(places["database file"])) == set(planted.PLANTED)


def test_the_raw_archive_keeps_the_payload_without_them_addressed_by_those_bytes(store, settings):
    off = settings.model_copy(update={"personal_contacts": False})
    result = _ingest(store, off, get_source("ctgov"), orjson.dumps(planted.document()))
    row = store.version(NCT, "ctgov")
    raw = store.raw(row.raw_sha256)
    assert hashlib.sha256(raw).hexdigest() == row.raw_sha256
    assert raw == Keeping(personal_contacts=False).payload(orjson.dumps(planted.document()))
    # The same document again is the same archived bytes: unchanged, not parsed again.
    again = _ingest(store, off, get_source("ctgov"), orjson.dumps(planted.document()))
    assert (result.outcome, again.outcome) == ("new_version", "unchanged")


@pytest.mark.parametrize("keep", [True, False])
def test_through_the_parser_contacts_are_kept_or_left_out(store, settings, keep):
    chosen = settings.model_copy(update={"personal_contacts": keep})
    _ingest(store, chosen, get_source("ctgov"), orjson.dumps(planted.document()))
    record = json.loads(store.version(NCT, "ctgov").record)
    (site,) = record["sites"]
    if not keep:
        assert _left(store.version(NCT, "ctgov").record) == []
        assert site["contacts"] == [{"name": None, "role": "PRINCIPAL_INVESTIGATOR", "phone": None,
                                     "phone_ext": None, "email": None}]
        return
    assert site["contacts"] == [planted.SITE_CONTACT]
    if not WHOLE_RECORD_PARSER:
        pytest.skip("the ctgov parser does not map central contacts, officials and the responsible "
                    "party yet (issue 15, the lead's part)")
    assert record["contacts"] == {"central": [planted.CENTRAL], "officials": [planted.OFFICIAL]}
    assert record["sponsors"]["responsible_party"] == planted.RESPONSIBLE
    assert record["annotations"]["unposted_responsible_party"] == planted.UNPOSTED_PARTY


def test_a_history_version_a_mirror_page_and_a_reparse_go_the_same_way(store, settings):
    off = settings.model_copy(update={"personal_contacts": False})
    history = {"studyVersion": 0, "study": fx.as_history_html(planted.document())}
    _ingest(store, off, get_source("ctgov_history"), orjson.dumps(history), produced_by="backfill",
            valid_from="2011-04-27")
    lines = mp.ictrp_lines(fx.current())
    at = lines.index("Contacts") + 1
    lines[at:at] = ["Name: Someone", "Telephone: +1 555-0142-7788", "Email: quilla.plantedname@example.org"]
    _ingest(store, off, get_source("ictrp"), mp.table(lines), content_type="text/html")
    result = reparse(store, everything=True, keeping=Keeping(personal_contacts=False))
    assert result.failed == []
    with store.transaction() as conn:
        shas = [r[0] for r in conn.execute(text("SELECT sha256 FROM raw_payload"))]
        versions = [r[0] for r in conn.execute(text("SELECT record FROM version"))]
    assert [s for s in shas if _left(store.raw(s) or b"")] == []
    assert [v for v in versions if _left(v)] == []


def test_reparse_leaves_them_out_of_records_stored_before_the_setting(store, settings):
    """Switched off after records were stored: reparse --all gives each a version without
    them (produced_by reparse); the payloads archived before keep what they held."""
    _ingest(store, settings, get_source("ctgov"), orjson.dumps(planted.document()))
    assert reparse(store, everything=True).new_versions == 0  # kept: nothing to do
    result = reparse(store, everything=True, keeping=Keeping(personal_contacts=False))
    assert result.new_versions == 1
    newest = store.version(NCT, "ctgov")
    assert (newest.version, newest.produced_by) == (2, "reparse") and _left(newest.record) == []
    assert _left(store.raw(newest.raw_sha256)) != []  # the archive is addressed by its bytes


@pytest.fixture
def registry():
    with ScriptedServer() as server:
        server.play(f"/api/v2/studies/{NCT}", Reply(body=orjson.dumps(planted.document())))
        yield server


def test_the_commands_read_the_setting_and_the_database_file_holds_nothing(registry, tmp_path):
    """sync, reparse and export as a user runs them, TRIALMIRROR_PERSONAL_CONTACTS=false;
    then the SQLite file's own bytes are searched (a control run shows the search finds them)."""
    def run(database: Path, personal: str) -> tuple[bytes, bytes]:
        env = {"TRIALMIRROR_CTGOV_BASE_URL": registry.base_url, "TRIALMIRROR_MAX_RETRIES": "0",
               "TRIALMIRROR_DATABASE_URL": f"sqlite:///{database}", "TRIALMIRROR_PERSONAL_CONTACTS": personal,
               "TRIALMIRROR_DB_CHECK_INTERVAL": "0"}
        runner = CliRunner()
        for args in (["sync", NCT], ["reparse", "--all"],
                     ["export", "--format", "csv", "-o", str(database.parent / f"csv-{personal}")]):
            done = runner.invoke(main, args, env=env, catch_exceptions=False)
            assert done.exit_code == 0, done.output
        exported = runner.invoke(main, ["export", "--format", "ndjson"], env=env, catch_exceptions=False)
        # The database's files and its ranked search index's (store/ranked.py).
        files = b"".join(p.read_bytes() for p in sorted(database.parent.glob(f"{database.name}*"))
                         + sorted(database.parent.glob(f"{database.name}.search/*")) if p.is_file())
        csv = b"".join(p.read_bytes() for p in (database.parent / f"csv-{personal}").glob("*.csv"))
        return files, exported.stdout_bytes + csv

    kept_file, kept_export = run(tmp_path / "kept.db", "true")
    site_detail = planted.SITE_CONTACT["email"]  # one the parser maps today
    assert site_detail in _left(kept_file) and site_detail in _left(kept_export)
    file, export = run(tmp_path / "left-out.db", "false")
    assert (_left(file), _left(export)) == ([], [])


def test_the_setting_is_read_from_the_environment_and_the_settings_file(tmp_path, monkeypatch):
    assert Settings(_env_file=None).personal_contacts is True
    monkeypatch.setenv("TRIALMIRROR_PERSONAL_CONTACTS", "false")
    assert Settings.load().personal_contacts is False
    monkeypatch.delenv("TRIALMIRROR_PERSONAL_CONTACTS")
    config = tmp_path / "trialmirror.toml"
    config.write_text("personal_contacts = false\n", encoding="utf-8")
    assert Settings.load(config).personal_contacts is False
    monkeypatch.setenv("TRIALMIRROR_PERSONAL_CONTACTS", "maybe")
    done = CliRunner().invoke(main, ["show", NCT])
    assert done.exit_code == 2
    assert "invalid setting TRIALMIRROR_PERSONAL_CONTACTS" in done.stderr


def _published_details(doc: dict) -> set[str]:
    """The e-mails and phone numbers a real document's contacts publish, that its text does
    not also give elsewhere (free text is kept as published)."""
    module = doc["protocolSection"].get("contactsLocationsModule") or {}
    contacts = list(module.get("centralContacts") or [])
    contacts += [c for loc in module.get("locations") or [] for c in loc.get("contacts") or []]
    values = {c[k] for c in contacts for k in ("email", "phone") if c.get(k) and len(c[k]) > 6}
    rest = Keeping(personal_contacts=False).payload(orjson.dumps(doc)).decode()
    return {v for v in values if v not in rest}


@pytest.mark.corpus
def test_a_bulk_load_of_real_documents_keeps_none_of_their_contacts(corpus_dir, store, settings):
    from tests.fixtures.paged_registry import PagedRegistry
    from trialmirror.ingest.runs.bulk import bulk_sync

    with PagedRegistry(corpus_dir, 300) as registry:
        published = set().union(*(_published_details(registry.document(rid)) for rid in registry.records))
        off = settings.model_copy(update={"ctgov_base_url": registry.base_url, "personal_contacts": False})
        assert bulk_sync(Ingestor(off, store), page_size=50).complete
    assert len(published) > 50  # real e-mails and phone numbers were served
    with store.transaction() as conn:
        versions = "\n".join(r[0] for r in conn.execute(text("SELECT record FROM version")))
        shas = [r[0] for r in conn.execute(text("SELECT sha256 FROM raw_payload"))]
    archive = b"\n".join(store.raw(sha) or b"" for sha in shas).decode()
    assert [v for v in published if v in versions or v in archive] == []


# --- the results' point of contact (issue 16), on a real record --------------------------

RESULTS_NCT = "NCT00084552"  # its results' point of contact: a person's name, e-mail and phone


def _results_document(corpus_dir: Path) -> dict:
    return orjson.loads((corpus_dir / "ctgov_v2" / f"{RESULTS_NCT}.json").read_bytes())


def _contact_details(doc: dict) -> list[str]:
    contact = doc["resultsSection"]["moreInfoModule"]["pointOfContact"]
    details = [contact["title"], contact["email"], contact["phone"]]
    assert all(isinstance(d, str) and len(d) > 6 for d in details)  # what is searched for is there
    return details


def _ingest_results(store, settings, doc: dict):
    info = FetchInfo("ctgov", RESULTS_NCT, "https://example.org/study", utcnow(), 0.0, http_status=200)
    result = Ingestor(settings, store).ingest_payload(get_source("ctgov"), RESULTS_NCT, orjson.dumps(doc), info)
    assert result.ok, result.error


def _exported(store: Store, tmp_path: Path, name: str) -> bytes:
    """The newest versions as the NDJSON, Elasticsearch and CSV exports write them."""
    nd, es = io.BytesIO(), io.BytesIO()
    ndjson(store, nd)
    es_bulk(store, es)
    write_tables(store, tmp_path / name, "csv")
    return nd.getvalue() + es.getvalue() + b"".join(p.read_bytes() for p in (tmp_path / name).glob("*.csv"))


@pytest.mark.corpus
def test_a_real_results_point_of_contact_is_left_out_at_reparse_flags_too(corpus_dir, store, settings, tmp_path):
    """NCT00084552's results name their point of contact (a person, an e-mail, a phone),
    here with the title of another shape (a list: coerced, flagged with its raw value).
    Stored while contacts were kept, then reparsed with TRIALMIRROR_PERSONAL_CONTACTS=false:
    the new version, its drift flag and the exports hold none of them; the organization stays."""
    doc = _results_document(corpus_dir)
    details = _contact_details(doc)
    contact = doc["resultsSection"]["moreInfoModule"]["pointOfContact"]
    contact["title"] = [contact["title"]]
    _ingest_results(store, settings, doc)
    flags = {f["path"]: f["value"] for f in json.loads(store.version(RESULTS_NCT, "ctgov").record)["unmapped"]}
    assert details[0] in flags["results.more_info.point_of_contact.title"]
    assert all(d.encode() in _exported(store, tmp_path, "kept") for d in details)  # the search finds them

    assert reparse(store, everything=True, keeping=Keeping(personal_contacts=False)).new_versions == 1
    newest = store.version(RESULTS_NCT, "ctgov")
    record = json.loads(newest.record)
    assert record["results"]["more_info"]["point_of_contact"] == {
        "title": None, "organization": contact["organization"], "email": None, "phone": None, "phone_ext": None}
    assert {f["path"]: f["value"] for f in record["unmapped"]} == {"results.more_info.point_of_contact.title": LEFT_OUT}
    assert [d for d in details if d in newest.record or d.encode() in _exported(store, tmp_path, "left-out")] == []
    # The drift table: the new version's flag without its value (the old version keeps what it held).
    assert ("results.more_info.point_of_contact.title", LEFT_OUT) in {(r.path, r.value) for r in store.drift()}
