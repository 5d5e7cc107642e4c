"""What a client sends, checked before the store sees it, on SQLite and PostgreSQL alike:
numbers within the columns' range (the bounds the CLI has too), ids of ASCII digits,
search words and filters that mean something. Each refusal is a problem document."""

import pytest
import requests

NCT = "NCT01342250"
PROBLEM = "application/problem+json"
HUGE = "9" * 20


def _get(api, path, **params):
    return requests.get(api[0] + path, params=params, timeout=10)


@pytest.mark.parametrize(("path", "params", "status", "words"), [
    ("/changes", {"after": "2147483648"}, 422, "less than or equal to 2147483647"),
    ("/changes", {"after": HUGE}, 422, "less than or equal to 2147483647"),
    ("/changes", {"after": "-1"}, 422, "greater than or equal to 0"),
    ("/changes", {"limit": "0"}, 422, "greater than or equal to 1"),
    ("/changes", {"limit": HUGE}, 422, "less than or equal to 1000"),
    (f"/studies/{NCT}", {"version": HUGE}, 422, "less than or equal to 2147483647"),
    (f"/studies/{NCT}/diff", {"from": HUGE}, 422, "less than or equal to 2147483647"),
    ("/studies/NCT０１３４２２５０", {}, 400, "not a ClinicalTrials.gov id"),
    ("/studies/NCT０１３４２２５０/versions", {}, 400, "not a ClinicalTrials.gov id"),
    ("/search", {"phase": "%"}, 400, "unknown phase '%'; valid: EARLY_PHASE1, NA, PHASE1"),
    ("/search", {"status": "bogus"}, 400, "unknown status 'bogus'; valid: ACTIVE_NOT_RECRUITING"),
    ("/search", {"q": "!!!"}, 400, "has no word to search for"),
    ("/search", {"q": " ".join(f"w{n}" for n in range(20))}, 400, "at most 16"),
    ("/search", {"q": '"a\x00b"'}, 400, "control character (U+0000)"),  # PostgreSQL holds no NUL
    ("/search", {"condition": "a\x00"}, 400, "control character (U+0000)"),
    ("/search", {"condition": "cirrhosis\nhepatitis"}, 400, "control character (U+000A)"),
])
def test_a_bad_parameter_is_a_problem_document_not_a_500_nor_a_404(api_on, path, params, status, words):
    response = _get(api_on, path, **params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert words in response.json()["detail"]


def test_the_largest_cursor_is_an_empty_page(api_on):
    assert _get(api_on, "/changes", after="2147483647").json() == {"items": [], "next": 2147483647}


def test_search_filters_take_the_words_people_type_and_wildcards_are_text(api_on):
    for phase in ("2", "Phase 2", "phase2", "PHASE2", "II"):
        found = _get(api_on, "/search", q="umbilical cord", status="completed", phase=phase).json()["items"]
        assert [h["registry_id"] for h in found] == [NCT], phase
    assert _get(api_on, "/search", condition="%").json()["items"] == []
    assert _get(api_on, "/search", condition="_").json()["items"] == []
    assert _get(api_on, "/search", condition="cirrhosis").json()["items"] != []
