"""The normalized record every source produces (the record contract).

Field names, vocabularies and the meaning of ``null`` are the product; change
them deliberately and note it in README.md ("Schema"). Rules:

- ``None`` (JSON ``null``) means "this source does not say". It is never ``""``
  or ``[]``: an empty string or list from a source becomes ``None``.
- Enumerated fields hold canonical values from :mod:`models.vocab`. A value
  the vocabulary does not know is kept verbatim and listed in ``unmapped``.
- Free text is plain text: markup escapes undone, lines trimmed; the source's
  line breaks and bullet markers are kept.
- Provenance (``source``, ``source_url``, ``source_version_date`` and
  ``status.last_update_posted``) describes the capture and is left out of the
  content hash and of diffs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

DateKind = Literal["actual", "anticipated"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Titles(_Frozen):
    brief: str | None = None
    official: str | None = None
    acronym: str | None = None


class SecondaryId(_Frozen):
    id: str
    kind: str | None = None
    domain: str | None = None


class Identifiers(_Frozen):
    org_study_id: str | None = None
    secondary: list[SecondaryId] | None = None
    aliases: list[str] | None = None


class DateValue(_Frozen):
    date: str  # ISO 8601 at the source's precision: "2010-10" or "2010-10-05"
    kind: DateKind | None = None


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


class Enrollment(_Frozen):
    count: int | None = None
    kind: DateKind | None = None


class Arm(_Frozen):
    label: str
    type: str | None = None
    description: str | None = None
    interventions: list[str] | None = None


class Intervention(_Frozen):
    type: str | None = None
    name: str
    description: str | None = None
    arm_labels: list[str] | None = None
    other_names: list[str] | None = None


class Age(_Frozen):
    value: int | float
    unit: str
    years: float | None  # None only when the unit is not one we can convert


CriteriaLayout = Literal["headed", "no_headers"]


class Eligibility(_Frozen):
    criteria_text: str | None = None
    inclusion: list[str] | None = None
    exclusion: list[str] | None = None
    # Items the text gives outside any inclusion/exclusion header (all of them
    # when the text has no headers, which ``criteria_layout`` then says).
    unclassified: list[str] | None = None
    criteria_layout: CriteriaLayout | None = None
    min_age: Age | None = None
    max_age: Age | None = None
    sex: str | None = None
    healthy_volunteers: bool | None = None
    std_ages: list[str] | None = None


class Outcome(_Frozen):
    measure: str
    time_frame: str | None = None
    description: str | None = None


class Outcomes(_Frozen):
    primary: list[Outcome] | None = None
    secondary: list[Outcome] | None = None
    other: list[Outcome] | None = None


class Organization(_Frozen):
    name: str
    # Named ``class`` in JSON, as in the contract and in API v2.
    klass: str | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True,
                              serialize_by_alias=True,
                              alias_generator=lambda f: "class" if f == "klass" else f)


class Sponsors(_Frozen):
    lead: Organization | None = None
    collaborators: list[Organization] | None = None


class Site(_Frozen):
    facility: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    status: str | None = None


class Unmapped(_Frozen):
    """A value a vocabulary did not know, kept verbatim in the field at ``path``."""

    path: str
    value: str


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
