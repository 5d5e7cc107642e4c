"""What every registered source must do (STYLE 15): each source lists a sample payload here,
and what a local server plays for it: its fetch is checked against its parse."""

import ast
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.fixtures import mirror_pages as mp
from tests.fixtures import nct01342250 as fx
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.errors import InvalidIdError
from trialmirror.ingest.http import Http
from trialmirror.ingest.sources import SOURCES, get_source
from trialmirror.ingest.sources.base import ROLES, Known
from trialmirror.models.record import Record
from trialmirror.settings import Settings
from trialmirror.store.canonical import content_hash
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo

ROOT = Path(__file__).resolve().parents[2]
NCT = "NCT01342250"
TITLE = fx.current()["protocolSection"]["identificationModule"]["briefTitle"]
_HISTORY = [json.dumps(fx.history_version(n)).encode() for n in range(3)]
SAMPLES = {  # source name -> (registry id, payload bytes, an invalid id)
    "ctgov": (NCT, json.dumps(fx.current()).encode(), "NCT123"),
    "ctgov_history": (NCT, _HISTORY[2], "NCT123"),
    "ctv": (NCT, mp.semantic(mp.ctv_lines(fx.current())), "NCT123"),
    "ictrp": (NCT, mp.table(mp.ictrp_lines(fx.current())), "NCT123"),
}
SERVED = {  # source name -> what its server plays: path after the record's URL -> payload
    "ctgov_history": {"": json.dumps(fx.history_list()).encode(),
                      **{f"/{n}": raw for n, raw in enumerate(_HISTORY)}},
}


def test_every_source_has_a_sample():
    assert sorted(SAMPLES) == sorted(SOURCES)


def test_every_source_declares_its_role():
    assert {source.role for source in SOURCES.values()} <= set(ROLES)
    registry = [s for s in SOURCES.values() if s.role == "registry"]
    assert registry and len({s.rank for s in registry}) == len(registry)  # one order of states


@pytest.fixture(params=sorted(SOURCES))
def source(request):
    return get_source(request.param)


def test_parse_is_deterministic_and_valid(source):
    registry_id, raw, _ = SAMPLES[source.name]
    first, second = source.parse(raw, registry_id), source.parse(raw, registry_id)
    assert isinstance(first, Record) and first == second
    assert first.source == source.name and first.registry_id == registry_id
    assert Record.model_validate_json(first.model_dump_json()) == first  # survives a round trip
    assert content_hash(first) == content_hash(second)


def test_no_empty_strings_or_lists_in_records(source):
    registry_id, raw, _ = SAMPLES[source.name]

    def walk(value, path):
        assert value != "" and value != [], f"{path} is empty; null means 'not said'"
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")

    walk(source.parse(raw, registry_id).model_dump(mode="json"), "$")


def test_invalid_ids_are_refused(source):
    with pytest.raises(InvalidIdError):
        source.validate_id(SAMPLES[source.name][2])


def test_base_url_is_a_setting(source):
    registry_id = SAMPLES[source.name][0]
    local = Settings(**{f"{source.name}_base_url": "http://127.0.0.1:9"}, _env_file=None)
    known = Known(registry_id, title_lookup=lambda: "A Title")  # mirrors find pages by title
    assert source.url(local, registry_id, known).startswith("http://127.0.0.1:9/")


def test_same_payload_twice_adds_no_version(source, store, settings):
    from trialmirror.ingest.runs.pipeline import Ingestor

    registry_id, raw, _ = SAMPLES[source.name]
    ingestor = Ingestor(settings, store)
    outcomes = [ingestor.ingest_payload(source, registry_id, raw,
                                        FetchInfo(source.name, registry_id, None, utcnow(), 0.0)).outcome
                for _ in range(2)]
    assert outcomes == ["new_version", "unchanged"]
    assert len(store.versions(registry_id, source.name)) == 1



# --- fetch paired with parse, against a local server ------------------------------------

def _local(settings, source, server):
    return settings.model_copy(update={f"{source.name}_base_url": server.base_url, "max_retries": 0})


def _serve(server, source, local):
    """Play the source's payloads at the URL it asks for; returns that URL's path."""
    target = urlsplit(source.url(local, NCT, Known(NCT, title_lookup=lambda: TITLE)))
    path = target.path + (f"?{target.query}" if target.query else "")
    html = {"Content-Type": "text/html; charset=utf-8"} if source.role == "mirror" else {}
    for suffix, raw in SERVED.get(source.name, {"": SAMPLES[source.name][1]}).items():
        server.play(path + suffix, Reply(200, raw, html))
    return path


def test_what_a_source_fetches_parses_into_the_record_asked_for(source, settings):
    with ScriptedServer() as server:
        local = _local(settings, source, server)
        _serve(server, source, local)
        known = Known(NCT, title_lookup=lambda: TITLE)
        captures = list(source.captures(Http(local), local, known))
    records = [c for c in captures if not c.listing]
    assert records and all(c.http_status == 200 and c.url.startswith(server.base_url) for c in captures)
    for capture in records:
        first = source.parse(capture.raw, NCT, url=capture.url)
        assert first == source.parse(capture.raw, NCT, url=capture.url)  # deterministic
        assert (first.registry_id, first.source, first.source_url) == (NCT, source.name, capture.url)
        assert Record.model_validate_json(first.model_dump_json()) == first


def test_a_source_synced_twice_from_its_server_adds_no_version(source, settings, store):
    from trialmirror.ingest.runs.pipeline import Ingestor

    with ScriptedServer() as server:
        local = _local(settings, source, server)
        path = _serve(server, source, local)
        ingestor = Ingestor(local, store, pinned=lambda _source, _id: path)  # a mirror needs no title
        first = ingestor.run(source.name, [NCT])
        stored = len(store.versions(NCT, source.name))
        second = ingestor.run(source.name, [NCT])
    assert [r.outcome for r in first.results] == ["new_version"] * stored and stored >= 1
    assert {r.outcome for r in second.results} <= {"unchanged", "not_modified"}
    assert len(store.versions(NCT, source.name)) == stored
    assert all(f.duration_ms >= 0 and f.url.startswith(server.base_url) for f in store.fetches(NCT))


# --- no module but a source's own tests its name -----------------------------------------

_PACKAGES = ("api", "cli", "ingest", "models", "read", "schedules", "store")


def _names_in(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and n.value in SOURCES}


def test_no_module_outside_the_sources_compares_a_source_name():
    found = []
    for package in _PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.is_relative_to(ROOT / "ingest" / "sources"):
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                tests = [node.test] if isinstance(node, ast.If | ast.IfExp | ast.While | ast.Assert) else []
                tests += [node] if isinstance(node, ast.Compare) else []
                tests += [node] if isinstance(node, ast.Match) else []  # its cases too
                for test in tests:
                    for name in _names_in(test):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name!r}")
    assert not found, "ask the source registry by role instead:\n" + "\n".join(sorted(set(found)))
