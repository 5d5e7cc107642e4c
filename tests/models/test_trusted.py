"""The record's trusted lists (``Trusted`` in models/record.py: sites, the MeSH index, arms,
interventions, outcomes) are
not validated when a record is made; these tests validate them strictly, as the model
would, for every corpus record and every mirror sample (drifted documents: see
tests/ingest/test_drift_properties.py, which calls :func:`assert_trusted_lists_valid`)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from trialmirror.ingest.sources import ctgov
from trialmirror.models.record import (
    Arm,
    BrowseBranch,
    BrowseLeaf,
    Intervention,
    MeshTerm,
    Outcome,
    Record,
    Site,
)

_SITES = TypeAdapter(list[Site] | None)
_TERMS = TypeAdapter(list[MeshTerm] | None)
_LEAVES = TypeAdapter(list[BrowseLeaf] | None)
_BRANCHES = TypeAdapter(list[BrowseBranch] | None)
_ARMS = TypeAdapter(list[Arm] | None)
_INTERVENTIONS = TypeAdapter(list[Intervention] | None)
_OUTCOMES = TypeAdapter(list[Outcome] | None)


def assert_trusted_lists_valid(record: Record) -> None:
    """Each trusted list is what its declared type allows, exactly (strict: no coercion)."""
    checks: list[tuple[TypeAdapter[Any], Any]] = [
        (_SITES, record.sites), (_ARMS, record.arms), (_INTERVENTIONS, record.interventions)]
    if record.outcomes is not None:
        checks += [(_OUTCOMES, record.outcomes.primary), (_OUTCOMES, record.outcomes.secondary),
                   (_OUTCOMES, record.outcomes.other)]
    for index in (record.mesh.conditions, record.mesh.interventions) if record.mesh else ():
        if index is not None:
            checks += [(_TERMS, index.terms), (_TERMS, index.ancestors), (_LEAVES, index.leaves),
                       (_BRANCHES, index.branches)]
    for adapter, value in checks:
        adapter.validate_python(value, strict=True)


def test_a_wrong_value_in_a_trusted_list_is_caught_by_the_check():
    record = Record.model_validate({"registry_id": "NCT00000001", "source": "ctgov",
                                    "sites": [{"facility": 7}]})  # not validated when made
    with pytest.raises(ValidationError):
        assert_trusted_lists_valid(record)


def test_every_corpus_record_builds_valid_trusted_lists(corpus_dir):
    files = sorted((corpus_dir / "ctgov_v2").glob("NCT*.json"))
    assert files
    with_sites = with_mesh = 0
    for path in files:
        record = ctgov.parse(path.read_bytes(), path.stem)
        assert_trusted_lists_valid(record)
        with_sites += bool(record.sites)
        with_mesh += bool(record.mesh)
    assert with_sites > 500 and with_mesh > 500  # the check saw real lists


def test_mirror_samples_build_valid_trusted_lists(seeds_dir):
    from tests.fixtures import mirror_pages as mp
    from tests.fixtures import nct01342250 as fx
    from trialmirror.ingest.sources import ctv, ictrp

    records = [ctv.parse(markup(mp.seed_lines(seeds_dir / "ctv_veeva__NCT01342250.txt")), "NCT01342250")
               for markup in mp.CTV_MARKUPS.values()]
    records.append(ictrp.parse(mp.table(mp.seed_lines(seeds_dir / "who_ictrp__NCT01659762.txt")), "NCT01659762"))
    records.append(ictrp.parse(mp.table(mp.ictrp_lines(fx.current())), "NCT01342250"))
    for record in records:
        assert_trusted_lists_valid(record)
    assert any(r.sites for r in records)
