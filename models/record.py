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
from typing import Any, Literal, get_args

from pydantic import BaseModel, TypeAdapter
from typing_extensions import TypedDict

from trialmirror.models.results import Results
from trialmirror.models.trusted import Frozen as _Frozen
from trialmirror.models.trusted import Trusted, Unchecked

# A ClinicalTrials.gov id, the key of every source's records: ASCII digits only (``\d``
# would take full-width and other Unicode digits, NCT０１３４２２５０, as a different id).
NCT_ID = re.compile(r"NCT[0-9]{8}")

# "actual" | "anticipated", or a word the registry started using, kept verbatim (flagged):
# a new date kind must not freeze every record at its last stored state.
DateKind = str


# The record's items (the TypedDicts: sites, MeSH terms, arms, dates, ages ... ~90% of its
# values) are not validated again when a record is made (``Trusted``): the sources build
# them only with typed accessors (every value a str, int, float, bool or null by
# construction, every key a literal), and checking them again was a third of a parse
# (benchmarks/README.md). The sections (models) and their scalar fields are validated as
# ever. :func:`check_trusted` validates the trusted parts strictly; build_record calls it
# when TRIALMIRROR_CHECK_TRUSTED=1, which the test suite sets, so every record a test
# makes through a parser is checked whole.


class Titles(_Frozen):
    brief: str | None = None
    official: str | None = None
    acronym: str | None = None


class SecondaryId(TypedDict, closed=True):
    id: str
    kind: str | None
    domain: str | None
    link: str | None


class Identifiers(_Frozen):
    org_study_id: str | None = None
    org_study_id_kind: str | None = None  # the kind of a US grant number: NIH, FDA, VA, ...
    org_study_id_link: str | None = None
    secondary: Trusted[list[SecondaryId] | None] = None
    aliases: list[str] | None = None


# date: ISO 8601 at the source's precision, "2010-10" or "2010-10-05"
class DateValue(TypedDict, closed=True):
    date: str
    kind: DateKind | None


# An expanded-access program a study points to (or, on an expanded-access record, itself).
class ExpandedAccess(TypedDict, closed=True):
    available: bool | None  # "hasExpandedAccess": the drug is available outside the study
    registry_id: str | None  # the expanded-access record's NCT id
    status: str | None  # that record's status (AVAILABLE, NO_LONGER_AVAILABLE, ...)


class Status(_Frozen):
    overall: str | None = None
    last_known: str | None = None  # for UNKNOWN: the status before the registry lost track
    why_stopped: str | None = None
    start: Trusted[DateValue | None] = None
    primary_completion: Trusted[DateValue | None] = None
    completion: Trusted[DateValue | None] = None
    first_posted: Trusted[DateValue | None] = None
    last_update_posted: Trusted[DateValue | None] = None
    verified: Trusted[DateValue | None] = None
    # The registry's submission milestones ("submitted" by the sponsor, "qc" when it met
    # the registry's quality-control review, "posted" on the public site). ``kind`` is
    # null for dates the registry gives without one.
    first_submitted: Trusted[DateValue | None] = None
    first_submitted_qc: Trusted[DateValue | None] = None
    last_update_submitted: Trusted[DateValue | None] = None
    results_first_submitted: Trusted[DateValue | None] = None
    results_first_submitted_qc: Trusted[DateValue | None] = None
    results_first_posted: Trusted[DateValue | None] = None
    # The certification / extension request that delays results ("disposition").
    disposition_first_submitted: Trusted[DateValue | None] = None
    disposition_first_submitted_qc: Trusted[DateValue | None] = None
    disposition_first_posted: Trusted[DateValue | None] = None
    delayed_posting: bool | None = None  # posting of a device study delayed at the sponsor's request
    results_waived: bool | None = None
    expanded_access: Trusted[ExpandedAccess | None] = None


# years: None only when the unit is missing or not one we can convert
class Age(TypedDict, closed=True):
    value: int | float
    unit: str | None
    years: float | None


class Design(_Frozen):
    allocation: str | None = None
    intervention_model: str | None = None
    intervention_model_description: str | None = None
    masking: str | None = None
    masking_description: str | None = None
    who_masked: list[str] | None = None
    primary_purpose: str | None = None
    observational_model: str | None = None
    time_perspective: str | None = None
    patient_registry: bool | None = None
    target_duration: Trusted[Age | None] = None  # a patient registry's follow-up, as an age is given
    bio_spec_retention: str | None = None  # NONE_RETAINED | SAMPLES_WITH_DNA | SAMPLES_WITHOUT_DNA
    bio_spec_description: str | None = None
    # Expanded access: the kinds offered (INDIVIDUAL, INTERMEDIATE, TREATMENT) and how many
    # registry records point to this one as their expanded-access program.
    expanded_access_types: list[str] | None = None
    expanded_access_referrers: int | None = None


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
    criteria_groups: Trusted[list[CriteriaGroup] | None] = None
    min_age: Trusted[Age | None] = None
    max_age: Trusted[Age | None] = None
    sex: str | None = None
    healthy_volunteers: bool | None = None
    std_ages: list[str] | None = None
    gender_based: bool | None = None  # eligibility rests on gender identity, not sex
    gender_description: str | None = None
    study_population: str | None = None  # observational studies: who is studied
    sampling_method: str | None = None  # PROBABILITY_SAMPLE | NON_PROBABILITY_SAMPLE


class Outcome(TypedDict, closed=True):
    measure: str | None
    time_frame: str | None
    description: str | None


class Outcomes(_Frozen):
    primary: Trusted[list[Outcome] | None] = None
    secondary: Trusted[list[Outcome] | None] = None
    other: Trusted[list[Outcome] | None] = None


# "class" as in the contract and API v2 (a keyword, so the functional form).
# name None: the source shows an organization (its class) but not its name.
Organization = TypedDict("Organization", {"name": str | None, "class": str | None}, closed=True)


# Who answers for the record to the registry. ``investigator_*`` when that is a person
# (PRINCIPAL_INVESTIGATOR, SPONSOR_INVESTIGATOR); ``old_*`` the free text of records
# registered before the registry split it into fields.
class ResponsibleParty(TypedDict, closed=True):
    type: str | None  # SPONSOR | PRINCIPAL_INVESTIGATOR | SPONSOR_INVESTIGATOR
    investigator_name: str | None
    investigator_title: str | None
    investigator_affiliation: str | None
    old_name_title: str | None
    old_organization: str | None


class Sponsors(_Frozen):
    lead: Trusted[Organization | None] = None
    collaborators: Trusted[list[Organization] | None] = None
    # The classes of the lead sponsor and collaborators as one set, for sources that
    # show them without saying whose each is (mirrors' "Funder types"). Null where
    # the classes sit on the organizations themselves (ClinicalTrials.gov).
    funder_types: list[str] | None = None
    # The organization whose account registered the study (its "organization").
    organization: Trusted[Organization | None] = None
    responsible_party: Trusted[ResponsibleParty | None] = None


# A person to contact, as the registry publishes them (personal: see Settings
# ``personal_contacts``, which leaves name, phone and email out of the store).
class Contact(TypedDict, closed=True):
    name: str | None
    role: str | None  # CONTACT | PRINCIPAL_INVESTIGATOR | STUDY_CHAIR | ...
    phone: str | None
    phone_ext: str | None
    email: str | None


class Official(TypedDict, closed=True):
    name: str | None
    affiliation: str | None
    role: str | None  # PRINCIPAL_INVESTIGATOR | STUDY_CHAIR | STUDY_DIRECTOR | SUB_INVESTIGATOR


class Contacts(_Frozen):
    central: Trusted[list[Contact] | None] = None  # the study's central contacts
    officials: Trusted[list[Official] | None] = None  # its overall officials


# latitude / longitude: WGS 84 degrees, the registry's geocode of the site's city
# (not of the facility itself).
class Site(TypedDict, closed=True):
    facility: str | None
    city: str | None
    state: str | None
    country: str | None
    status: str | None
    zip: str | None
    latitude: float | None
    longitude: float | None
    contacts: list[Contact] | None


class Retraction(TypedDict, closed=True):
    pmid: str | None
    source: str | None


class Citation(TypedDict, closed=True):
    pmid: str | None
    type: str | None  # BACKGROUND | RESULT | DERIVED
    citation: str | None
    retractions: list[Retraction] | None


class Link(TypedDict, closed=True):
    label: str | None
    url: str | None


# Individual participant data (or documents) said to be available elsewhere.
class AvailableIpd(TypedDict, closed=True):
    id: str | None
    type: str | None  # free text: "Individual Participant Data Set", "Study Protocol", ...
    url: str | None
    comment: str | None


class References(_Frozen):
    citations: Trusted[list[Citation] | None] = None
    links: Trusted[list[Link] | None] = None  # "see also" links
    available_ipds: Trusted[list[AvailableIpd] | None] = None


class IpdSharing(_Frozen):
    sharing: str | None = None  # YES | NO | UNDECIDED
    description: str | None = None
    info_types: list[str] | None = None  # STUDY_PROTOCOL | SAP | ICF | CSR | ANALYTIC_CODE
    time_frame: str | None = None
    access_criteria: str | None = None
    url: str | None = None


# The record's FDA oversight and monitoring flags, as the sponsor declares them.
class Oversight(_Frozen):
    has_dmc: bool | None = None  # a data monitoring committee
    fda_regulated_drug: bool | None = None
    fda_regulated_device: bool | None = None
    unapproved_device: bool | None = None
    ppsd: bool | None = None  # a pediatric postmarket surveillance of a device
    us_export: bool | None = None  # a product made in and exported from the US
    fdaaa801_violation: bool | None = None


class MeshTerm(TypedDict, closed=True):
    id: str | None  # the MeSH descriptor id, "D008103"
    term: str | None


# A term of the registry's browse index: ``as_found`` the words of the record it was
# found from; ``relevance`` HIGH for the record's own terms, LOW for their ancestors.
class BrowseLeaf(TypedDict, closed=True):
    id: str | None
    name: str | None
    as_found: str | None
    relevance: str | None


class BrowseBranch(TypedDict, closed=True):
    abbrev: str | None  # "BC06"
    name: str | None  # "Digestive System Diseases"


# The registry's MeSH indexing of the conditions (or of the interventions): the
# terms it matched, their ancestors in the MeSH tree, and its browse index.
class MeshIndex(_Frozen):
    terms: Trusted[list[MeshTerm] | None] = None
    ancestors: Trusted[list[MeshTerm] | None] = None
    leaves: Trusted[list[BrowseLeaf] | None] = None
    branches: Trusted[list[BrowseBranch] | None] = None


class Mesh(_Frozen):
    conditions: MeshIndex | None = None
    interventions: MeshIndex | None = None


# A large document (protocol, statistical analysis plan, informed consent form).
class LargeDoc(TypedDict, closed=True):
    type_abbrev: str | None  # "Prot", "SAP", "ICF", "Prot_SAP", ...
    has_protocol: bool | None
    has_sap: bool | None
    has_icf: bool | None
    label: str | None
    date: str | None  # the document's own date, ISO
    uploaded: str | None  # when it was uploaded, "2017-10-05T11:25" (registry's clock)
    filename: str | None
    size: int | None  # bytes


class Documents(_Frozen):
    no_sap: bool | None = None  # the sponsor says there is no statistical analysis plan
    large_docs: Trusted[list[LargeDoc] | None] = None


# The registry's notes on results it has not posted: a submission it returned
# (RESET), released to review (RELEASE) or that the sponsor withdrew (UNRELEASE).
class UnpostedEvent(TypedDict, closed=True):
    type: str | None
    date: str | None
    date_unknown: bool | None


# An FDAAA 801 violation the FDA notified, and what followed.
class ViolationEvent(TypedDict, closed=True):
    type: str | None  # VIOLATION_IDENTIFIED | CORRECTION_CONFIRMED | PENALTY_IMPOSED | ...
    description: str | None
    created: str | None
    issued: str | None
    released: str | None
    posted: str | None


class Annotations(_Frozen):
    unposted_responsible_party: str | None = None
    unposted_events: Trusted[list[UnpostedEvent] | None] = None
    violation_events: Trusted[list[ViolationEvent] | None] = None


# One results submission under review, as the registry tracks it ("mcp": the
# registry's major-comments process).
class Submission(TypedDict, closed=True):
    released: str | None
    unreleased: str | None
    unreleased_unknown: bool | None
    reset: str | None
    mcp_release_n: int | None


class SubmissionTracking(_Frozen):
    estimated_results_first_submitted: str | None = None
    first_mcp_posted: Trusted[DateValue | None] = None
    submissions: Trusted[list[Submission] | None] = None


class RegistryInfo(_Frozen):
    # The date of the registry's data this record was read from; it moves every time
    # the registry rebuilds its data, so it is provenance (left out of hash and diffs).
    version_holder: str | None = None
    removed_countries: list[str] | None = None  # countries whose every site was removed
    submission_tracking: SubmissionTracking | None = None


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
    enrollment: Trusted[Enrollment | None] = None
    conditions: list[str] | None = None
    keywords: list[str] | None = None
    arms: Trusted[list[Arm] | None] = None
    interventions: Trusted[list[Intervention] | None] = None
    eligibility: Eligibility | None = None
    outcomes: Outcomes | None = None
    sponsors: Sponsors | None = None
    sites: Trusted[list[Site] | None] = None
    summary: str | None = None
    description: str | None = None
    # Added with the whole record (issue 15); see ADDED_FIELDS.
    has_results: bool | None = None
    contacts: Contacts | None = None
    oversight: Oversight | None = None
    references: References | None = None
    ipd_sharing: IpdSharing | None = None
    mesh: Mesh | None = None
    documents: Documents | None = None
    annotations: Annotations | None = None
    registry_info: RegistryInfo | None = None
    results: Results | None = None  # issue 16: models/results.py
    unmapped: Trusted[list[Unmapped] | None] = None


def path_tree(paths: tuple[str, ...]) -> dict[str, Any]:
    """Dotted record paths as a tree, for one walk over a record that visits them all:
    ``("sites.zip", "sites.contacts")`` -> ``{"sites": {"zip": {}, "contacts": {}}}``
    (a list on the way is each of its items)."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for key in path.split("."):
            node = node.setdefault(key, {})
    return tree


def blank(item: type, **values: Any) -> dict[str, Any]:
    """An item of a closed TypedDict (``Site``, ``SecondaryId`` ...) with ``values`` and
    every other key null: for sources that say a few of its keys."""
    return {key: values.get(key) for key in item.__annotations__}


def _trusted_fields(model: type[BaseModel]) -> list[tuple[str, TypeAdapter[Any] | None, type[BaseModel] | None]]:
    """(name, a strict validator of a trusted field's type, a section model to walk into)."""
    out: list[tuple[str, TypeAdapter[Any] | None, type[BaseModel] | None]] = []
    for name, field in model.model_fields.items():
        if Unchecked in field.metadata:  # a Trusted field
            out.append((name, TypeAdapter(field.annotation or Any), None))
            continue
        for arg in get_args(field.annotation) or (field.annotation,):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out.append((name, None, arg))
    return out


_TRUSTED: dict[type[BaseModel], list[tuple[str, TypeAdapter[Any] | None, type[BaseModel] | None]]] = {}


def check_trusted(model: BaseModel) -> None:
    """Validate, strictly (no coercion), every trusted field of ``model`` and of its
    sections: what the model would have checked had it not trusted them. Raises
    pydantic's ValidationError."""
    kind = type(model)
    if kind not in _TRUSTED:
        _TRUSTED[kind] = _trusted_fields(kind)
    for name, adapter, section in _TRUSTED[kind]:
        value = getattr(model, name)
        if adapter is not None:
            adapter.validate_python(value, strict=True)
        elif value is not None and section is not None:
            check_trusted(value)


# Left out of the content hash: they describe the capture, not the trial.
PROVENANCE_FIELDS = frozenset({"source", "source_url", "source_version_date"})
# Also left out: the registry's "last update posted" date moves whenever the
# registry touches the record (even derived data only); it is when a state
# became current, the version's ``valid_from``, not part of the state.
PROVENANCE_PATHS = (("status", "last_update_posted"), ("registry_info", "version_holder"))
# Fields added to the contract after versions were stored: left out of the content
# hash while null (or absent, as in a version stored before), so adding one does not
# make a new version of every stored record. Dotted paths; a list on the way applies
# the rest of the path to each of its items ("sites.zip": every site's zip).
ADDED_FIELDS = (
    "sponsors.funder_types", "eligibility.criteria_groups",
    # issue 15: the whole record
    "has_results", "contacts", "oversight", "references", "ipd_sharing", "mesh", "documents",
    "annotations", "registry_info",
    "identifiers.org_study_id_kind", "identifiers.org_study_id_link", "identifiers.secondary.link",
    "status.first_submitted", "status.first_submitted_qc", "status.last_update_submitted",
    "status.results_first_submitted", "status.results_first_submitted_qc",
    "status.results_first_posted", "status.disposition_first_submitted",
    "status.disposition_first_submitted_qc", "status.disposition_first_posted",
    "status.delayed_posting", "status.results_waived", "status.expanded_access",
    "design.intervention_model_description", "design.masking_description",
    "design.patient_registry", "design.target_duration", "design.bio_spec_retention",
    "design.bio_spec_description", "design.expanded_access_types",
    "design.expanded_access_referrers",
    "eligibility.gender_based", "eligibility.gender_description",
    "eligibility.study_population", "eligibility.sampling_method",
    "sponsors.organization", "sponsors.responsible_party",
    "sites.zip", "sites.latitude", "sites.longitude", "sites.contacts",
    # issue 16: the results section
    "results",
)
