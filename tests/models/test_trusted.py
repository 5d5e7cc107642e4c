"""The record's trusted items (``Trusted`` in models/record.py) are not validated when a
record is made; :func:`check_trusted` validates them strictly. The test suite runs with
TRIALMIRROR_CHECK_TRUSTED=1 (tests/conftest.py), so every record a parser makes in any
test is checked whole; these tests show the check catches what the model let through,
and run it over the whole corpus and the mirror samples."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from trialmirror.ingest.sources import ctgov
from trialmirror.models.record import Record, check_trusted


@pytest.mark.parametrize("data", [
    {"sites": [{"facility": 7}]},  # an item of a trusted list
    {"status": {"start": {"date": 2010, "kind": None}}},  # a trusted item in a section
    {"mesh": {"conditions": {"terms": [{"id": "D1"}]}}},  # a missing key, two sections down
])
def test_the_check_catches_what_the_model_trusted(data):
    record = Record.model_validate({"registry_id": "NCT00000001", "source": "ctgov", **data})
    with pytest.raises(ValidationError):
        check_trusted(record)


def test_the_suite_checks_every_parsed_record():
    import os

    assert os.environ.get("TRIALMIRROR_CHECK_TRUSTED") == "1"


def test_every_corpus_record_builds_valid_trusted_items(corpus_dir):
    files = sorted((corpus_dir / "ctgov_v2").glob("NCT*.json"))
    assert files
    with_sites = with_mesh = 0
    for path in files:
        record = ctgov.parse(path.read_bytes(), path.stem)
        check_trusted(record)
        with_sites += bool(record.sites)
        with_mesh += bool(record.mesh)
    assert with_sites > 500 and with_mesh > 500  # the check saw real lists


def test_mirror_samples_build_valid_trusted_items(seeds_dir):
    from tests.fixtures import mirror_pages as mp
    from tests.fixtures import nct01342250 as fx
    from trialmirror.ingest.sources import ctv, ictrp

    records = [ctv.parse(markup(mp.seed_lines(seeds_dir / "ctv_veeva__NCT01342250.txt")), "NCT01342250")
               for markup in mp.CTV_MARKUPS.values()]
    records.append(ictrp.parse(mp.table(mp.seed_lines(seeds_dir / "who_ictrp__NCT01659762.txt")), "NCT01659762"))
    records.append(ictrp.parse(mp.table(mp.ictrp_lines(fx.current())), "NCT01342250"))
    for record in records:
        check_trusted(record)
    assert any(r.sites for r in records)
