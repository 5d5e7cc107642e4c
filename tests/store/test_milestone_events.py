"""Results posted and annotations are news: the events a version adds after its own
(SQLite and PostgreSQL)."""

import json

import orjson

from tests.fixtures.results_news import UNPOSTED, VIOLATION, kinds, put, record


def _logged(store, kind=None):
    return [(e.version, e.kind) for e in store.events(kind=kind)]


def test_a_version_that_gains_results_makes_one_results_event_after_its_own(store):
    assert kinds(put(store, record())) == ["new_record"]
    second = put(store, record(results=True))  # has_results and the posted date, both at once
    assert kinds(second) == ["updated", "results_posted"]
    assert second.events[0]["data"]["kinds"] == ["results"]
    assert second.events[1]["seq"] > second.events[0]["seq"]
    (event,) = store.events(kind="results_posted")
    assert (event.version, json.loads(event.data)) == (2, {"produced_by": "fetch", "results": {
        "first_submitted": "2015-01-30", "first_submitted_qc": "2015-02-27", "first_posted": "2015-03-02"}})
    third = put(store, record(results=True, enrollment=21))  # results already there: no news
    assert kinds(third) == ["updated"]
    assert _logged(store) == [(1, "new_record"), (2, "updated"), (2, "results_posted"), (3, "updated")]


def test_either_sign_of_results_is_enough(store):
    put(store, record())
    put(store, record(has_results=True))  # the flag, no dates yet
    assert json.loads(store.events(kind="results_posted")[0].data)["results"] == {
        "first_submitted": None, "first_submitted_qc": None, "first_posted": None}
    put(store, record(has_results=None, enrollment=5, registry_id="NCT00000410"))
    dated = put(store, record(results=True, has_results=None, enrollment=5, registry_id="NCT00000410"))
    assert kinds(dated) == ["updated", "results_posted"]  # the posted date, the flag not said


def test_results_appear_once_however_a_field_flickers(store):
    put(store, record())
    put(store, record(results=True))
    assert kinds(put(store, record(has_results=None))) == ["updated"]  # read as "not said"
    assert kinds(put(store, record(results=True))) == ["updated"]  # back: not news again
    assert _logged(store, "results_posted") == [(2, "results_posted")]


def test_a_record_first_seen_with_results_is_a_new_record_that_says_so(store):
    first = put(store, record(results=True))
    assert kinds(first) == ["new_record"]
    assert first.events[0]["data"]["results"]["first_posted"] == "2015-03-02"
    assert "results" not in put(store, record(registry_id="NCT00000410")).events[0]["data"]


def test_a_reparse_that_reads_results_is_no_news(store):
    put(store, record())
    assert kinds(put(store, record(results=True, annotations={"violation_events": [VIOLATION]}),
                     produced_by="reparse")) == ["reparsed"]
    assert _logged(store, "results_posted") == [] and _logged(store, "annotated") == []


def test_a_version_stored_before_the_fields_existed_does_not_make_them_news(store):
    """Its parser did not read results or annotations: the registry may have shown them all
    along, so the first version that holds them tells nothing new."""
    old = record().model_dump(mode="json")
    del old["has_results"], old["annotations"]
    put(store, orjson.dumps(old).decode())
    later = put(store, record(results=True, enrollment=21, annotations={"violation_events": [VIOLATION]}))
    assert kinds(later) == ["updated"]


def test_a_backfill_finds_when_results_were_posted(store):
    put(store, record(), produced_by="backfill")
    event = put(store, record(results=True), produced_by="backfill").events[1]
    assert (event["kind"], event["data"]["produced_by"]) == ("results_posted", "backfill")


def test_an_annotation_added_is_an_annotated_event_naming_it(store):
    put(store, record())
    violated = put(store, record(annotations={"violation_events": [VIOLATION]}))
    assert kinds(violated) == ["updated", "annotated"]
    assert violated.events[0]["data"]["kinds"] == ["annotations"]
    assert violated.events[1]["data"] == {"produced_by": "fetch", "types": ["VIOLATION_IDENTIFIED"],
                                          "violation_events": [VIOLATION]}
    unposted = put(store, record(annotations={"violation_events": [VIOLATION], "unposted_events": [UNPOSTED]}))
    assert unposted.events[1]["data"] == {"produced_by": "fetch", "types": ["RELEASE"],
                                          "unposted_events": [UNPOSTED]}  # only what is new
    # The same annotations, the violation's description reworded: nothing new annotated.
    reworded = {**VIOLATION, "description": "Failure to submit."}
    assert kinds(put(store, record(annotations={"violation_events": [reworded],
                                                "unposted_events": [UNPOSTED]}))) == ["updated"]
    assert _logged(store, "annotated") == [(2, "annotated"), (3, "annotated")]


def test_results_and_an_annotation_in_one_version_are_two_events(store):
    put(store, record())
    both = put(store, record(results=True, annotations={"unposted_events": [UNPOSTED]}))
    assert kinds(both) == ["updated", "results_posted", "annotated"]
    assert [e.kind for e in store.events(after=1)] == ["updated", "results_posted", "annotated"]
