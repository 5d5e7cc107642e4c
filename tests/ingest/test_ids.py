"""A ClinicalTrials.gov id is NCT and eight ASCII digits, wherever one is read: a
command's argument, a source's validate_id, the canary setting, a bulk page's study."""

import pytest
from pydantic import ValidationError

from trialmirror.errors import InvalidIdError
from trialmirror.ingest.sources import SOURCES, get_source
from trialmirror.ingest.sources.ctgov import search
from trialmirror.settings import Settings

# Digits Unicode calls digits (Python's \d takes them): full-width, Arabic-Indic, Devanagari.
NOT_IDS = ["NCT０１３４２２５０", "NCT٠١٣٤٢٢٥٠", "NCT०१३४२२५०", "NCT0134225０", "NCT01342250\n1"]


@pytest.mark.parametrize("name", sorted(SOURCES))
@pytest.mark.parametrize("candidate", NOT_IDS)
def test_every_source_refuses_an_id_with_other_digits(name, candidate):
    with pytest.raises(InvalidIdError):
        get_source(name).validate_id(candidate)
    assert get_source(name).validate_id(" nct01342250 ") == "NCT01342250"


@pytest.mark.parametrize("candidate", NOT_IDS)
def test_the_canary_setting_refuses_an_id_with_other_digits(candidate):
    with pytest.raises(ValidationError, match="not a ClinicalTrials.gov id"):
        Settings(canary_id=candidate, _env_file=None)


def test_a_bulk_page_study_keys_the_store_only_by_a_real_id():
    def study(nct, aliases):
        return {"protocolSection": {"identificationModule": {"nctId": nct, "nctIdAliases": aliases}}}

    assert search.study_id(study("NCT01342250", [])) == "NCT01342250"
    assert search.study_id(study(NOT_IDS[0], [])) is None  # reported under its place on the page
    assert search.aliases(study("NCT01342250", ["NCT00000001", NOT_IDS[1], 7])) == ["NCT00000001"]
    assert search.aliases(study("NCT01342250", NOT_IDS[0])) == []
