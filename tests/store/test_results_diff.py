"""Diffs of the results section (issue 16) on real corpus records: a corrected value is a
change at a path that names the measure, class, category and group; a reorder is no
change; each module has its change kind; and the diff applied to the old record gives the
new one. Each new version is the registry's document edited as a correction would edit it,
parsed by the ctgov parser."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trialmirror.ingest.sources import ctgov
from trialmirror.store.canonical import canonicalize, content_hash, content_of
from trialmirror.store.diff import LIST_KEYS, apply, diff

pytestmark = pytest.mark.corpus

Doc = dict[str, Any]


def _document(corpus_dir: Path, registry_id: str) -> Doc:
    return json.loads((corpus_dir / "ctgov_v2" / f"{registry_id}.json").read_bytes())


def _content(doc: Doc, registry_id: str) -> dict[str, Any]:
    return content_of(ctgov.parse(json.dumps(doc).encode(), registry_id))


def _versions(corpus_dir: Path, registry_id: str, edit: Callable[[Doc], None]) -> tuple[dict, dict]:
    """The record as the corpus has it, and as it reads after ``edit`` of its document."""
    doc = _document(corpus_dir, registry_id)
    old = _content(doc, registry_id)
    edited = copy.deepcopy(doc)
    edit(edited["resultsSection"])
    return old, _content(edited, registry_id)


def _diff(old: dict, new: dict) -> list[dict]:
    changes = diff(old, new)
    assert canonicalize(content_of(apply(old, changes))) == canonicalize(new)  # the diff is exact
    return changes


def _measures(results: Doc) -> list[Doc]:
    return results["outcomeMeasuresModule"]["outcomeMeasures"]


def _reverse_lists(node: Any) -> None:
    """Every list of the results section reversed, in place: the same results."""
    if isinstance(node, dict):
        for value in node.values():
            _reverse_lists(value)
    elif isinstance(node, list):
        node.reverse()
        for value in node:
            _reverse_lists(value)


ERECTILE = 'results.outcome_measures[type="PRIMARY",title="Erectile Dysfunction Rates"]'


def test_a_corrected_measurement_is_a_change_of_its_value_at_a_readable_path(corpus_dir):
    def correct(results: Doc) -> None:
        _measures(results)[0]["classes"][0]["categories"][0]["measurements"][0]["value"] = "28"

    old, new = _versions(corpus_dir, "NCT00084552", correct)
    at = f'{ERECTILE}.classes[title=null].categories[title=null].measurements[group="OG000"]'
    assert _diff(old, new) == [
        {"path": f"{at}.value", "op": "replace", "old": "27", "new": "28", "kind": "results_outcomes"},
        {"path": f"{at}.value_num", "op": "replace", "old": 27.0, "new": 28.0, "kind": "results_outcomes"}]


def test_a_reorder_is_no_change_and_a_correction_among_it_is_one(corpus_dir):
    """Every list of the results section reversed (measures, groups, classes, analyses, the
    groups an analysis compares, events and their stats ...) and one event count corrected."""
    def reorder_and_correct(results: Doc) -> None:
        other = results["adverseEventsModule"]["otherEvents"]
        assert other[0]["term"] == "Hyperkalaemia" and other[0]["stats"][0]["groupId"] == "EG000"
        other[0]["stats"][0]["numAffected"] = 5
        _reverse_lists(results)

    old, new = _versions(corpus_dir, "NCT00106392", reorder_and_correct)
    assert _diff(old, new) == [{
        "path": 'results.adverse_events.other[term="Hyperkalaemia",organ_system="Metabolism and '
                'nutrition disorders"].stats[group="EG000"].affected',
        "op": "replace", "old": 4, "new": 5, "kind": "results_adverse_events"}]


def _first_measurement(results: Doc) -> Doc | None:
    for measure in _measures(results) if "outcomeMeasuresModule" in results else ():
        for cls in measure.get("classes") or ():
            for category in cls.get("categories") or ():
                for measurement in category.get("measurements") or ():
                    if measurement.get("value"):
                        return measurement  # type: ignore[no-any-return]
    return None


def test_in_every_corpus_record_a_reordered_correction_is_a_change_of_that_value(corpus_dir):
    """Each of the 78 corpus records with results, its every results list reversed and the
    first measurement of its outcome measures corrected: the diff is that value, as text and
    as number, at a path that selects the measure, class, category and group by key."""
    checked = 0
    for path in sorted((corpus_dir / "ctgov_v2").glob("NCT*.json")):
        doc = json.loads(path.read_bytes())
        if "resultsSection" not in doc:
            continue
        old = _content(doc, path.stem)
        _reverse_lists(doc["resultsSection"])
        assert content_hash(_content(doc, path.stem)) == content_hash(old)  # a reorder: the same version
        measurement = _first_measurement(doc["resultsSection"])
        if measurement is not None:
            measurement["value"] = "999"
        changes = _diff(old, _content(doc, path.stem))
        checked += 1
        if measurement is None:  # no outcome measure with a value (results with measures not posted)
            assert changes == [], path.stem
            continue
        selected = f'.measurements[group="{measurement["groupId"]}"]'
        assert [(c["op"], c["path"].rsplit(".", 1)[1], c["new"]) for c in changes] == [
            ("replace", "value", "999"), ("replace", "value_num", 999.0)], path.stem
        for change in changes:
            assert change["path"].startswith("results.outcome_measures[type=") and selected in change["path"]
            assert ".classes[title=" in change["path"] and ".categories[title=" in change["path"]
    assert checked == 78


def test_an_added_analysis_is_one_add_under_its_measure(corpus_dir):
    added = {"groupIds": ["OG001", "OG000"], "nonInferiorityType": "SUPERIORITY_OR_OTHER",
             "pValue": "0.04", "statisticalMethod": "Chi-squared"}

    def add(results: Doc) -> None:
        _measures(results)[1]["analyses"].append(added)

    old, new = _versions(corpus_dir, "NCT00106392", add)
    measure = ('results.outcome_measures[type="SECONDARY",title="Percentage of Patients Achieving '
               'Normal Spontaneous Erectile Function as Measured by the Erectile Function (EF) Domain Score"]')
    (change,) = _diff(old, new)
    assert (change["path"], change["op"], change["old"], change["kind"]) == (
        f"{measure}.analyses", "add", None, "results_outcomes")
    assert {k: v for k, v in change["new"].items() if v is not None} == {
        "groups": ["OG001", "OG000"], "non_inferiority_type": "SUPERIORITY_OR_OTHER", "p_value": "0.04",
        "p_value_num": 0.04, "statistical_method": "Chi-squared"}


def test_an_analysis_is_found_by_the_groups_it_compares_in_any_order(corpus_dir):
    def correct(results: Doc) -> None:
        analysis = _measures(results)[0]["analyses"][0]
        analysis["groupIds"].reverse()
        analysis["pValue"] = "0.112"

    old, new = _versions(corpus_dir, "NCT00106392", correct)
    at = ('results.outcome_measures[type="PRIMARY",title="Erectile Function Domain Score Between Treated '
          'and Untreated Groups"].analyses[groups=["OG001","OG000"],param_type=null,'
          'statistical_method="Wilcoxon (Mann-Whitney)"]')
    assert [(c["path"], c["old"], c["new"]) for c in _diff(old, new)] == [
        (f"{at}.p_value", "0.111", "0.112"), (f"{at}.p_value_num", 0.111, 0.112)]


def test_where_keys_repeat_more_keys_tell_the_items_apart(corpus_dir):
    """NCT00301262 has two secondary measures of one title (their time frames differ);
    NCT00422734 two ANCOVAs of OG000 and OG001 in one measure (their descriptions and
    p-value comments differ): the selector names what tells them apart."""
    title = "Percentage of Occasions of Successful Intercourse (Event Log)"

    def correct_unit(results: Doc) -> None:
        (second,) = [m for m in _measures(results) if m["title"] == title and m["timeFrame"] == "Week 8 to Week 14"]
        second["unitOfMeasure"] = "percent of occasions"

    old, new = _versions(corpus_dir, "NCT00301262", correct_unit)
    assert [(c["path"], c["old"], c["new"]) for c in _diff(old, new)] == [(
        f'results.outcome_measures[type="SECONDARY",title="{title}",time_frame="Week 8 to Week 14"].unit',
        "percentage of occasions", "percent of occasions")]

    def correct(results: Doc) -> None:
        (measure,) = [m for m in _measures(results) if m["title"].startswith("Improvement in the Sexual Quality")]
        partner = measure["analyses"][1]
        assert partner["pValueComment"].startswith("P-value for Partner.")
        partner["pValue"] = "0.002"

    old, new = _versions(corpus_dir, "NCT00422734", correct)
    changes = _diff(old, new)
    assert [c["path"].rsplit(".", 1)[1] for c in changes] == ["p_value", "p_value_modifier", "p_value_num"]
    analysis = changes[0]["path"].split(".analyses", 1)[1]
    assert analysis.startswith('[groups=["OG000","OG001"],param_type=null,statistical_method="ANCOVA",'
                               'group_description=')
    assert ',p_value_comment="P-value for Partner.' in analysis


def test_items_nothing_tells_apart_are_compared_whole(corpus_dir):
    """NCT01160289 gives two ANCOVAs of OG001 and OG003 with the same description and comment,
    differing only in their results: a corrected one is a removed and an added analysis."""
    def correct(results: Doc) -> None:
        (measure,) = [m for m in _measures(results) if m["title"].endswith("by Testosterone Concentration Subgroups")]
        (analysis,) = [a for a in measure["analyses"] if a["groupIds"] == ["OG001", "OG003"] and a["pValue"] == "0.433"]
        analysis["pValue"] = "0.434"

    old, new = _versions(corpus_dir, "NCT01160289", correct)
    changes = _diff(old, new)
    assert [(c["op"], (c["old"] or c["new"])["p_value"]) for c in changes] == [("remove", "0.433"), ("add", "0.434")]
    assert {c["path"].rsplit(".", 1)[1] for c in changes} == {"analyses"}


def test_the_results_lists_are_matched_item_by_item_across_the_corpus(corpus_dir):
    """Over the 78 corpus records with results, the keys tell the items of every results list
    apart (with MORE_KEYS where the list's own repeat), but for one list of analyses."""
    from trialmirror.store.diff import _matched

    whole: list[str] = []

    def walk(node: Any, schema: str, registry_id: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{schema}.{key}", registry_id)
        elif isinstance(node, list) and node:
            if all(isinstance(i, dict) for i in node):
                assert schema in LIST_KEYS, f"{schema} has no keys"
                if _matched(node, node, schema) is None:
                    whole.append(f"{registry_id} {schema}")
            for value in node:
                walk(value, schema, registry_id)

    for path in sorted((corpus_dir / "ctgov_v2").glob("NCT*.json")):
        content = content_of(ctgov.parse(path.read_bytes(), path.stem))
        walk(content.get("results"), "results", path.stem)
    assert whole == ["NCT01160289 results.outcome_measures.analyses"]


@pytest.mark.parametrize(("edit", "kind"), [
    (lambda r: r["participantFlowModule"]["periods"][0]["milestones"][0]["achievements"][0].update(numSubjects="63"),
     "results_flow"),
    (lambda r: r["baselineCharacteristicsModule"]["measures"][0].update(unitOfMeasure="years of age"),
     "results_baseline"),
    (lambda r: _measures(r)[0].update(timeFrame="12 months"), "results_outcomes"),
    (lambda r: r["adverseEventsModule"].update(frequencyThreshold="1"), "results_adverse_events"),
    (lambda r: r["moreInfoModule"]["pointOfContact"].update(phone="555-0100"), "results_more_info"),
])
def test_each_results_module_has_its_change_kind(corpus_dir, edit, kind):
    old, new = _versions(corpus_dir, "NCT00106392", edit)
    assert {c["kind"] for c in _diff(old, new)} == {kind}


def test_results_posted_for_the_first_time_are_one_change_of_kind_results(corpus_dir):
    doc = _document(corpus_dir, "NCT00106392")
    new = _content(doc, "NCT00106392")
    del doc["resultsSection"]
    old = _content(doc, "NCT00106392")
    changes = _diff(old, new)
    assert [(c["path"], c["op"], c["old"], c["kind"]) for c in changes] == [("results", "replace", None, "results")]
    assert changes[0]["new"] == new["results"]
