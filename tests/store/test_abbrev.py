"""Abbreviations a record defines, read into its search text (never into the record)."""

import copy
import json

import pytest

from tests.fixtures import nct01342250 as fx
from trialmirror.ingest.sources import ctgov
from trialmirror.store import abbrev, search

UC = "human umbilical cord mesenchymal stem cells"


def _record():
    return ctgov.parse(json.dumps(fx.current()).encode(), "NCT01342250").model_dump(mode="json")


def test_the_reconstructed_record_defines_its_cells():
    record = _record()
    found = abbrev.definitions([record["summary"], record["description"]])
    assert found["hUC-MSCs"] == UC
    assert found["BM-MSCs"].lower() == "bone marrow derived mesenchymal stem cells"


@pytest.mark.parametrize(("text", "expected"), [
    ("The emergency room (ER) was busy.", {"ER": "emergency room"}),
    # the long form may hold more words than the short form has letters
    ("Response Evaluation Criteria in Solid Tumors (RECIST) v1.1", {
        "RECIST": "Response Evaluation Criteria in Solid Tumors"}),
    ("a 10-meter walk test (10MWT) at baseline", {"10MWT": "10-meter walk test"}),
    # the definition stays inside its clause
    ("Patients were treated. Serious adverse events (SAEs) were recorded.",
     {"SAEs": "Serious adverse events"}),
])
def test_definitions_found(text, expected):
    assert abbrev.definitions([text]) == expected


@pytest.mark.parametrize("text", [
    "take one tablet (optional) at night",       # no capital: a word, not an abbreviation
    "dosed twice daily (BID)",                   # B is nowhere in "dosed twice daily"
    "placebo (n = 20)",                          # three words
    "the study drug (2023)",                     # digits only
    "Heart failure (HF-REF2024-long)",           # longer than ten characters
    "Cells (C)",                                  # one letter
])
def test_no_definition(text):
    assert abbrev.definitions([text]) == {}


def test_each_use_gains_the_long_form_and_the_definition_itself_does_not():
    expand = abbrev.Expander({"hUC-MSCs": UC})
    assert expand(f"safety of {UC} (hUC-MSCs) in cirrhosis") == f"safety of {UC} (hUC-MSCs) in cirrhosis"
    assert expand("low dose hUC-MSCs; one hUC-MSC per kg").split("\n")[1:] == [UC, UC]  # plural or not
    assert expand("XhUC-MSCs and hUC-MSCsX") == "XhUC-MSCs and hUC-MSCsX"  # whole words only
    assert expand(None) is None


def test_case_matters_for_short_forms():
    expand = abbrev.Expander({"ED": "erectile dysfunction"})
    assert expand("treated ED") == "treated ED\nerectile dysfunction"
    assert expand("the patient was treated") == "the patient was treated"  # "ed" inside words
    assert abbrev.Expander({})("treated ED") == "treated ED"  # nothing defined: nothing added


def test_the_search_text_reads_abbreviations_and_the_record_is_untouched():
    record = _record()
    before = copy.deepcopy(record)
    doc = search.document(record)
    assert record == before
    arms = doc["arms"].split("\n")
    # three arm labels and three descriptions say "hUC-MSCs": six long forms follow them
    assert arms[:len(record["arms"]) * 2] == (
        [a["label"] for a in record["arms"]] + [a["description"] for a in record["arms"]])
    assert arms[len(record["arms"]) * 2:] == [UC] * 6
    assert doc["interventions"].count(UC) == 3
    assert doc["title"].split("\n")[0] == record["titles"]["brief"]  # what search results show
