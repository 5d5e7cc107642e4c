"""`/search?mesh=` and `near=&within=` on a served store, SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
import requests

from tests.fixtures import mesh_places as mp
from tests.fixtures.api_server import serving
from trialmirror.settings import Settings
from trialmirror.store import Store

PROBLEM = "application/problem+json"


@pytest.fixture
def api(store):
    mp.fill(store)
    reader = Store(store.url, read_only=True)  # as `trialmirror serve` opens it
    with serving(Settings(database_url=store.url, _env_file=None), reader) as base:
        yield base
    reader.close()


def _get(api, **params):
    return requests.get(api + "/search", params=params, timeout=10)


def test_mesh_and_place_filters(api):
    found = _get(api, mesh="liver diseases").json()["items"]
    assert [h["registry_id"] for h in found] == [mp.LIVER] and "distance_km" not in found[0]
    assert _get(api, mesh="Liver").json()["items"] == []
    (hit,) = _get(api, near="31.3,121.5", within="20").json()["items"]
    assert hit["registry_id"] == mp.LIVER and hit["distance_km"] == pytest.approx(8.133, abs=0.001)
    across = _get(api, near="-16.85,179.95", within="11", q="diabetes", mesh="D003920").json()["items"]
    assert [h["registry_id"] for h in across] == [mp.ISLAND]


@pytest.mark.parametrize(("params", "status", "words"), [
    ({"near": "abc", "within": "5"}, 422, "near 'abc' is not a place: give LAT,LON"),
    ({"near": "91,0", "within": "5"}, 422, "the latitude 91 is not -90 to 90"),
    ({"near": "31.23,121.47", "within": "0"}, 422, "within: Input should be greater than 0"),
    ({"near": "31.23,121.47", "within": "20001"}, 422, "less than or equal to 20000"),
    ({"near": "31.23,121.47", "within": "far"}, 422, "within: Input should be a valid number"),
    ({"within": "5"}, 422, "needs near"),
    ({"near": "31.23,121.47"}, 422, "needs within"),
    ({"mesh": "x" * 201}, 422, "at most 200 characters"),
    ({"mesh": "Liver\nDiseases"}, 400, "control character (U+000A)"),
])
def test_a_bad_place_or_term_is_a_problem_document(api, params, status, words):
    response = _get(api, **params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert words in response.json()["detail"]
