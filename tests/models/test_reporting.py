"""The FDAAA TrialsTracker's rules on the normalized record (models/reporting.py), at every
boundary date: 2017-01-18 for the start and completion rules, the day before, of and after the
due date and the end of its 30 days' grace, month-only dates at the month's end (February of
leap and common years), the certificate of delay, results submitted on the due day or the day
after, and submissions under the registry's review."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.fixtures.fdaaa import trial
from trialmirror.models import reporting as r


def on(record, day: str) -> r.Reporting:
    return r.status_on(record, date.fromisoformat(day))


def kind(**changes) -> str | None:
    return r.status_on(trial(**changes), date(2026, 1, 1)).classification


# --- ACT or pACT ----------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "expected"), [
    ("2017-01-17", "pact"), ("2017-01-18", "act"), ("2017-01-19", "act"),
    ("2017-01", "act"),  # a month-only start counts as the month's last day, 2017-01-31
    ("2016-12", "pact"), ("2016", "pact")])
def test_the_start_date_against_2017_01_18_makes_an_act_or_a_probable_one(start, expected):
    assert kind(start=start) == expected


@pytest.mark.parametrize(("completion", "expected"), [
    ("2017-01-17", None), ("2017-01-18", "pact"), ("2017-01", "pact"), ("2016-12", None)])
def test_a_trial_started_before_2017_01_18_is_probable_only_while_completing_on_or_after_it(completion, expected):
    assert kind(start="2015-06-01", completion=completion) == expected


def test_the_completion_date_falls_back_to_the_study_completion():
    record = trial(start="2015-06-01", completion="2017-02-01", completion_field="completion")
    status = on(record, "2019-01-01")
    assert status.classification == "pact" and status.completion_from == "completion"
    assert status.completion_date == date(2017, 2, 1)


@pytest.mark.parametrize(("phases", "covered"), [
    (("PHASE1", "PHASE2"), True), (("PHASE2",), True), (("PHASE2", "PHASE3"), True), (("PHASE3",), True),
    (("PHASE4",), True), (("NA",), True), (("PHASE1",), False), (("EARLY_PHASE1",), False), ((), False)])
def test_the_covered_phases(phases, covered):
    assert (kind(phases=phases) == "act") is covered


@pytest.mark.parametrize("changes", [
    {"study_type": "OBSERVATIONAL"}, {"purpose": "DEVICE_FEASIBILITY"}, {"overall": "WITHDRAWN"},
    {"drug": False}, {"drug": None}, {"drug": False, "device": False}, {"start": None}])
def test_what_is_not_an_act(changes):
    status = on(trial(**changes), "2026-01-01")
    assert status.classification is None and status.state == r.NOT_APPLICABLE
    assert status.reasons and status.due_date is None and status.days_late is None


def test_a_device_alone_is_fda_regulated():
    assert kind(drug=False, device=True) == "act"


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, "pact"),
    ({"countries": ("Puerto Rico",)}, "pact"),
    ({"countries": ("Canada", "Virgin Islands (U.S.)")}, "pact"),
    ({"countries": ("Canada",)}, None),  # the older rule wants a US site
    ({"countries": ()}, None),
    ({"interventions": ("BEHAVIORAL",)}, None),  # and a drug, device, biological, ... intervention
    ({"interventions": ("BEHAVIORAL", "DIAGNOSTIC_TEST")}, "pact"),
    ({"drug": False}, None),  # a flag said, and said no
    ({"drug": True, "countries": ("Canada",), "interventions": ("BEHAVIORAL",)}, "pact"),  # flags: the newer rule
])
def test_the_older_rule_for_records_without_fda_flags(changes, expected):
    base = {"start": "2016-03-01", "drug": None, "device": None}
    assert kind(**{**base, **changes}) == expected


def test_a_record_that_is_neither_says_why():
    status = on(trial(start="2015-01-01", completion="2016-06-30", phases=("PHASE1",), drug=None,
                      countries=("China",)), "2026-01-01")
    assert status.reasons == ("phase PHASE1 is not covered", "started before 2017-01-18 and completed before it",
                              "no FDA flags, and no site in the United States or its territories")


# --- the due date -----------------------------------------------------------------------------

@pytest.mark.parametrize(("completion", "due"), [
    ("2021-03-15", "2022-03-15"),
    ("2019-05-13", "2020-05-12"),  # 365 days, not a calendar year: 29 February 2020 lies between
    ("2019-05", "2020-05-30"),  # the month's end, 2019-05-31
    ("2019-02", "2020-02-28"),  # 2019-02-28
    ("2020-02", "2021-02-28"),  # a leap year's February ends on the 29th
    ("2019", "2020-12-30")])  # a year-only date: its last day
def test_the_due_date_is_365_days_after_completion(completion, due):
    assert on(trial(completion=completion), "2019-01-01").due_date == date.fromisoformat(due)


@pytest.mark.parametrize(("completion", "due"), [("2021-03-15", "2024-03-15"), ("2020-02", "2023-02-28")])
def test_a_certificate_of_delay_makes_it_three_years(completion, due):
    record = trial(completion=completion, certificate="2021-06-01")
    assert on(record, "2021-06-01").due_date == date.fromisoformat(due)
    assert on(record, "2021-05-31").due_date != date.fromisoformat(due)  # not yet submitted that day


@pytest.mark.parametrize(("day", "state", "due", "late"), [
    ("2022-03-14", r.ONGOING, False, None),  # the day before the due date
    ("2022-03-15", r.ONGOING, False, None),  # the due date
    ("2022-03-16", r.ONGOING, False, None),  # the day after: within the 30 days' grace
    ("2022-04-14", r.ONGOING, False, None),  # the grace's last day (a year and 30 days)
    ("2022-04-15", r.OVERDUE, True, 31),  # the first day overdue
    ("2023-03-15", r.OVERDUE, True, 365)])
def test_unreported_results_become_overdue_after_the_grace(day, state, due, late):
    status = on(trial(), day)
    assert (status.state, status.results_due, status.days_late) == (state, due, late)
    assert status.due_date == date(2022, 3, 15)


def test_the_grace_counts_from_the_calendar_year_and_the_days_late_from_365_days():
    # Completion 2019-05-31: due 2020-05-30 (365 days, a leap year), results due after
    # 2020-05-31 + 30 days: on its first overdue day it is 32 days late, as the tracker says.
    record = trial(completion="2019-05")
    assert on(record, "2020-06-30").state == r.ONGOING
    first = on(record, "2020-07-01")
    assert (first.state, first.days_late) == (r.OVERDUE, 32)


@pytest.mark.parametrize(("reported", "state", "late"), [
    ("2022-03-14", r.REPORTED, None), ("2022-03-15", r.REPORTED, None),  # on the due day: on time
    ("2022-03-16", r.REPORTED_LATE, 1), ("2022-04-20", r.REPORTED_LATE, 36)])
def test_reported_results_are_late_by_the_days_after_the_due_date(reported, state, late):
    status = on(trial(results=reported), "2022-05-01")
    assert (status.state, status.days_late, status.reported_on) == (state, late, date.fromisoformat(reported))


def test_reported_within_the_grace_is_reported_until_the_results_are_due():
    record = trial(results="2022-03-16")  # a day late
    assert (on(record, "2022-04-14").state, on(record, "2022-04-14").days_late) == (r.REPORTED, None)
    assert (on(record, "2022-04-15").state, on(record, "2022-04-15").days_late) == (r.REPORTED_LATE, 1)


def test_results_count_from_their_submission_on():
    record = trial(results="2022-06-01")
    assert (on(record, "2022-05-31").state, on(record, "2022-05-31").days_late) == (r.OVERDUE, 77)
    assert (on(record, "2022-06-01").state, on(record, "2022-06-01").days_late) == (r.REPORTED_LATE, 78)
    assert on(record, "2021-12-01").state == r.ONGOING and on(record, "2021-12-01").reported_on is None


@pytest.mark.parametrize(("day", "state", "late"), [
    ("2022-05-01", r.ONGOING, None), ("2024-03-15", r.ONGOING, None), ("2024-04-14", r.ONGOING, None),
    ("2024-04-15", r.OVERDUE, 31)])
def test_a_certificate_of_delay_postpones_the_due_date_by_two_years(day, state, late):
    status = on(trial(certificate="2022-01-10"), day)
    assert (status.state, status.days_late, status.certificate_date) == (state, late, date(2022, 1, 10))


def test_a_certificate_submitted_late_counts_from_its_date():
    record = trial(certificate="2022-05-10")
    assert (on(record, "2022-05-09").state, on(record, "2022-05-09").days_late) == (r.OVERDUE, 55)
    assert on(record, "2022-05-10").state == r.ONGOING  # the due date is 2024-03-15 from then on


def test_reported_with_a_certificate_is_late_after_three_years():
    status = on(trial(certificate="2022-01-10", results="2024-03-16"), "2024-05-01")
    assert (status.state, status.days_late) == (r.REPORTED_LATE, 1)


def test_an_act_without_a_completion_date_is_never_due():
    status = on(trial(completion=None), "2030-01-01")
    assert (status.classification, status.state, status.due_date) == ("act", r.ONGOING, None)


# --- submissions under the registry's review --------------------------------------------------

@pytest.mark.parametrize(("submissions", "state", "late", "reported"), [
    (({"released": "2022-03-01"},), r.REPORTED, None, "2022-03-01"),  # submitted before the due date
    (({"released": "2022-04-01"},), r.REPORTED_LATE, 17, "2022-04-01"),
    # withdrawn by the sponsor: overdue again, late from the due date
    (({"released": "2022-03-01", "unreleased": "2022-03-20"},), r.OVERDUE_CANCELLED, 47, "2022-03-01"),
    # the registry does not know when: from the day it started recording withdrawals
    (({"released": "2017-01-01", "unreleased_unknown": True},), r.OVERDUE_CANCELLED, 47, "2017-01-01"),
    # returned to the sponsor (a reset) is no withdrawal: it still counts
    (({"released": "2022-03-10", "reset": "2022-04-01"},), r.REPORTED, None, "2022-03-10"),
    # submitted again after a withdrawal: late from that submission
    (({"released": "2022-03-01", "unreleased": "2022-03-20"}, {"released": "2022-04-25"}), r.REPORTED_LATE, 41,
     "2022-03-01"),
])
def test_a_submission_under_review_counts_as_reported(submissions, state, late, reported):
    status = on(trial(submissions=submissions), "2022-05-01")
    assert (status.state, status.days_late, status.reported_on) == (state, late, date.fromisoformat(reported))


def test_a_submission_counts_from_its_date_and_a_withdrawal_from_its_own():
    record = trial(submissions=({"released": "2022-05-10", "unreleased": "2022-06-01"},))
    assert on(record, "2022-05-09").state == r.OVERDUE
    assert (on(record, "2022-05-10").state, on(record, "2022-05-10").days_late) == (r.REPORTED_LATE, 56)
    assert (on(record, "2022-06-01").state, on(record, "2022-06-01").days_late) == (r.OVERDUE_CANCELLED, 78)


# --- periods: the states over all dates ---------------------------------------------------------

RECORDS = [trial(), trial(completion="2019-05"), trial(completion="2020-02", certificate="2020-06-01"),
           trial(results="2022-03-16"), trial(certificate="2022-05-10", results="2024-06-01"),
           trial(submissions=({"released": "2022-03-01", "unreleased": "2022-03-20"}, {"released": "2022-04-25"})),
           trial(start="2015-01-01", completion="2016-01-01"), trial(completion=None)]


@pytest.mark.parametrize("record", RECORDS)
def test_the_periods_agree_with_the_status_on_every_day(record):
    periods = r.periods(record)
    assert periods[0].start is None and periods[-1].end is None
    assert all(a.end == b.start for a, b in zip(periods, periods[1:], strict=False))
    day = date(2018, 1, 1)
    while day < date(2026, 1, 1):
        status = r.status_on(record, day)
        held = [p for p in periods if (p.start is None or p.start <= day) and (p.end is None or day < p.end)]
        assert len(held) == 1
        period = held[0]
        assert (period.state, period.results_due, period.due_date, period.certificate_date, period.reported_on,
                r.in_period(period, day)) == (status.state, status.results_due, status.due_date,
                                              status.certificate_date, status.reported_on, status.days_late), day
        day += timedelta(days=1)


def test_the_periods_of_an_overdue_record():
    assert [(p.start, p.state) for p in r.periods(trial(results="2022-06-01"))] == [
        (None, r.ONGOING), (date(2022, 4, 15), r.OVERDUE), (date(2022, 6, 1), r.REPORTED_LATE)]


def test_a_drifted_date_far_off_is_no_date_not_a_crash():
    record = trial(completion="9999-12", certificate="9999-12-31")
    assert on(record, "2026-01-01").due_date is None and len(r.periods(record)) == 1


def test_the_record_model_and_its_json_answer_alike():
    record = trial(results="2022-03-16")
    assert r.status_on(record, date(2022, 5, 1)) == r.status_on(record.model_dump(mode="json"), date(2022, 5, 1))


@pytest.mark.parametrize(("value", "day"), [
    ("2024-02", date(2024, 2, 29)), ("2023-02", date(2023, 2, 28)), ("2023-12", date(2023, 12, 31)),
    ("2023-04-30", date(2023, 4, 30)), ("2023", date(2023, 12, 31)), ("2023-13", None), ("soon", None),
    ("", None), (None, None), ("9999-12", None), ("0001-01-01", None)])
def test_dates_at_the_registry_precision(value, day):
    assert r.day_of(value) == day


# --- the corpus ---------------------------------------------------------------------------------

@pytest.mark.corpus
def test_the_corpus_figures_as_of_a_date(corpus_dir):
    """The figures benchmarks/reporting_corpus.py prints (docs/reporting.md states them): the
    971 real records judged on 2026-11-30, as ClinicalTrials.gov showed them when captured."""
    from benchmarks.reporting_corpus import count

    assert count(corpus_dir, date(2026, 11, 30)) == {
        "records": 971, "act": 121, "pact": 13, "results_due": 110, "overdue": 82, "overdue_cancelled": 0,
        "reported": 18, "reported_late": 10, "ongoing": 24, "not_applicable": 837}
