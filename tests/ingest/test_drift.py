"""The drift policy on a real record: each single-field change a registry can make is
stored as a version with the value kept (or coerced) and flagged, never a rejected record.

NCT00379756 (../shared/corpus, read in place) has what every case needs: two arms linked
to two typed interventions, sites, a condition, ages and date kinds.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from trialmirror.ingest.sources import ctgov

RID = "NCT00379756"
Doc = dict[str, Any]


def _set(*keys: Any) -> Callable[[Any], Callable[[Doc], None]]:
    def value(v: Any) -> Callable[[Doc], None]:
        def mutate(doc: Doc) -> None:
            node = doc["protocolSection"]
            for k in keys[:-1]:
                node = node[k]
            node[keys[-1]] = v
        return mutate
    return value


def _append(*keys: str) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        node = doc["protocolSection"]
        for k in keys:
            node = node[k]
        node.append(None)
    return mutate


def _unknown_intervention_type(doc: Doc) -> None:
    arms = doc["protocolSection"]["armsInterventionsModule"]
    arms["interventions"][0]["type"] = "GENE_THERAPY"
    arms["armGroups"][0]["interventionNames"] = ["Gene Therapy: LEVITRA (vardenafil)"]


# (case, mutation, expected flag (path, raw value, action), what the record then holds)
CASES: list[tuple[str, Callable[[Doc], None], tuple[str, str, str], Callable[[Any], Any], Any]] = [
    ("overall status", _set("statusModule", "overallStatus")("PAUSED_FOR_REVIEW"),
     ("status.overall", "PAUSED_FOR_REVIEW", "kept"), lambda r: r.status.overall, "PAUSED_FOR_REVIEW"),
    ("phase", _set("designModule", "phases")(["PHASE5"]), ("phases", "PHASE5", "kept"),
     lambda r: r.phases, ["PHASE5"]),
    ("study type", _set("designModule", "studyType")("PRAGMATIC"), ("study_type", "PRAGMATIC", "kept"),
     lambda r: r.study_type, "PRAGMATIC"),
    ("sex", _set("eligibilityModule", "sex")("INTERSEX"), ("eligibility.sex", "INTERSEX", "kept"),
     lambda r: r.eligibility.sex, "INTERSEX"),
    ("intervention type", _unknown_intervention_type, ("interventions.type", "GENE_THERAPY", "kept"),
     lambda r: ([i["type"] for i in r.interventions], r.arms[0]["interventions"]),
     (["GENE_THERAPY", "DRUG"], ["LEVITRA (vardenafil)"])),  # still linked, by name
    ("arm type", _set("armsInterventionsModule", "armGroups", 0, "type")("ADAPTIVE"),
     ("arms.type", "ADAPTIVE", "kept"), lambda r: r.arms[0]["type"], "ADAPTIVE"),
    ("date kind", _set("statusModule", "startDateStruct", "type")("PROVISIONAL"),
     ("status.start.kind", "PROVISIONAL", "kept"), lambda r: r.status.start["kind"], "PROVISIONAL"),
    ("enrollment kind", _set("designModule", "enrollmentInfo", "type")("PROVISIONAL"),
     ("enrollment.kind", "PROVISIONAL", "kept"), lambda r: r.enrollment, {"count": 395, "kind": "PROVISIONAL"}),
    ("age unit", _set("eligibilityModule", "minimumAge")("18 Moons"),
     ("eligibility.min_age.unit", "Moons", "kept"), lambda r: r.eligibility.min_age,
     {"value": 18, "unit": "Moons", "years": None}),
    ("enrollment count as a string", _set("designModule", "enrollmentInfo", "count")("395"),
     ("enrollment.count", "395", "coerced"), lambda r: r.enrollment["count"], 395),
    ("healthy volunteers 'Yes'", _set("eligibilityModule", "healthyVolunteers")("Yes"),
     ("eligibility.healthy_volunteers", "Yes", "coerced"), lambda r: r.eligibility.healthy_volunteers, True),
    ("null location", _append("contactsLocationsModule", "locations"), ("sites", "null", "skipped"),
     lambda r: len(r.sites), 65),  # all 65 sites, none lost
    ("null arm group", _append("armsInterventionsModule", "armGroups"), ("arms", "null", "skipped"),
     lambda r: [a["label"] for a in r.arms], ["Levitra", "placebo"]),
    ("null condition", _append("conditionsModule", "conditions"), ("conditions", "null", "skipped"),
     lambda r: r.conditions, ["Erectile Dysfunction"]),
    ("date struct as a string", _set("statusModule", "startDateStruct")("2006-09"),
     ("status.start", "2006-09", "coerced"), lambda r: r.status.start, {"date": "2006-09", "kind": None}),
    ("last update as a string", _set("statusModule", "lastUpdatePostDateStruct")("2009-07-10"),
     ("status.last_update_posted", "2009-07-10", "coerced"), lambda r: r.source_version_date, "2009-07-10"),
    ("free-form date", _set("statusModule", "completionDateStruct", "date")("April 2008"),
     ("status.completion.date", "April 2008", "coerced"), lambda r: r.status.completion["date"], "2008-04"),
    ("unreadable date", _set("statusModule", "completionDateStruct", "date")("soon"),
     ("status.completion.date", "soon", "dropped"), lambda r: r.status.completion, None),
    ("a day that does not exist", _set("statusModule", "completionDateStruct", "date")("2008-02-30"),
     ("status.completion.date", "2008-02-30", "dropped"), lambda r: r.status.completion, None),
    ("a count of thousands of digits", _set("designModule", "enrollmentInfo", "count")("9" * 5000),
     ("enrollment.count", "9" * 199 + "…", "dropped"), lambda r: r.enrollment, {"count": None, "kind": "actual"}),
    ("a status in a list of one", _set("statusModule", "overallStatus")(["RECRUITING"]),
     ("status.overall", '["RECRUITING"]', "coerced"), lambda r: r.status.overall, "RECRUITING"),
    ("empty arm label", _set("armsInterventionsModule", "armGroups", 1, "label")(""),
     ("arms.label", "", "kept"), lambda r: [(a["label"], a["type"]) for a in r.arms],
     [("Levitra", "ACTIVE_COMPARATOR"), (None, "PLACEBO_COMPARATOR")]),
    ("age without a unit", _set("eligibilityModule", "minimumAge")("18"),
     ("eligibility.min_age.unit", "18", "kept"), lambda r: r.eligibility.min_age,
     {"value": 18, "unit": None, "years": None}),
    ("phases as a string", _set("designModule", "phases")("PHASE4"), ("phases", "PHASE4", "coerced"),
     lambda r: r.phases, ["PHASE4"]),
    ("conditions as a string", _set("conditionsModule", "conditions")("Impotence"),
     ("conditions", "Impotence", "coerced"), lambda r: r.conditions, ["Impotence"]),
    ("module of another shape", _set("outcomesModule")(["x"]),
     ("protocolSection.outcomesModule", '["x"]', "dropped"), lambda r: r.outcomes, None),
]


@pytest.fixture(scope="module")
def original(corpus_dir) -> Doc:
    return json.loads((corpus_dir / "ctgov_v2" / f"{RID}.json").read_bytes())


def _drifted(original: Doc, mutate: Callable[[Doc], None]) -> bytes:
    doc = copy.deepcopy(original)
    mutate(doc)
    return json.dumps(doc).encode()


def test_the_original_record_has_no_flags(original):
    assert ctgov.parse(json.dumps(original).encode(), RID).unmapped is None


@pytest.mark.corpus
@pytest.mark.parametrize(("case", "mutate", "flag", "read", "expected"), CASES, ids=[c[0] for c in CASES])
def test_one_drifted_field_is_kept_and_flagged(original, case, mutate, flag, read, expected):
    record = ctgov.parse(_drifted(original, mutate), RID)
    assert flag in {(u["path"], u["value"], u["action"]) for u in record.unmapped}
    assert read(record) == expected
    assert record.titles.brief and record.sponsors.lead  # the rest of the record stands


@pytest.mark.corpus
def test_each_drift_stores_a_version_and_drift_counts_it(original, store):
    before = ctgov.parse(json.dumps(original).encode(), RID)
    assert store.put(before, fetch=None, raw_sha256=None).outcome == "new_version"
    for case, mutate, flag, _read, _expected in CASES:
        put = store.put(ctgov.parse(_drifted(original, mutate), RID), fetch=None, raw_sha256=None)
        assert put.outcome == "new_version", case
        stored = json.loads(store.version(RID, "ctgov", put.version).record)
        assert dict(zip(("path", "value", "action"), flag, strict=True)) in stored["unmapped"], case
    found = {(r.path, r.value, r.action): r for r in store.drift()}
    assert {c[2] for c in CASES} <= set(found)
    assert all(r.records == 1 and r.source == "ctgov" and r.example == RID for r in found.values())
    assert {r.value for r in store.drift(paths=["status.overall"])} == {"PAUSED_FOR_REVIEW", '["RECRUITING"]'}
    assert store.drift(sources=["ctv"]) == []
