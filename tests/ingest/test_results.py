"""The results section as the record keeps it (models/results.py), against the registry's
own documents: every corpus record with results keeps the source's numbers of outcome
measures, analyses, baseline measures, milestones and events, and a sample of 50
measurements per record holds, value by value, what the source wrote.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from trialmirror.ingest.parsing.numbers import bounded, count, number
from trialmirror.ingest.sources import ctgov
from trialmirror.ingest.sources.ctgov.results import arm_index

SAMPLE = 50


def _with_results(corpus_dir: Path) -> list[Path]:
    files = [p for p in sorted((corpus_dir / "ctgov_v2").glob("NCT*.json")) if b'"resultsSection"' in p.read_bytes()]
    assert len(files) >= 78  # the corpus's records with results
    return files


def _source_counts(section: dict[str, Any]) -> dict[str, int]:
    outcomes = (section.get("outcomeMeasuresModule") or {}).get("outcomeMeasures") or []
    ae = section.get("adverseEventsModule") or {}
    periods = (section.get("participantFlowModule") or {}).get("periods") or []
    return {
        "outcome measures": len(outcomes),
        "analyses": sum(len(o.get("analyses") or []) for o in outcomes),
        "baseline measures": len((section.get("baselineCharacteristicsModule") or {}).get("measures") or []),
        "milestones": sum(len(p.get("milestones") or []) for p in periods),
        "withdrawal reasons": sum(len(p.get("dropWithdraws") or []) for p in periods),
        "serious events": len(ae.get("seriousEvents") or []),
        "other events": len(ae.get("otherEvents") or []),
        "event groups": len(ae.get("eventGroups") or []),
    }


def _record_counts(results: dict[str, Any]) -> dict[str, int]:
    outcomes = results["outcome_measures"] or []
    ae = results["adverse_events"] or {}
    periods = (results["participant_flow"] or {}).get("periods") or []
    return {
        "outcome measures": len(outcomes),
        "analyses": sum(len(o["analyses"] or []) for o in outcomes),
        "baseline measures": len((results["baseline"] or {}).get("measures") or []),
        "milestones": sum(len(p["milestones"] or []) for p in periods),
        "withdrawal reasons": sum(len(p["drop_withdraws"] or []) for p in periods),
        "serious events": len(ae.get("serious") or []),
        "other events": len(ae.get("other") or []),
        "event groups": len(ae.get("groups") or []),
    }


def _measurements(measures: list[dict[str, Any]]) -> list[tuple[str, Any, Any, dict[str, Any]]]:
    """(measure title, class title, category title, measurement) in order, from either side."""
    out = []
    for m in measures:
        for cl in m.get("classes") or []:
            for cat in cl.get("categories") or []:
                for me in cat.get("measurements") or []:
                    out.append((m.get("title"), cl.get("title"), cat.get("title"), me))
    return out


def test_every_record_with_results_keeps_the_sources_counts(corpus_dir):
    wrong = []
    totals: dict[str, int] = {}
    for path in _with_results(corpus_dir):
        raw = path.read_bytes()
        source = _source_counts(json.loads(raw)["resultsSection"])
        record = ctgov.parse(raw, path.stem).model_dump(mode="json")
        assert record["results"] is not None, path.stem
        kept = _record_counts(record["results"])
        if kept != source:
            wrong.append(f"{path.stem}: source {source}, record {kept}")
        for key, n in kept.items():
            totals[key] = totals.get(key, 0) + n
    assert not wrong, "\n".join(wrong)
    assert totals["outcome measures"] > 800 and totals["serious events"] > 600  # the corpus was read


def test_a_sample_of_measurements_per_record_holds_the_source_values(corpus_dir):
    checked = 0
    for path in _with_results(corpus_dir):
        raw = path.read_bytes()
        section = json.loads(raw)["resultsSection"]
        results = ctgov.parse(raw, path.stem).model_dump(mode="json")["results"]
        src = _measurements((section.get("outcomeMeasuresModule") or {}).get("outcomeMeasures") or [])
        src += _measurements((section.get("baselineCharacteristicsModule") or {}).get("measures") or [])
        rec = _measurements(results["outcome_measures"] or [])
        rec += _measurements((results["baseline"] or {}).get("measures") or [])
        assert len(rec) == len(src), path.stem
        rng = random.Random(path.stem)  # the same sample every run, another per record
        for i in sorted(rng.sample(range(len(src)), min(SAMPLE, len(src)))):
            (s_title, s_class, s_cat, s), (r_title, r_class, r_cat, r) = src[i], rec[i]
            where = f"{path.stem} measurement {i} ({s_title!r})"
            assert (r_title, r_class, r_cat) == (s_title, s_class, s_cat), where
            assert r["group"] == s["groupId"], where
            for src_key, key in (("value", "value"), ("spread", "spread"), ("lowerLimit", "lower_limit"),
                                 ("upperLimit", "upper_limit")):
                assert r[key] == s.get(src_key), (where, key)  # the text as the registry wrote it
                assert r[key + "_num"] == _plain_number(s.get(src_key)), (where, key)
            assert (r["comment"] is None) == (s.get("comment") is None), where
            checked += 1
    assert checked > 3000


def _plain_number(text: str | None) -> float | None:
    """The test's own reading: a number when Python reads the text without its commas."""
    if text is None:
        return None
    try:
        return float(text.replace(",", "")) if text.replace(",", "").strip() else None
    except ValueError:
        return None


@pytest.mark.parametrize(("text", "num"), [
    ("54", 54.0), ("30.", 30.0), ("-0.5", -0.5), (".25", 0.25), ("1.2e-5", 1.2e-5), ("26,300", 26300.0),
    ("NA", None), ("1,5", None), ("12 (3)", None), ("<0.001", None), ("", None), (None, None),
    ("nan", None), ("inf", None), ("1_000", None), ("５４", None), ("1,234.5", 1234.5),
    ("0,023", None), ("0,500", None),  # a decimal comma, not thousands
])
def test_a_result_number_is_read_only_when_it_is_one(text, num):
    assert number(text) == num


def test_counts_are_whole_numbers_only():
    assert count("1,200") == 1200 and count("54") == 54
    assert count("12.5") is None and count("12.0") is None and count("NA") is None


@pytest.mark.parametrize(("text", "read"), [
    ("0.04", (0.04, None)), ("<0.001", (0.001, "<")), ("< .05", (0.05, "<")), ("≤0.05", (0.05, "<=")),
    (">0.99", (0.99, ">")), ("=0.3", (0.3, None)), ("NS", (None, None)), ("<NA", (None, None)),
    ("<0,001", (None, None)), ("0,023", (None, None)), ("23", (None, None)), ("1.5", (None, None)),
])
def test_a_p_value_keeps_its_inequality(text, read):
    assert bounded(text) == read


def test_groups_link_to_the_one_arm_of_their_title_and_never_by_guess():
    arms = [{"label": "Placebo"}, {"label": "Drug  A"}, {"label": "Twin"}, {"label": "twin"}]
    index = arm_index(arms)
    assert index["placebo"] == "Placebo"  # case and spacing aside
    assert index["drug a"] == "Drug  A"
    assert index["twin"] is None  # two arms answer: ambiguous, unlinked


def test_a_record_links_its_groups_and_keeps_p_values_as_written(corpus_dir):
    path = corpus_dir / "ctgov_v2" / "NCT00301262.json"
    if not path.exists():
        pytest.skip("corpus record NCT00301262 absent")
    record = ctgov.parse(path.read_bytes(), path.stem)
    results = record.results
    assert results is not None and results.outcome_measures
    labels = {a["label"] for a in record.arms or []}
    for om in results.outcome_measures:
        for g in om["groups"] or []:
            assert g["arm"] is None or g["arm"] in labels
    analyses = [a for om in results.outcome_measures for a in om["analyses"] or []]
    bounds = [a for a in analyses if a["p_value"] and a["p_value"].lstrip().startswith("<")]
    for a in bounds:
        assert a["p_value_modifier"] == "<" and a["p_value_num"] is not None and a["p_value_num"] < 1
