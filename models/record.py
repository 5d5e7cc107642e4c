"""The normalized record every source produces (the record contract).

Field names, vocabularies and the meaning of ``null`` are the product; change
them deliberately and note it in README.md ("Schema"). Rules:

- ``None`` (JSON ``null``) means "this source does not say". It is never ``""``
  or ``[]``: an empty string or list from a source becomes ``None``.
- Enumerated fields hold canonical values from :mod:`trialmirror.models.vocab`. A value
  the vocabulary does not know is kept verbatim and flagged in ``unmapped``.
- The drift policy (README "When the registry drifts"): one field's surprise never
  rejects a record. An unknown value is kept, unambiguous type drift is coerced, an
  unreadable value leaves its field null, a null or malformed list item is skipped;
  each is an ``unmapped`` entry naming the path, the raw value and what was done.
- Free text is plain text: markup escapes undone, lines trimmed; the source's
  line breaks and bullet markers are kept.
- Sections (titles, status, design, eligibility, ...) are frozen models; the
  items and small values inside them (arms, interventions, sites, outcomes,
  dates, ages, enrollment, organizations, secondary ids, unmapped entries) are
  closed TypedDicts: plain dicts with exactly their keys, validated as strictly
  as the models but about twice as fast (they are most of a record's objects).
  The JSON is the same either way.
- Provenance (``source``, ``source_url``, ``source_version_date`` and
  ``status.last_update_posted``) describes the capture and is left out of the
  content hash and of diffs.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypedDict

# A ClinicalTrials.gov id, the key of every source's records: ASCII digits only (``\d``
# would take full-width and other Unicode digits, NCT０１３４２２５０, as a different id).
NCT_ID = re.compile(r"NCT[0-9]{8}")

# "actual" | "anticipated", or a word the registry started using, kept verbatim (flagged):
# a new date kind must not freeze every record at its last stored state.
DateKind = str


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Titles(_Frozen):
    brief: str | None = None
    official: str | None = None
    acronym: str | None = None


class SecondaryId(TypedDict, closed=True):
    id: str
    kind: str | None
    domain: str | None


class Identifiers(_Frozen):
    org_study_id: str | None = None
    secondary: list[SecondaryId] | None = None
    aliases: list[str] | None = None


# date: ISO 8601 at the source's precision, "2010-10" or "2010-10-05"
class DateValue(TypedDict, closed=True):
    date: str
    kind: DateKind | None


class Status(_Frozen):
    overall: str | None = None
    last_known: str | None = None  # for UNKNOWN: the status before the registry lost track
    why_stopped: str | None = None
    start: DateValue | None = None
    primary_completion: DateValue | None = None
    completion: DateValue | None = None
    first_posted: DateValue | None = None
    last_update_posted: DateValue | None = None
    verified: DateValue | None = None


class Design(_Frozen):
    allocation: str | None = None
    intervention_model: str | None = None
    masking: str | None = None
    who_masked: list[str] | None = None
    primary_purpose: str | None = None
    observational_model: str | None = None
    time_perspective: str | None = None


class Enrollment(TypedDict, closed=True):
    count: int | None
    kind: DateKind | None


# label / name / measure None: the source gave the item without one (flagged).
class Arm(TypedDict, closed=True):
    label: str | None
    type: str | None
    description: str | None
    interventions: list[str] | None


class Intervention(TypedDict, closed=True):
    type: str | None
    name: str | None
    description: str | None
    arm_labels: list[str] | None
    other_names: list[str] | None


# years: None only when the unit is missing or not one we can convert
class Age(TypedDict, closed=True):
    value: int | float
    unit: str | None
    years: float | None


CriteriaLayout = Literal["headed", "no_headers"]


# Items under one heading of the criteria text, in source order.
class CriteriaGroup(TypedDict, closed=True):
    kind: str | None  # "inclusion" | "exclusion" | None (outside any header)
    heading: str | None  # the sub-heading as written, None for a main list
    lead_in: str | None  # the sentence(s) introducing the items
    items: list[str]


class Eligibility(_Frozen):
    criteria_text: str | None = None
    inclusion: list[str] | None = None
    exclusion: list[str] | None = None
    # Items the text gives outside any inclusion/exclusion header (all of them
    # when the text has no headers, which ``criteria_layout`` then says).
    unclassified: list[str] | None = None
    criteria_layout: CriteriaLayout | None = None
    # Every item in its group (cohort, partner, phase or part sub-headings, lead-in
    # sentences); null when the text has nothing but the main inclusion/exclusion
    # headers and their items: the flat lists above then say it all.
    criteria_groups: list[CriteriaGroup] | None = None
    min_age: Age | None = None
    max_age: Age | None = None
    sex: str | None = None
    healthy_volunteers: bool | None = None
    std_ages: list[str] | None = None


class Outcome(TypedDict, closed=True):
    measure: str | None
    time_frame: str | None
    description: str | None


class Outcomes(_Frozen):
    primary: list[Outcome] | None = None
    secondary: list[Outcome] | None = None
    other: list[Outcome] | None = None


# "class" as in the contract and API v2 (a keyword, so the functional form).
# name None: the source shows an organization (its class) but not its name.
Organization = TypedDict("Organization", {"name": str | None, "class": str | None}, closed=True)


class Sponsors(_Frozen):
    lead: Organization | None = None
    collaborators: list[Organization] | None = None
    # The classes of the lead sponsor and collaborators as one set, for sources that
    # show them without saying whose each is (mirrors' "Funder types"). Null where
    # the classes sit on the organizations themselves (ClinicalTrials.gov).
    funder_types: list[str] | None = None


class Site(TypedDict, closed=True):
    facility: str | None
    city: str | None
    state: str | None
    country: str | None
    status: str | None


# What the drift policy did with a value it could not take as it came.
FlagAction = Literal[
    "kept",     # a value no vocabulary knows, kept verbatim in the field at ``path``
    "coerced",  # another type or format, converted ("120" -> 120); the field holds the result
    "dropped",  # unreadable: the field at ``path`` is null; the raw value is only here
    "skipped",  # a null or malformed item of the list at ``path``, left out of it
]


# One drift flag: ``path`` is the record field (no list positions, so flags count
# across records), or the source's own path for a part no field maps from;
# ``value`` the raw value as the source wrote it (JSON for non-text, cut at 200 characters).
class Unmapped(TypedDict, closed=True):
    path: str
    value: str
    action: FlagAction


class Record(_Frozen):
    registry_id: str
    source: str
    source_url: str | None = None
    source_version_date: str | None = None
    titles: Titles | None = None
    identifiers: Identifiers | None = None
    status: Status | None = None
    study_type: str | None = None
    phases: list[str] | None = None
    design: Design | None = None
    enrollment: Enrollment | None = None
    conditions: list[str] | None = None
    keywords: list[str] | None = None
    arms: list[Arm] | None = None
    interventions: list[Intervention] | None = None
    eligibility: Eligibility | None = None
    outcomes: Outcomes | None = None
    sponsors: Sponsors | None = None
    sites: list[Site] | None = None
    summary: str | None = None
    description: str | None = None
    unmapped: list[Unmapped] | None = None


# Left out of the content hash: they describe the capture, not the trial.
PROVENANCE_FIELDS = frozenset({"source", "source_url", "source_version_date"})
# Also left out: the registry's "last update posted" date moves whenever the
# registry touches the record (even derived data only); it is when a state
# became current, the version's ``valid_from``, not part of the state.
PROVENANCE_PATHS = (("status", "last_update_posted"),)
# Fields added to the contract after versions were stored: left out of the content
# hash while null, so adding one does not make a new version of every stored record.
ADDED_FIELDS = (("sponsors", "funder_types"), ("eligibility", "criteria_groups"))
