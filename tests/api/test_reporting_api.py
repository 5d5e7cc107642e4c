"""Results reporting on the HTTP API and in the view, over the real corpus on SQLite and
PostgreSQL: the study answer's ``reporting`` (on the day asked, or today), and the view
``reporting_status`` agreeing with the rules for every record."""

from __future__ import annotations

from datetime import date

import orjson
import requests
from sqlalchemy import text

from trialmirror.models import reporting as r

# Completed 2020-03-13, no results: due 2021-03-13, overdue from 2021-04-13 (its stored version
# is valid from 2020-10-08).
OVERDUE = "NCT03418623"


def _study(api, registry_id, **params):
    response = requests.get(f"{api[0]}/studies/{registry_id}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response


def test_the_study_answer_says_where_its_results_reporting_stands_on_the_day_asked(api_on):
    before = _study(api_on, OVERDUE, as_of="2021-04-12").json()["reporting"]
    assert (before["as_of"], before["classification"], before["state"], before["due_date"], before["days_late"]) == (
        "2021-04-12", "act", "ongoing", "2021-03-13", None)
    after = _study(api_on, OVERDUE, as_of="2021-04-13").json()["reporting"]
    assert (after["state"], after["days_late"], after["results_due"]) == ("overdue", 31, True)
    assert after["completion_date"] == "2020-03-13" and after["completion_from"] == "primary_completion"
    assert "clinicaltrials-act-converter" in after["rules"]


def test_without_a_day_the_answer_is_for_today(api_on):
    answer = _study(api_on, OVERDUE).json()
    today = date.fromisoformat(answer["reporting"]["as_of"])
    assert answer["reporting"] == r.status_on(answer["record"], today).as_json()
    assert answer["reporting"]["days_late"] == (today - date(2021, 3, 13)).days


def test_a_record_that_is_no_act_says_why(api_on):
    reporting = _study(api_on, "NCT01342250").json()["reporting"]
    assert reporting["state"] == "not_applicable" and reporting["classification"] is None
    assert "started before 2017-01-18 and completed before it" in reporting["reasons"]


def test_the_etag_names_the_day_of_the_reporting_status(api_on):
    one = _study(api_on, OVERDUE, as_of="2021-04-12")
    assert requests.get(f"{api_on[0]}/studies/{OVERDUE}", params={"as_of": "2021-04-12"},
                        headers={"If-None-Match": one.headers["ETag"]}, timeout=10).status_code == 304
    other = requests.get(f"{api_on[0]}/studies/{OVERDUE}", params={"as_of": "2021-04-13"},
                         headers={"If-None-Match": one.headers["ETag"]}, timeout=10)
    assert other.status_code == 200 and other.headers["ETag"] != one.headers["ETag"]  # same version


def test_the_view_agrees_with_the_rules_for_every_corpus_record(api_on):
    _, store = api_on
    with store.transaction() as conn:
        rows = conn.execute(text("SELECT * FROM reporting_status")).mappings().all()
        records = dict(conn.execute(text(
            "SELECT v.registry_id, v.record FROM version v JOIN search_doc d ON d.registry_id = v.registry_id "
            "AND d.source = v.source AND d.version = v.version")).all())
    assert sorted(row["registry_id"] for row in rows) == sorted(records)  # one row per record
    for row in rows:
        expected = r.status_on(orjson.loads(records[row["registry_id"]]), date.fromisoformat(row["as_of"]))
        iso = (lambda d: d and d.isoformat())  # noqa: E731
        assert (row["classification"], row["state"], bool(row["results_due"]), row["due_date"],
                row["completion_date"], row["certificate_date"], row["reported_on"], row["days_late"]) == (
            expected.classification, expected.state, expected.results_due, iso(expected.due_date),
            iso(expected.completion_date), iso(expected.certificate_date), iso(expected.reported_on),
            expected.days_late), row["registry_id"]
    states = {row["state"] for row in rows}
    assert {"overdue", "reported", "reported_late", "ongoing", "not_applicable"} <= states
