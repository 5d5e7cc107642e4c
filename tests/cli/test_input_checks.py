"""Numbers, ids and search words as a user types them, on SQLite and PostgreSQL: each is
checked where the command reads it (exit 2 and one line saying what is allowed), so
nothing out of range reaches the database and nothing matches by accident."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.fixtures import nct01342250 as fx
from trialmirror.cli.main import main
from trialmirror.ingest.runs.pipeline import Ingestor
from trialmirror.ingest.sources import get_source
from trialmirror.settings import Settings
from trialmirror.store.engine import utcnow
from trialmirror.store.rows import FetchInfo

NCT = "NCT01342250"
FULL_WIDTH = "NCT０１３４２２５０"  # full-width digits: Unicode's \d, not an id
HUGE = "9" * 20  # past 64 bits


@pytest.fixture
def env(store, tmp_path):
    """The record stored twice (two events), on either store, as the CLI's database."""
    ingestor, source = Ingestor(Settings(_env_file=None), store), get_source("ctgov")
    for doc in (fx.earlier(), fx.current()):
        ingestor.ingest_payload(source, NCT, json.dumps(doc).encode(),
                                FetchInfo("ctgov", NCT, None, utcnow(), 0.0))
    return {"TRIALMIRROR_DATABASE_URL": store.url, "TRIALMIRROR_WATCHLIST": "", "COLUMNS": "200"}


def _run(env, *args):
    return CliRunner().invoke(main, list(args), env=env)


def _refused(result, *words):
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


@pytest.mark.parametrize("args", [
    ["changes", "--after", HUGE], ["changes", "--after", "2147483648"], ["changes", "--limit", HUGE],
    ["diff", NCT, "--from", HUGE], ["diff", NCT, "--to", HUGE], ["show", NCT, "--version", HUGE],
    ["export", "--format", "es-bulk", "--after", HUGE], ["search", "cord", "--limit", HUGE],
])
def test_a_number_past_the_columns_is_a_usage_error_stating_the_range(env, args):
    _refused(_run(env, *args), "is not in the range", "2147483647" if "--limit" not in args else "1000")


@pytest.mark.parametrize("args", [
    ["changes", "--limit", "0"], ["changes", "--limit", "-5"], ["changes", "--after", "-1"],
    ["show", NCT, "--version", "0"], ["diff", NCT, "--from", "-1"], ["export", "--format", "es-bulk",
                                                                     "--after", "-1"],
])
def test_a_limit_below_one_or_a_negative_cursor_is_refused_not_all_events(env, args):
    _refused(_run(env, *args), "is not in the range")


def test_the_bounds_themselves_are_accepted(env):
    one = json.loads(_run(env, "changes", "--limit", "1", "--json").output)
    assert [e["seq"] for e in one] == [1]
    assert json.loads(_run(env, "changes", "--after", "2147483647", "--json").output) == []
    assert _run(env, "show", NCT, "--version", "2147483647").exit_code == 1  # not stored: no such version


def test_an_id_with_full_width_digits_is_not_an_id(env):
    _refused(_run(env, "show", FULL_WIDTH), "is not a ClinicalTrials.gov id")
    _refused(_run(env, "watch", "add", FULL_WIDTH), "is not a ClinicalTrials.gov id")
    synced = _run(env, "sync", FULL_WIDTH, "--json")  # a record's failure, refused before any request
    assert synced.exit_code == 1
    assert [r["error"]["family"] for r in json.loads(synced.stdout)] == ["invalid_id"]
    assert json.loads(_run(env, "watch", "list", "--json").output) == []


def test_search_filters_take_the_words_people_type(env):
    # The README's example, as it is written there.
    for status, phase in [("completed", "2"), ("COMPLETED", "Phase 2"), ("Completed", "phase2"),
                          ("completed", "PHASE2"), ("completed", "II")]:
        found = _run(env, "search", "umbilical cord", "--status", status, "--phase", phase, "--json")
        assert found.exit_code == 0, found.output
        assert [h["registry_id"] for h in json.loads(found.output)] == [NCT], (status, phase)
    assert json.loads(_run(env, "search", "--status", "Active, not recruiting", "--json").output) == []


@pytest.mark.parametrize(("option", "value", "listed"), [
    ("--status", "bogus", "ACTIVE_NOT_RECRUITING, APPROVED_FOR_MARKETING, AVAILABLE, COMPLETED"),
    ("--phase", "5", "EARLY_PHASE1, NA, PHASE1, PHASE2, PHASE3, PHASE4"),
    ("--phase", "%", "EARLY_PHASE1, NA, PHASE1, PHASE2, PHASE3, PHASE4"),
])
def test_an_unknown_filter_value_is_an_error_listing_the_valid_ones(env, option, value, listed):
    _refused(_run(env, "search", "cord", option, value), f"unknown {option[2:]} {value!r}", listed)


@pytest.mark.parametrize("wildcard", ["_", "%", "%%", "cirrho_is", "\\"])
def test_a_condition_matches_its_text_not_as_a_pattern(env, wildcard):
    assert json.loads(_run(env, "search", "--condition", "cirrhosis", "--json").output) != []
    found = _run(env, "search", "--condition", wildcard, "--json")
    assert found.exit_code == 0 and json.loads(found.output) == [], found.output


@pytest.mark.parametrize("query", ["!!!", "%", '"---"', "_", "* ? ."])
def test_a_query_with_no_word_is_a_usage_error(env, query):
    _refused(_run(env, "search", query), "has no word to search for")


def test_repeated_words_count_once_and_the_words_are_capped(env):
    repeated = " ".join(["cord"] * 40 + ["Umbilical", "CORD", '"umbilical"'])
    found = _run(env, "search", repeated, "--json")
    assert found.exit_code == 0 and [h["registry_id"] for h in json.loads(found.output)] == [NCT]
    words = " ".join(f"word{n}" for n in range(17))
    _refused(_run(env, "search", words), "17 different words", "at most 16")
    _refused(_run(env, "search", "a" * 501), "501 characters", "at most 500")
