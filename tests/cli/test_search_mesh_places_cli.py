"""`search --mesh` and `--near/--within` as a user types them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.fixtures import mesh_places as mp
from trialmirror.cli.main import main


@pytest.fixture
def env(store):
    mp.fill(store)
    return {"TRIALMIRROR_DATABASE_URL": store.url, "TRIALMIRROR_WATCHLIST": "", "COLUMNS": "200"}


def _run(env, *args):
    return CliRunner().invoke(main, ["search", *args], env=env)


def test_mesh_alone_lists_every_record_indexed_with_the_term(env):
    result = _run(env, "--mesh", "Liver Diseases")
    assert result.exit_code == 0, result.output
    assert mp.LIVER in result.stdout and mp.TEXT_ONLY not in result.stdout
    hits = json.loads(_run(env, "--mesh", "d008103", "--json").stdout)
    assert [h["registry_id"] for h in hits] == [mp.LIVER] and "distance_km" not in hits[0]
    assert json.loads(_run(env, "cirrhosis", "--mesh", "Diabetes Mellitus", "--json").stdout) == []


def test_near_within_shows_the_nearest_sites_distance(env):
    result = _run(env, "--near", "31.3,121.5", "--within", "20")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "record" in line)
    assert header.split("┃")[-2].strip() == "km"
    row = next(line for line in result.stdout.splitlines() if mp.LIVER in line)
    assert row.split("│")[-2].strip() == "8.1"
    (hit,) = json.loads(_run(env, "--near", "31.3,121.5", "--within", "20", "--json").stdout)
    assert hit["registry_id"] == mp.LIVER and hit["distance_km"] == pytest.approx(8.133, abs=0.001)


@pytest.mark.parametrize(("args", "words"), [
    (["--near", "121.47,31.23", "--within", "5"], "the latitude 121.47 is not -90 to 90"),
    (["--near", "Shanghai", "--within", "5"], "is not a place: give LAT,LON in decimal degrees"),
    (["--near", "31.23,121.47", "--within", "0"], "give kilometres, a number above 0 to 20000"),
    (["--near", "31.23,121.47", "--within", "far"], "is not a distance"),
    (["--within", "5"], "needs near: give the point to measure from too"),
    (["--near", "31.23,121.47"], "needs within: give the distance from it too"),
    (["--mesh", "Liver\tDiseases"], "control character"),
])
def test_a_bad_place_distance_or_term_is_one_line_and_exit_2(env, args, words):
    result = _run(env, *args)
    assert result.exit_code == 2, result.output
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ") and result.stdout == ""
