"""What every registered source must do (STYLE 15): each source lists a sample payload here."""

import json

import pytest

from tests.fixtures import mirror_pages as mp
from tests.fixtures import nct01342250 as fx
from trialmirror.ingest.errors import InvalidIdError
from trialmirror.ingest.settings import Settings
from trialmirror.ingest.sources import SOURCES, get_source
from trialmirror.ingest.sources.base import Known
from trialmirror.models.record import Record
from trialmirror.store.canonical import content_hash
from trialmirror.store.core import FetchInfo, utcnow

SAMPLES = {  # source name -> (registry id, payload bytes, an invalid id)
    "ctgov": ("NCT01342250", json.dumps(fx.current()).encode(), "NCT123"),
    "ctgov_history": ("NCT01342250", json.dumps(fx.history_version(2)).encode(), "NCT123"),
    "ctv": ("NCT01342250", mp.semantic(mp.ctv_lines(fx.current())), "NCT123"),
    "ictrp": ("NCT01342250", mp.table(mp.ictrp_lines(fx.current())), "NCT123"),
}


def test_every_source_has_a_sample():
    assert sorted(SAMPLES) == sorted(SOURCES)


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

