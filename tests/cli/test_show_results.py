"""`show` and `diff` of a real record with results (issue 16): the table sums the results up,
and a corrected value is one row of the diff, at a path that names where it sits."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.cli.main import main

pytestmark = pytest.mark.corpus

NCT = "NCT00106392"  # Tacrolimus against placebo: 6 outcome measures with analyses, events, flow


@pytest.fixture
def registry(settings, corpus_dir):
    doc = json.loads((corpus_dir / "ctgov_v2" / f"{NCT}.json").read_bytes())
    corrected = copy.deepcopy(doc)
    other = corrected["resultsSection"]["adverseEventsModule"]["otherEvents"][0]
    other["stats"][0]["numAffected"] = 5  # Hyperkalaemia in EG000: 4 -> 5
    measure = corrected["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"][0]
    measure["classes"][0]["categories"][0]["measurements"][0]["value"] = "4.5"
    with ScriptedServer() as server:
        server.play(f"/api/v2/studies/{NCT}", *(Reply(body=json.dumps(d).encode()) for d in (doc, corrected)))
        env = {"TRIALMIRROR_CTGOV_BASE_URL": server.base_url, "TRIALMIRROR_DATABASE_URL": settings.database_url,
               "TRIALMIRROR_MAX_RETRIES": "0", "COLUMNS": "80"}
        yield env, doc


def _run(env, *args):
    done = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return done.stdout


def _lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()]


def test_show_sums_up_the_results_and_diff_shows_a_correction_as_one_row(registry):
    env, doc = registry
    _run(env, "sync", NCT)
    shown = _lines(_run(env, "show", NCT))
    assert "outcome measures 6 (1 primary, 5 secondary); 6 analyses" in shown
    assert "baseline 3 measures" in shown
    assert "adverse events event terms: 1 serious, 2 other" in shown
    at = shown.index(next(line for line in shown if line.startswith("participant flow")))
    flow = " ".join(shown[at:shown.index(next(line for line in shown if line.startswith("MeSH")))])
    assert flow == ("participant flow FG000 Tacrolimus: 62 started, 36 completed; FG001 Placebo: 69 started, "
                    "42 completed")

    _run(env, "sync", NCT)
    table = _run(env, "diff", NCT)
    assert "version 1 → 2: 2 change(s)" in table
    everything = json.loads(_run(env, "diff", NCT, "--json"))
    assert sorted(c["path"].rsplit(".", 1)[1] for c in everything) == ["affected", "value", "value_num"]
    rows = [" ".join(line.strip("│ ").split()) for line in table.splitlines() if line.startswith("│")]
    assert not any("value_num" in line for line in rows)  # the number goes with its text
    assert any(line.startswith("results_adverse_events │ results.adverse_events.other │ replace │ 4 │ 5")
               for line in rows)
    assert any(line.startswith("results_outcomes │ results.outcome_measures │ replace │ 18.0 │ 4.5")
               for line in rows)
    # At 80 columns a long path goes a step a line: no group id is folded.
    steps = [line.split("│")[2].strip() for line in table.splitlines() if line.startswith("│")]
    assert '.stats[group="EG000"]' in steps and '.measurements[group="OG000"]' in steps
