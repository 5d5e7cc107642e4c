"""The pure ctgov parser on the reconstructed NCT01342250 document and on edge cases."""

import json

import pytest

from tests.fixtures import nct01342250 as fx
from trialmirror.errors import InvalidIdError, ParseError
from trialmirror.ingest.sources import ctgov


def _parse(doc, registry_id="NCT01342250"):
    return ctgov.parse(json.dumps(doc).encode(), registry_id)


def test_reconstructed_record_fields():
    r = _parse(fx.current())
    assert r.registry_id == "NCT01342250" and r.source == "ctgov"
    assert r.titles.brief.startswith("Human Umbilical Cord Mesenchymal Stem Cells")
    assert r.titles.official.startswith("Phase \u0399/\u03a0 Study")
    assert r.identifiers.org_study_id == "BKCR-LD-1.0(2010)"
    assert r.status.overall == "COMPLETED"
    assert r.status.start == {"date": "2010-10", "kind": None}
    assert r.status.primary_completion == {"date": "2011-07", "kind": "actual"}
    assert r.status.completion == {"date": "2011-10", "kind": "actual"}
    assert r.source_version_date == "2011-10-14"
    assert r.study_type == "INTERVENTIONAL" and r.phases == ["PHASE1", "PHASE2"]
    assert r.design.model_dump(exclude_none=True) == {
        "allocation": "RANDOMIZED", "intervention_model": "PARALLEL", "masking": "NONE",
        "primary_purpose": "TREATMENT"}
    assert r.enrollment == {"count": 20, "kind": "actual"}
    assert r.conditions == ["Liver Cirrhosis"]
    assert [(a["label"], a["type"], a["interventions"]) for a in r.arms] == [
        (label, "EXPERIMENTAL", [f"conventional therapy plus {dose} dose hUC-MSCs treatment"])
        for label, dose in fx.ARMS]
    assert {(i["type"], i["name"]) for i in r.interventions} == {
        ("BIOLOGICAL", f"conventional therapy plus {d} dose hUC-MSCs treatment") for d in ("low", "medium", "high")}
    e = r.eligibility
    assert e.inclusion == fx.INCLUSION and e.exclusion == fx.EXCLUSION
    assert e.criteria_layout == "headed" and e.unclassified is None
    assert e.min_age == {"value": 18, "unit": "YEARS", "years": 18.0}
    assert e.max_age == {"value": 70, "unit": "YEARS", "years": 70.0}
    assert e.sex == "ALL" and e.healthy_volunteers is False
    # The collaborator is known by its class only (CTV's funder types): its name stays null.
    assert r.sponsors.model_dump(exclude_none=True) == {
        "lead": {"name": "Beike Biotech", "class": "INDUSTRY"},
        "collaborators": [{"name": None, "class": "OTHER"}]}  # its name stays null
    site = r.sites[0]
    assert (site["city"], site["country"]) == ("Shanghai", "China")
    assert (site["latitude"], site["longitude"]) == (31.22222, 121.45806)  # the registry's geocode
    assert r.description.startswith("To investigate the safety")
    assert r.mesh.conditions.terms == [{"id": "D008103", "term": "Liver Cirrhosis"}]
    assert {"id": "D008107", "term": "Liver Diseases"} in r.mesh.conditions.ancestors
    assert r.has_results is False
    # What the reconstruction leaves out stays null, never "" or [].
    assert r.outcomes is None and r.keywords is None and r.unmapped is None
    assert r.oversight is None and r.ipd_sharing is None and r.references is None and r.contacts is None


def test_record_json_uses_contract_names():
    data = _parse(fx.current()).model_dump(mode="json")
    assert list(data) == [
        "registry_id", "source", "source_url", "source_version_date", "titles", "identifiers",
        "status", "study_type", "phases", "design", "enrollment", "conditions", "keywords", "arms",
        "interventions", "eligibility", "outcomes", "sponsors", "sites", "summary", "description",
        "has_results", "contacts", "oversight", "references", "ipd_sharing", "mesh", "documents",
        "annotations", "registry_info", "results", "unmapped"]
    assert data["sponsors"]["lead"]["class"] == "INDUSTRY"


@pytest.mark.parametrize(("text", "expected"), [
    ("6 Months", {"value": 6, "unit": "MONTHS", "years": 0.5}),
    ("2 Weeks", {"value": 2, "unit": "WEEKS", "years": 0.0383}),
    ("N/A", None),
])
def test_ages(text, expected):
    doc = fx.current()
    doc["protocolSection"]["eligibilityModule"]["minimumAge"] = text
    age = _parse(doc).eligibility.min_age
    assert age == expected


def test_unknown_enum_values_are_kept_and_flagged_not_fatal():
    doc = fx.current()
    doc["protocolSection"]["statusModule"]["overallStatus"] = "PAUSED_FOR_REVIEW"
    doc["protocolSection"]["designModule"]["phases"] = ["PHASE1", "PHASE5"]
    doc["protocolSection"]["eligibilityModule"]["minimumAge"] = "3 Fortnights"
    r = _parse(doc)
    assert r.status.overall == "PAUSED_FOR_REVIEW" and r.phases == ["PHASE1", "PHASE5"]
    assert {(u["path"], u["value"], u["action"]) for u in r.unmapped} == {
        ("status.overall", "PAUSED_FOR_REVIEW", "kept"), ("phases", "PHASE5", "kept"),
        ("eligibility.min_age.unit", "Fortnights", "kept")}
    assert r.eligibility.min_age["years"] is None


def test_unknown_enrollment_sentinel_reads_as_not_said():
    doc = fx.current()
    doc["protocolSection"]["designModule"]["enrollmentInfo"] = {"count": 99_999_999, "type": "ESTIMATED"}
    assert _parse(doc).enrollment == {"count": None, "kind": "anticipated"}


def test_unknown_keys_are_tolerated():
    doc = fx.current()
    doc["protocolSection"]["contactsLocationsModule"]["locations_nested"] = [{"x": 1}]
    doc["protocolSection"]["miscInfoModule"] = {"modelPredictions": {}}
    assert _parse(doc).sites[0]["city"] == "Shanghai"


@pytest.mark.parametrize(("mutate", "field", "flag", "expected"), [
    (lambda d: d["protocolSection"]["designModule"].update(phases="PHASE1"),
     "phases", ("phases", "PHASE1", "coerced"), ["PHASE1"]),
    (lambda d: d["protocolSection"]["designModule"]["enrollmentInfo"].update(count="twenty"),
     "enrollment", ("enrollment.count", "twenty", "dropped"), {"count": None, "kind": "actual"}),
    (lambda d: d["protocolSection"]["armsInterventionsModule"].update(armGroups=["x", None]),
     "arms", ("arms", "x", "skipped"), None),
    (lambda d: d["protocolSection"]["armsInterventionsModule"]["armGroups"][1].update(description={"x": 1}),
     "arms", ("arms.description", '{"x":1}', "dropped"), None),
])
def test_a_changed_shape_is_flagged_not_a_rejected_record(mutate, field, flag, expected):
    doc = fx.current()
    mutate(doc)
    r = _parse(doc)
    assert flag in {(u["path"], u["value"], u["action"]) for u in r.unmapped}
    if expected is not None:
        assert getattr(r, field) == expected
    assert r.status.overall == "COMPLETED" and r.titles.brief  # the rest of the record stands


@pytest.mark.parametrize(("mutate", "path"), [
    (lambda d: d.pop("protocolSection"), "$.protocolSection"),
    (lambda d: d["protocolSection"].update(identificationModule="NCT01342250"),
     "protocolSection.identificationModule.nctId"),
    (lambda d: d["protocolSection"]["identificationModule"].pop("nctId"),
     "protocolSection.identificationModule.nctId"),
])
def test_a_document_that_names_no_study_is_refused(mutate, path):
    doc = fx.current()
    mutate(doc)
    with pytest.raises(ParseError) as info:
        _parse(doc)
    assert info.value.field_path == path
    assert "NCT01342250" in str(info.value) and "[ctgov]" in str(info.value)


def test_malformed_json_is_a_parse_error():
    with pytest.raises(ParseError, match="malformed JSON"):
        ctgov.parse(b'{"protocolSection": {', "NCT01342250")


def test_document_for_another_record_is_refused():
    with pytest.raises(ParseError, match="document is for NCT01342250, not NCT00000001"):
        _parse(fx.current(), "NCT00000001")


@pytest.mark.parametrize("bad", ["NCT0134225", "nct 01342250", "01342250", "NCT013422500", ""])
def test_invalid_ids_are_refused(bad):
    with pytest.raises(InvalidIdError):
        ctgov.validate_id(bad)


def test_ids_are_normalized():
    assert ctgov.validate_id(" nct01342250 ") == "NCT01342250"
