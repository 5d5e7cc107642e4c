"""Reconciliation of mirror captures with the registry versions (on SQLite and PostgreSQL)."""

import json

import pytest

from tests.fixtures import mirror_pages as mp
from tests.fixtures import nct01342250 as fx
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.sources import ctgov, ctv, get_source
from trialmirror.read.reconcile import NothingToCompare, compare, reconcile
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo

NCT = "NCT01342250"


@pytest.fixture(scope="module")
def ctv_seed(seeds_dir):
    return mp.seed_lines(seeds_dir / "ctv_veeva__NCT01342250.txt")


def _registry():
    return ctgov.parse(json.dumps(fx.current()).encode(), NCT).model_dump(mode="json")


def _verdicts(rows):
    return {r["field"]: r["verdict"] for r in rows}


def test_seed_page_agrees_with_the_reconstructed_record_on_everything_it_shows(ctv_seed):
    mirror = ctv.parse(mp.semantic(ctv_seed), NCT).model_dump(mode="json")
    rows = compare(mirror, _registry())
    verdicts = _verdicts(rows)
    assert "disagree" not in verdicts.values(), [r for r in rows if r["verdict"] == "disagree"]
    shown = {f for f, v in verdicts.items() if v == "agree"}
    assert shown >= {"status.overall", "phases", "conditions", "interventions", "arms", "enrollment.count",
                     "eligibility.sex", "eligibility.min_age", "eligibility.max_age",
                     "eligibility.healthy_volunteers", "eligibility.inclusion", "eligibility.exclusion",
                     "design.allocation", "design.intervention_model", "design.masking",
                     "design.primary_purpose", "identifiers", "sponsors.lead", "sponsors.funder_types",
                     "titles.brief", "summary", "description", "study_type"}
    # What the registry has and the page does not show.
    assert {f for f, v in verdicts.items() if v == "not_shown"} == {"titles.official", "status.start",
                                                                   "countries"}


@pytest.mark.parametrize("markup", sorted(mp.CTV_MARKUPS))
def test_the_site_chrome_never_disagrees(ctv_seed, markup):
    """A menu bar rendered on one line ("ClinicalTrials.VeevaMenu") once became the title."""
    rows = compare(ctv.parse(mp.CTV_MARKUPS[markup](ctv_seed), NCT).model_dump(mode="json"), _registry())
    verdicts = _verdicts(rows)
    assert "disagree" not in verdicts.values(), [r for r in rows if r["verdict"] == "disagree"]
    assert verdicts["titles.brief"] == verdicts["sponsors.lead"] == verdicts["conditions"] == "agree"


def test_equivalent_wordings_agree(ctv_seed):
    rows = {r["field"]: r for r in compare(ctv.parse(mp.semantic(ctv_seed), NCT).model_dump(mode="json"),
                                           _registry())}
    assert rows["status.overall"]["mirror"] == rows["status.overall"]["registry"] == "COMPLETED"
    assert rows["eligibility.min_age"]["mirror"] == 18  # "18 to 70 years old" vs "18 Years"
    assert rows["sponsors.funder_types"]["mirror"] == ["INDUSTRY", "OTHER"]  # "Other", "Industry"
    assert rows["sponsors.funder_types"]["registry"] == ["INDUSTRY", "OTHER"]  # the sponsors' classes


def test_a_changed_value_disagrees_with_both_values(ctv_seed):
    lines = [("25 patients" if x == "20 patients" else x) for x in ctv_seed]
    rows = compare(ctv.parse(mp.semantic(lines), NCT).model_dump(mode="json"), _registry())
    (row,) = [r for r in rows if r["verdict"] == "disagree"]
    assert row == {"field": "enrollment.count", "mirror": 25, "registry": 20, "verdict": "disagree"}


def _put(store, settings, source, registry_id, raw, *, valid_from=None, upstream=None):
    info = FetchInfo(source, registry_id, None, utcnow(), 0.0, upstream_version=upstream)
    result = Ingestor(settings, store).ingest_payload(
        get_source(source), registry_id, raw, info, produced_by="backfill" if upstream is not None else "fetch",
        valid_from=valid_from)
    assert result.ok, result.error


def _registry_history(store, settings):
    for number, day, _, _ in fx.HISTORY:
        _put(store, settings, "ctgov_history", NCT, json.dumps(fx.history_version(number)).encode(),
             valid_from=day, upstream=number)
    _put(store, settings, "ctgov", NCT, json.dumps(fx.current()).encode())


def test_current_mirror_is_not_stale(store, settings, ctv_seed):
    _registry_history(store, settings)
    _put(store, settings, "ctv", NCT, mp.semantic(ctv_seed))
    (entry,) = reconcile(store, NCT, ["ctv", "ictrp"])["mirrors"]
    assert entry["source"] == "ctv" and entry["stale"] is None
    assert entry["compared_with_version"] == {"source": "ctgov", "version": 1, "valid_from": "2011-10-14",
                                             "upstream_version": None}
    assert entry["counts"].get("disagree", 0) == 0 and entry["counts"]["agree"] >= 20


def test_mirror_showing_an_older_status_is_stale_since_the_registry_moved_on(store, settings, ctv_seed):
    _registry_history(store, settings)
    older = ["Active, not recruiting" if x == "Completed" else x for x in ctv_seed]
    _put(store, settings, "ctv", NCT, mp.semantic(older))
    report = reconcile(store, NCT, ["ctv"])
    (entry,) = report["mirrors"]
    assert report["registry_id"] == NCT
    disagreements = [f for f in entry["fields"] if f["verdict"] == "disagree"]
    assert disagreements == [{"field": "status.overall", "mirror": "ACTIVE_NOT_RECRUITING",
                              "registry": "COMPLETED", "verdict": "disagree"}]
    assert entry["stale"]["matches_version"] == {"source": "ctgov_history", "version": 2,
                                                 "valid_from": "2011-07-20", "upstream_version": 1}
    assert entry["stale"]["since"] == "2011-10-14"


def test_mirror_matching_no_older_version_better_is_not_called_stale(store, settings, ctv_seed):
    _registry_history(store, settings)
    odd = ["Terminated" if x == "Completed" else x for x in ctv_seed]  # a status never registered
    _put(store, settings, "ctv", NCT, mp.semantic(odd))
    (entry,) = reconcile(store, NCT, ["ctv"])["mirrors"]
    assert entry["counts"]["disagree"] == 1 and entry["stale"] is None


@pytest.mark.parametrize("design", ["commas", "full_stops"])
def test_ictrp_is_compared_too(store, settings, design):
    _registry_history(store, settings)
    lines = mp.ictrp_lines(fx.current())
    _put(store, settings, "ictrp", NCT, mp.table(mp.full_stops(lines) if design == "full_stops" else lines))
    (entry,) = reconcile(store, NCT, ["ctv", "ictrp"])["mirrors"]
    verdicts = _verdicts(entry["fields"])
    assert verdicts["countries"] == verdicts["status.start"] == verdicts["titles.official"] == "agree"
    assert {verdicts[f"design.{f}"] for f in ("allocation", "intervention_model", "masking",
                                               "primary_purpose")} == {"agree"}
    assert "disagree" not in verdicts.values()


def test_nothing_to_compare_says_what_to_run(store, settings, ctv_seed):
    with pytest.raises(NothingToCompare, match="run `trialmirror sync NCT01342250` first"):
        reconcile(store, NCT, ["ctv"])
    _put(store, settings, "ctgov", NCT, json.dumps(fx.current()).encode())
    with pytest.raises(NothingToCompare, match="trialmirror sync --source ctv NCT01342250"):
        reconcile(store, NCT, ["ctv", "ictrp"])

