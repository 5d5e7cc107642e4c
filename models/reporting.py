"""Results reporting under FDAAA 801, as the FDAAA TrialsTracker computes it: whether a record
is an applicable clinical trial (ACT) or a probable one (pACT), when its results are due, and
whether they were reported, late or not, or are overdue, on any date.

The rules are the TrialsTracker's, read from its code (not copied) and restated on the
normalized record:

- ebmdatalab/clinicaltrials-act-converter, ``ctconvert/convert_data.py`` at commit
  99723271105e73847545fe3550d98b977192cd97: which trials are ACTs and pACTs, the completion
  date used, the certificate of delay, ``results_due``;
- ebmdatalab/clinicaltrials-act-tracker, ``clinicaltrials/frontend/trial_computer.py`` and
  ``models.py`` (``calculated_due_date``) at commit 8d7957202016712d3161dddb3cd063e3d413b96c:
  the due date, days late and the state, results under quality-control review included.

ACT: interventional, a covered phase (Phase 1/2, 2, 2/3, 3, 4 or "not applicable"), not
device feasibility, not withdrawn, an FDA-regulated drug or device (the sponsor's flags), started
on or after 2017-01-18. pACT: the same but started before 2017-01-18 and completing (primary
completion, else completion) on or after it; or, for records that carry neither FDA flag
(registered before the flags existed), a drug, device, biological, genetic, radiation,
combination-product or diagnostic-test intervention and a site in the United States or a US
territory instead of the flags. Dates given to the month count as the month's last day (given
to the year: the year's last day), the start date included, as the converter does.

Due date: the completion date plus 365 days, or plus 3 years with a certificate of delay (its
date: ``disposition_first_submitted``). Results count as due ("results_due") only once the date
is past the completion date plus one year (three with a certificate) plus 30 days' grace;
reported results are late by the days from the due date to their submission; unreported ones
are overdue after the 30 days' grace. A submission under the registry's quality-control review
counts as reported from its first submission, unless the sponsor withdrew it and did not submit
again (``overdue_cancelled``).

Where this differs from the tracker, and why:

- The tracker looks up "is FDA regulated" in a snapshot of January 2017 for records without the
  newer flags; the record here has no such field, so that lookup is taken as "unknown", which the
  tracker's rule lets pass: a record the snapshot marked not FDA-regulated is a pACT here only.
- The tracker always computes as of today. Here any date can be asked: results, a certificate
  and review submissions count only from their own dates on (a record read today is asked how
  it stood on an earlier date as it would have stood then, with what it says now).
- An ACT without any completion date is never due (the tracker's converter fails on it; its
  earlier SQL left it not due).

Pure: a record (the model or its JSON form) and a date in, a value out. The store keeps each
record's :func:`periods` to answer for today in SQL; the API and the CLI call :func:`status_on`.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel

RULES = ("FDAAA TrialsTracker rules: ebmdatalab/clinicaltrials-act-converter ctconvert/convert_data.py "
         "@ 9972327, ebmdatalab/clinicaltrials-act-tracker clinicaltrials/frontend/trial_computer.py @ 8d79572")
EFFECTIVE = date(2017, 1, 18)  # FDAAA's final rule took effect
GRACE_DAYS = 30
# What the tracker does not know when a cancellation happened ("unreleaseDateUnknown") dates
# from the day the registry started recording cancellations (process_data.py).
UNKNOWN_CANCELLATION = date(2018, 7, 5)

ACT, PACT = "act", "pact"
# States, the tracker's ('reported-late' -> 'reported_late'), and ours for a record it leaves out.
REPORTED, REPORTED_LATE, OVERDUE, OVERDUE_CANCELLED = "reported", "reported_late", "overdue", "overdue_cancelled"
ONGOING, NOT_APPLICABLE = "ongoing", "not_applicable"
STATES = (REPORTED, REPORTED_LATE, OVERDUE, OVERDUE_CANCELLED, ONGOING, NOT_APPLICABLE)
OVERDUE_STATES = (OVERDUE, OVERDUE_CANCELLED)  # days late grow with the date

# The tracker's phases, as the XML wrote them ("Phase 1/Phase 2" ... "N/A"), in the record's terms.
COVERED_PHASES = frozenset({frozenset({"PHASE1", "PHASE2"}), frozenset({"PHASE2"}), frozenset({"PHASE2", "PHASE3"}),
                            frozenset({"PHASE3"}), frozenset({"PHASE4"}), frozenset({"NA"})})
COVERED_INTERVENTIONS = frozenset({"DRUG", "DEVICE", "BIOLOGICAL", "GENETIC", "RADIATION", "COMBINATION_PRODUCT",
                                   "DIAGNOSTIC_TEST"})
# Matched within a site's country as the tracker matches them within the countries' text, so
# "United States Minor Outlying Islands" counts as it does there.
US_PLACES = ("United States", "American Samoa", "Guam", "Northern Mariana Islands", "Puerto Rico",
             "Virgin Islands (U.S.)")


def day_of(value: str | None) -> date | None:
    """An ISO date at the registry's precision as the day the rules use: "2019-05-13" as it
    is, "2019-05" the month's last day, "2019" the year's last; anything else None, a year
    outside 1000-8999 too (a drifted "9999-12" would overflow the date arithmetic)."""
    if not value:
        return None
    try:
        parts = [int(p) for p in value.split("-")]
        if not 1000 <= parts[0] <= 8999:
            return None
        if len(parts) == 3:
            return date(*parts)
        if len(parts) == 2:
            return date(parts[0], parts[1], calendar.monthrange(parts[0], parts[1])[1])
        if len(parts) == 1:
            return date(parts[0], 12, 31)
    except (ValueError, TypeError):
        return None
    return None


def plus_years(day: date, years: int) -> date:
    """``day`` that many years on; 29 February becomes 28 February (as dateutil's relativedelta)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class Submission:
    """A results submission under the registry's review: when it was made, and when the
    sponsor withdrew it (None: it was not)."""

    submitted: date
    cancelled: date | None


@dataclass(frozen=True)
class Facts:
    """What the rules read of a record."""

    classification: str | None  # ACT, PACT, or None
    reasons: tuple[str, ...]  # why it is neither (empty otherwise)
    completion: date | None  # primary completion, else completion
    completion_from: str | None  # "primary_completion" | "completion"
    certificate: date | None  # the certificate of delay's submission
    results: date | None  # the results' first submission
    submissions: tuple[Submission, ...] = ()
    completion_kind: str | None = None  # the completion date's: "actual" | "anticipated"


@dataclass(frozen=True)
class Reporting:
    """Where a record stands on ``as_of``."""

    as_of: date
    classification: str | None
    state: str
    completion_date: date | None
    completion_from: str | None
    certificate_date: date | None  # only once submitted (on or before as_of)
    due_date: date | None
    results_due: bool  # the tracker's "results_due": past the due date's grace
    reported_on: date | None  # results submitted, or first submitted for review (as of as_of)
    days_late: int | None
    reasons: tuple[str, ...] = ()
    # "actual" or "anticipated": an overdue trial judged on an anticipated completion date
    # may have completed later than the registry still says (the tracker counts it alike)
    completion_kind: str | None = None

    def as_json(self) -> dict[str, Any]:
        def iso(value: date | None) -> str | None:
            return None if value is None else value.isoformat()

        return {"as_of": iso(self.as_of), "classification": self.classification, "state": self.state,
                "completion_date": iso(self.completion_date), "completion_from": self.completion_from,
                "completion_kind": self.completion_kind,
                "certificate_date": iso(self.certificate_date), "due_date": iso(self.due_date),
                "results_due": self.results_due, "reported_on": iso(self.reported_on),
                "days_late": self.days_late, "reasons": list(self.reasons), "rules": RULES}


@dataclass(frozen=True)
class Period:
    """A span of dates over which a record's reporting state holds: from ``start`` (None: since
    ever) to ``end`` (exclusive; None: for good). ``days_late`` is None in an overdue state,
    where it is the date's distance from ``due_date``."""

    start: date | None
    end: date | None
    state: str
    results_due: bool
    due_date: date | None
    certificate_date: date | None
    reported_on: date | None
    days_late: int | None


def _doc(record: BaseModel | Mapping[str, Any]) -> Mapping[str, Any]:
    return record.model_dump(mode="json") if isinstance(record, BaseModel) else record


def _get(doc: Mapping[str, Any] | None, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(key)
    return doc


def _date(doc: Mapping[str, Any], *path: str) -> date | None:
    value = _get(doc, *path)
    return day_of(value) if isinstance(value, str) else None


def facts(record: BaseModel | Mapping[str, Any]) -> Facts:
    """What the rules read of ``record`` (a Record, or its JSON form as the store holds it)."""
    doc = _doc(record)
    primary = _date(doc, "status", "primary_completion", "date")
    completion = primary or _date(doc, "status", "completion", "date")
    classification, reasons = _classify(doc, completion)
    # In order of submission, as the tracker's review rows (a tie keeps the registry's order).
    submissions = tuple(sorted(
        (Submission(submitted, _cancelled(item)) for item in _get(doc, "registry_info", "submission_tracking",
                                                                  "submissions") or []
         if isinstance(item, Mapping) and (submitted := day_of(item.get("released"))) is not None),
        key=lambda s: s.submitted))
    completion_from = None if completion is None else "primary_completion" if primary else "completion"
    return Facts(classification, reasons, completion, completion_from,
                 _date(doc, "status", "disposition_first_submitted", "date"),
                 _date(doc, "status", "results_first_submitted", "date"), submissions,
                 _get(doc, "status", completion_from, "kind") if completion_from else None)


def _cancelled(item: Mapping[str, Any]) -> date | None:
    if (when := day_of(item.get("unreleased"))) is not None:
        return when
    return UNKNOWN_CANCELLATION if item.get("unreleased_unknown") is True else None


def _classify(doc: Mapping[str, Any], completion: date | None) -> tuple[str | None, tuple[str, ...]]:
    """(ACT, PACT or None, why neither), as convert_data.py's act_flag and included_pact_flag."""
    reasons = []
    study_type, phases = doc.get("study_type"), doc.get("phases") or []
    if study_type != "INTERVENTIONAL":
        reasons.append(f"not interventional ({study_type or 'no study type'})")
    if frozenset(phases) not in COVERED_PHASES:
        reasons.append(f"phase {'/'.join(phases) or 'not given'} is not covered")
    if _get(doc, "design", "primary_purpose") == "DEVICE_FEASIBILITY":
        reasons.append("a device feasibility study")
    if _get(doc, "status", "overall") == "WITHDRAWN":
        reasons.append("withdrawn")
    start = _date(doc, "status", "start", "date")
    if start is None:
        reasons.append("no start date")
    drug, device = _get(doc, "oversight", "fda_regulated_drug"), _get(doc, "oversight", "fda_regulated_device")
    regulated = drug is True or device is True
    if start is not None and start >= EFFECTIVE:
        if not regulated:
            reasons.append("started on or after 2017-01-18, but not an FDA-regulated drug or device")
        return (None, tuple(reasons)) if reasons else (ACT, ())
    if start is not None and (completion is None or completion < EFFECTIVE):
        reasons.append("started before 2017-01-18 and completed before it" if completion
                       else "started before 2017-01-18, no completion date")
    if not regulated:
        reasons += _old_rule(doc, drug, device)
    return (None, tuple(reasons)) if reasons else (PACT, ())


def _old_rule(doc: Mapping[str, Any], drug: Any, device: Any) -> list[str]:
    """Why a record without FDA flags fails the older pACT rule (covered intervention, US site)."""
    if drug is not None or device is not None:
        return ["not an FDA-regulated drug or device"]
    reasons = []
    types = {i.get("type") for i in doc.get("interventions") or [] if isinstance(i, Mapping)}
    if not types & COVERED_INTERVENTIONS:
        reasons.append("no FDA flags, and no drug, device, biological, genetic, radiation, combination "
                       "or diagnostic-test intervention")
    # distinct countries: a record may list thousands of sites
    countries = {s.get("country") or "" for s in doc.get("sites") or [] if isinstance(s, Mapping)}
    if not any(place in country for country in countries for place in US_PLACES):
        reasons.append("no FDA flags, and no site in the United States or its territories")
    return reasons


def _late(on: date, due: date, grace: bool = False) -> int | None:
    """trial_computer.py's days late: None when not late (or, with ``grace``, within it)."""
    days = max((on - due).days, 0)
    if grace and days - GRACE_DAYS <= 0:
        days = 0
    return days or None


def status_of(found: Facts, as_of: date) -> Reporting:
    """Where a record with these facts stands on ``as_of``."""
    status = _status_of(found, as_of)
    return replace(status, completion_kind=found.completion_kind) if found.completion_kind else status


def _status_of(found: Facts, as_of: date) -> Reporting:
    if found.classification is None:
        return Reporting(as_of, None, NOT_APPLICABLE, found.completion, found.completion_from, None, None,
                         False, None, None, found.reasons)
    certificate = found.certificate if found.certificate and found.certificate <= as_of else None
    results = found.results if found.results and found.results <= as_of else None
    completion = found.completion
    due_date = due = None
    if completion is not None:
        due_date = plus_years(completion, 3) if certificate else completion + timedelta(days=365)
        # convert_data.py: due a year (three with a certificate) and 30 days after completion
        due = as_of > plus_years(completion, 1) + timedelta(days=GRACE_DAYS) and (
            certificate is None or as_of > plus_years(completion, 3) + timedelta(days=GRACE_DAYS))
    base = Reporting(as_of, found.classification, ONGOING, completion, found.completion_from, certificate,
                     due_date, bool(due), results, None)
    if not due or due_date is None:
        return replace(base, state=REPORTED) if results else base
    if results:
        late = _late(results, due_date)
        return replace(base, state=REPORTED_LATE if late else REPORTED, days_late=late)
    return _unreported(base, due_date, [s for s in found.submissions if s.submitted <= as_of])


def _unreported(base: Reporting, due_date: date, submissions: list[Submission]) -> Reporting:
    """Due, no results posted: trial_computer.py's reading of the review submissions."""
    as_of = base.as_of
    original = submissions[0].submitted if submissions else None
    restart, cancelled = None, False
    for item in reversed(submissions):  # the newest first, back to the latest withdrawn one
        if item.cancelled is not None and item.cancelled <= as_of:
            cancelled = True
            break
        restart = item.submitted
    if original is None:
        late = _late(as_of, due_date, grace=True)
        return replace(base, state=OVERDUE if late else ONGOING, days_late=late)
    late = _late(original, due_date)
    if restart is not None:
        late = _late(restart, due_date)
    elif cancelled:
        late = _late(as_of, due_date, grace=True)
    if not late:
        return replace(base, state=REPORTED, reported_on=original)
    state = OVERDUE_CANCELLED if cancelled and restart is None else REPORTED_LATE
    return replace(base, state=state, reported_on=original, days_late=late)


def status_on(record: BaseModel | Mapping[str, Any], as_of: date) -> Reporting:
    """Where ``record`` stands on ``as_of`` (:class:`Reporting`)."""
    return status_of(facts(record), as_of)


def _turns(found: Facts) -> set[date]:
    """Every date on which some comparison of :func:`status_of` with its date flips: between
    two of them, the state and all but an overdue record's days late stay the same."""
    turns = {d for d in (found.certificate, found.results) if d is not None}
    turns |= {d for s in found.submissions for d in (s.submitted, s.cancelled) if d is not None}
    if found.completion is not None:
        one, three = plus_years(found.completion, 1), plus_years(found.completion, 3)
        grace = timedelta(days=GRACE_DAYS + 1)
        turns |= {one + grace, three + grace, found.completion + timedelta(days=365) + grace}
    return turns


def periods(record: BaseModel | Mapping[str, Any], found: Facts | None = None) -> list[Period]:
    """The record's reporting states over all dates, in order: the first from ever, the last
    for good; :func:`status_on` on any date agrees with the period holding it. ``found``:
    the record's :func:`facts`, when the caller has them already."""
    found = found or facts(record)
    if found.classification is None:  # most records: one state for good, no date to try
        return [Period(None, None, NOT_APPLICABLE, False, None, None, None, None)]
    out: list[Period] = []
    for start in [None, *sorted(_turns(found))]:
        now = status_of(found, start or date.min)
        growing = now.state in OVERDUE_STATES
        period = Period(start, None, now.state, now.results_due, now.due_date, now.certificate_date,
                        now.reported_on, None if growing else now.days_late)
        if out and out[-1] == replace(period, start=out[-1].start):
            continue
        if out:
            out[-1] = replace(out[-1], end=start)
        out.append(period)
    return out


def in_period(found: Period, as_of: date) -> int | None:
    """The days late of a record in ``found`` on ``as_of`` (an overdue one's grow by the day)."""
    if found.state in OVERDUE_STATES and found.due_date is not None:
        return (as_of - found.due_date).days
    return found.days_late
