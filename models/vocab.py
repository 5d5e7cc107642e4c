"""Canonical vocabularies and the synonym tables that map source wording onto them.

Canonical values are ClinicalTrials.gov API v2 enum names (``COMPLETED``,
``PHASE1``, ``EXPERIMENTAL`` ...), except date and enrollment kinds, which the
record contract words as ``actual`` / ``anticipated``.

Lookup folds a display string to a key (upper case, every run of other
characters becomes ``_``), so "Active, not recruiting", "active-not-recruiting"
and ``ACTIVE_NOT_RECRUITING`` all meet the same entry. A value that neither the
vocabulary nor its synonyms know is returned verbatim with ``known=False`` so
the caller can flag it; nothing here raises on a new upstream value.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_FOLD = re.compile(r"[^A-Z0-9]+")


def fold(value: str) -> str:
    """The lookup key of a display string: ``"Phase 1/Phase 2"`` -> ``PHASE_1_PHASE_2``."""
    return _FOLD.sub("_", value.upper()).strip("_")


class Mapped(NamedTuple):
    value: str
    known: bool


class Vocabulary:
    """One closed list of canonical values plus the synonyms seen in the wild."""

    def __init__(self, name: str, values: list[str], synonyms: dict[str, str] | None = None):
        self.name = name
        self.values = frozenset(values)
        self._lookup = {fold(v): v for v in values}
        self._seen: dict[str, Mapped] = {}
        for raw, canonical in (synonyms or {}).items():
            if canonical not in self.values:
                raise ValueError(f"{name}: synonym {raw!r} maps to unknown {canonical!r}")
            self._lookup[fold(raw)] = canonical

    def map(self, value: str) -> Mapped:
        hit = self._seen.get(value)
        if hit is None:
            canonical = self._lookup.get(fold(value))
            hit = Mapped(value.strip(), False) if canonical is None else Mapped(canonical, True)
            if len(self._seen) < 10_000:  # bounded: display strings are few, junk may not be
                self._seen[value] = hit
        return hit

    def __contains__(self, value: object) -> bool:
        return value in self.values

    def __repr__(self) -> str:
        return f"Vocabulary({self.name!r}, {sorted(self.values)})"


OVERALL_STATUS = Vocabulary(
    "overall_status",
    [
        "ACTIVE_NOT_RECRUITING", "COMPLETED", "ENROLLING_BY_INVITATION", "NOT_YET_RECRUITING",
        "RECRUITING", "SUSPENDED", "TERMINATED", "WITHDRAWN", "AVAILABLE", "NO_LONGER_AVAILABLE",
        "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING", "WITHHELD", "UNKNOWN",
    ],
    {
        "Active, not recruiting": "ACTIVE_NOT_RECRUITING",
        "Active not recruiting": "ACTIVE_NOT_RECRUITING",
        "Enrolling by invitation": "ENROLLING_BY_INVITATION",
        "Not yet recruiting": "NOT_YET_RECRUITING",
        "Unknown status": "UNKNOWN",
        "Available for expanded access": "AVAILABLE",
        "No longer available": "NO_LONGER_AVAILABLE",
        "Temporarily not available": "TEMPORARILY_NOT_AVAILABLE",
        "Approved for marketing": "APPROVED_FOR_MARKETING",
    },
)

SITE_STATUS = OVERALL_STATUS

STUDY_TYPE = Vocabulary(
    "study_type",
    ["INTERVENTIONAL", "OBSERVATIONAL", "EXPANDED_ACCESS"],
    {"Interventional study": "INTERVENTIONAL", "Observational study": "OBSERVATIONAL",
     "Observational [Patient Registry]": "OBSERVATIONAL", "Expanded access": "EXPANDED_ACCESS"},
)

PHASE = Vocabulary(
    "phase",
    ["NA", "EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4"],
    {
        "Phase 0": "EARLY_PHASE1", "Early Phase 1": "EARLY_PHASE1", "Phase 1": "PHASE1",
        "Phase I": "PHASE1", "Phase 2": "PHASE2", "Phase II": "PHASE2", "Phase 3": "PHASE3",
        "Phase III": "PHASE3", "Phase 4": "PHASE4", "Phase IV": "PHASE4",
        "N/A": "NA", "Not Applicable": "NA",
    },
)

ALLOCATION = Vocabulary(
    "allocation",
    ["RANDOMIZED", "NON_RANDOMIZED", "NA"],
    {"Randomised": "RANDOMIZED", "Non-Randomised": "NON_RANDOMIZED",
     "Nonrandomized": "NON_RANDOMIZED", "N/A": "NA", "Not Applicable": "NA"},
)

INTERVENTION_MODEL = Vocabulary(
    "intervention_model",
    ["SINGLE_GROUP", "PARALLEL", "CROSSOVER", "FACTORIAL", "SEQUENTIAL"],
    {"Single Group Assignment": "SINGLE_GROUP", "Parallel Assignment": "PARALLEL",
     "Crossover Assignment": "CROSSOVER", "Factorial Assignment": "FACTORIAL",
     "Sequential Assignment": "SEQUENTIAL"},
)

MASKING = Vocabulary(
    "masking",
    ["NONE", "SINGLE", "DOUBLE", "TRIPLE", "QUADRUPLE"],
    {"None (Open Label)": "NONE", "Open Label": "NONE", "Open": "NONE",
     "Single Blind": "SINGLE", "Double Blind": "DOUBLE", "Triple Blind": "TRIPLE",
     "Quadruple Blind": "QUADRUPLE"},
)

# ClinicalTrials.gov's own values are kept as they come; mirrors word them for people.
WHO_MASKED = Vocabulary(
    "who_masked",
    ["PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR", "OUTCOMES_ASSESSOR"],
    {"Subject": "PARTICIPANT", "Outcomes Assessor": "OUTCOMES_ASSESSOR"},
)

PRIMARY_PURPOSE = Vocabulary(
    "primary_purpose",
    ["TREATMENT", "PREVENTION", "DIAGNOSTIC", "ECT", "SUPPORTIVE_CARE", "SCREENING",
     "HEALTH_SERVICES_RESEARCH", "BASIC_SCIENCE", "DEVICE_FEASIBILITY", "OTHER"],
    {"Educational/Counseling/Training": "ECT"},
)

OBSERVATIONAL_MODEL = Vocabulary(
    "observational_model",
    ["COHORT", "CASE_CONTROL", "CASE_ONLY", "CASE_CROSSOVER", "ECOLOGIC_OR_COMMUNITY",
     "FAMILY_BASED", "DEFINED_POPULATION", "NATURAL_HISTORY", "OTHER"],
    {"Case-Control": "CASE_CONTROL", "Ecologic or Community": "ECOLOGIC_OR_COMMUNITY"},
)

TIME_PERSPECTIVE = Vocabulary(
    "time_perspective", ["RETROSPECTIVE", "PROSPECTIVE", "CROSS_SECTIONAL", "OTHER"]
)

ARM_TYPE = Vocabulary(
    "arm_type",
    ["EXPERIMENTAL", "ACTIVE_COMPARATOR", "PLACEBO_COMPARATOR", "SHAM_COMPARATOR",
     "NO_INTERVENTION", "OTHER"],
    {"Experimental group": "EXPERIMENTAL", "Active Comparator group": "ACTIVE_COMPARATOR",
     "Placebo Comparator group": "PLACEBO_COMPARATOR", "Sham Comparator group": "SHAM_COMPARATOR",
     "No Intervention group": "NO_INTERVENTION", "Other group": "OTHER"},
)

INTERVENTION_TYPE = Vocabulary(
    "intervention_type",
    ["BEHAVIORAL", "BIOLOGICAL", "COMBINATION_PRODUCT", "DEVICE", "DIAGNOSTIC_TEST",
     "DIETARY_SUPPLEMENT", "DRUG", "GENETIC", "PROCEDURE", "RADIATION", "OTHER"],
    {"Biological/Vaccine": "BIOLOGICAL", "Combination Product": "COMBINATION_PRODUCT",
     "Diagnostic Test": "DIAGNOSTIC_TEST", "Dietary Supplement": "DIETARY_SUPPLEMENT",
     "Procedure/Surgery": "PROCEDURE"},
)

SEX = Vocabulary(
    "sex", ["ALL", "FEMALE", "MALE"], {"Both": "ALL", "Female only": "FEMALE", "Male only": "MALE"}
)

STD_AGE = Vocabulary(
    "std_age", ["CHILD", "ADULT", "OLDER_ADULT"], {"Older Adult": "OLDER_ADULT"}
)

AGENCY_CLASS = Vocabulary(
    "agency_class",
    ["NIH", "FED", "OTHER_GOV", "INDIV", "INDUSTRY", "NETWORK", "AMBIG", "OTHER", "UNKNOWN"],
    {"U.S. Fed": "FED", "Other U.S. Federal agency": "FED", "Individual": "INDIV"},
)

SECONDARY_ID_TYPE = Vocabulary(
    "secondary_id_type",
    ["NIH", "FDA", "VA", "CDC", "AHRQ", "SAMHSA", "OTHER_GRANT", "EUDRACT_NUMBER", "CTIS",
     "REGISTRY", "OTHER"],
    {"EudraCT Number": "EUDRACT_NUMBER", "Other Grant/Funding Number": "OTHER_GRANT",
     "Registry Identifier": "REGISTRY", "Other Identifier": "OTHER"},
)

DATE_KIND = Vocabulary(
    "date_kind", ["actual", "anticipated"], {"ESTIMATED": "anticipated", "Expected": "anticipated"}
)

AGE_UNIT = Vocabulary(
    "age_unit",
    ["YEARS", "MONTHS", "WEEKS", "DAYS", "HOURS", "MINUTES"],
    {"Year": "YEARS", "Month": "MONTHS", "Week": "WEEKS", "Day": "DAYS", "Hour": "HOURS",
     "Minute": "MINUTES", "Yr": "YEARS", "Yrs": "YEARS", "Mo": "MONTHS", "Mos": "MONTHS",
     "Wk": "WEEKS", "Wks": "WEEKS"},
)

# Mean Gregorian year; an age of "6 Months" is 0.5 years, "2 Weeks" 0.0383.
AGE_UNIT_PER_YEAR = {
    "YEARS": 1.0, "MONTHS": 12.0, "WEEKS": 365.2425 / 7, "DAYS": 365.2425,
    "HOURS": 365.2425 * 24, "MINUTES": 365.2425 * 24 * 60,
}

# --- the whole record (issue 15): the API v2 enums as they are, few synonyms yet ----------

ORG_STUDY_ID_TYPE = Vocabulary(
    "org_study_id_type", ["NIH", "FDA", "VA", "CDC", "AHRQ", "SAMHSA"]
)

EXPANDED_ACCESS_STATUS = Vocabulary(
    "expanded_access_status",
    ["AVAILABLE", "NO_LONGER_AVAILABLE", "TEMPORARILY_NOT_AVAILABLE", "APPROVED_FOR_MARKETING"],
)

EXPANDED_ACCESS_TYPE = Vocabulary(
    "expanded_access_type", ["INDIVIDUAL", "INTERMEDIATE", "TREATMENT"]
)

RESPONSIBLE_PARTY_TYPE = Vocabulary(
    "responsible_party_type", ["SPONSOR", "PRINCIPAL_INVESTIGATOR", "SPONSOR_INVESTIGATOR"],
    {"Principal Investigator": "PRINCIPAL_INVESTIGATOR", "Sponsor-Investigator": "SPONSOR_INVESTIGATOR"},
)

BIO_SPEC_RETENTION = Vocabulary(
    "bio_spec_retention", ["NONE_RETAINED", "SAMPLES_WITH_DNA", "SAMPLES_WITHOUT_DNA"],
    {"None Retained": "NONE_RETAINED", "Samples With DNA": "SAMPLES_WITH_DNA",
     "Samples Without DNA": "SAMPLES_WITHOUT_DNA"},
)

SAMPLING_METHOD = Vocabulary(
    "sampling_method", ["PROBABILITY_SAMPLE", "NON_PROBABILITY_SAMPLE"],
    {"Non-Probability Sample": "NON_PROBABILITY_SAMPLE"},
)

CONTACT_ROLE = Vocabulary(
    "contact_role",
    ["STUDY_CHAIR", "STUDY_DIRECTOR", "PRINCIPAL_INVESTIGATOR", "SUB_INVESTIGATOR", "CONTACT"],
)

OFFICIAL_ROLE = Vocabulary(
    "official_role", ["STUDY_CHAIR", "STUDY_DIRECTOR", "PRINCIPAL_INVESTIGATOR", "SUB_INVESTIGATOR"],
)

REFERENCE_TYPE = Vocabulary("reference_type", ["BACKGROUND", "RESULT", "DERIVED"])

IPD_SHARING = Vocabulary("ipd_sharing", ["YES", "NO", "UNDECIDED"])

IPD_INFO_TYPE = Vocabulary(
    "ipd_info_type", ["STUDY_PROTOCOL", "SAP", "ICF", "CSR", "ANALYTIC_CODE"],
    {"Statistical Analysis Plan (SAP)": "SAP", "Informed Consent Form (ICF)": "ICF",
     "Clinical Study Report (CSR)": "CSR"},
)

BROWSE_RELEVANCE = Vocabulary("browse_relevance", ["LOW", "HIGH"])

UNPOSTED_EVENT_TYPE = Vocabulary("unposted_event_type", ["RESET", "RELEASE", "UNRELEASE"])

VIOLATION_EVENT_TYPE = Vocabulary(
    "violation_event_type",
    ["VIOLATION_IDENTIFIED", "CORRECTION_CONFIRMED", "PENALTY_IMPOSED",
     "ISSUES_IN_LETTER_ADDRESSED_CONFIRMED"],
)

# --- results (issue 16) ---------------------------------------------------------------

OUTCOME_MEASURE_TYPE = Vocabulary(
    "outcome_measure_type", ["PRIMARY", "SECONDARY", "OTHER_PRE_SPECIFIED", "POST_HOC"],
    {"Other Pre-specified": "OTHER_PRE_SPECIFIED", "Post-Hoc": "POST_HOC"},
)
REPORTING_STATUS = Vocabulary("reporting_status", ["POSTED", "NOT_POSTED"])
PARAM_TYPE = Vocabulary(
    "param_type",
    ["GEOMETRIC_MEAN", "GEOMETRIC_LEAST_SQUARES_MEAN", "LEAST_SQUARES_MEAN", "LOG_MEAN", "MEAN",
     "MEDIAN", "NUMBER", "COUNT_OF_PARTICIPANTS", "COUNT_OF_UNITS"],
    {"Least Squares Mean": "LEAST_SQUARES_MEAN", "Geometric Least Squares Mean": "GEOMETRIC_LEAST_SQUARES_MEAN",
     "Count of Participants": "COUNT_OF_PARTICIPANTS", "Count of Units": "COUNT_OF_UNITS"},
)
# The API writes a baseline measure's dispersion as its enum and an outcome measure's
# as display text ("95% Confidence Interval"): both meet here.
DISPERSION_TYPE = Vocabulary(
    "dispersion_type",
    ["NA", "STANDARD_DEVIATION", "STANDARD_ERROR", "INTER_QUARTILE_RANGE", "FULL_RANGE",
     "CONFIDENCE_80", "CONFIDENCE_90", "CONFIDENCE_95", "CONFIDENCE_975", "CONFIDENCE_99",
     "CONFIDENCE_OTHER", "GEOMETRIC_COEFFICIENT"],
    {"80% Confidence Interval": "CONFIDENCE_80", "90% Confidence Interval": "CONFIDENCE_90",
     "95% Confidence Interval": "CONFIDENCE_95", "97.5% Confidence Interval": "CONFIDENCE_975",
     "99% Confidence Interval": "CONFIDENCE_99", "Other Confidence Interval": "CONFIDENCE_OTHER",
     "Other Confidence Interval Level": "CONFIDENCE_OTHER",
     "Geometric Coefficient of Variation": "GEOMETRIC_COEFFICIENT", "Not Applicable": "NA",
     "Interquartile Range": "INTER_QUARTILE_RANGE"},
)
ANALYSIS_DISPERSION_TYPE = Vocabulary(
    "analysis_dispersion_type", ["STANDARD_DEVIATION", "STANDARD_ERROR_OF_MEAN"],
    {"Standard Error of the Mean": "STANDARD_ERROR_OF_MEAN"},
)
NON_INFERIORITY_TYPE = Vocabulary(
    "non_inferiority_type",
    ["SUPERIORITY", "NON_INFERIORITY", "EQUIVALENCE", "OTHER", "NON_INFERIORITY_OR_EQUIVALENCE",
     "SUPERIORITY_OR_OTHER", "NON_INFERIORITY_OR_EQUIVALENCE_LEGACY", "SUPERIORITY_OR_OTHER_LEGACY"],
)
CI_SIDES = Vocabulary("ci_sides", ["ONE_SIDED", "TWO_SIDED"], {"1-Sided": "ONE_SIDED", "2-Sided": "TWO_SIDED"})
EVENT_ASSESSMENT = Vocabulary(
    "event_assessment", ["NON_SYSTEMATIC_ASSESSMENT", "SYSTEMATIC_ASSESSMENT"],
    {"Non-systematic": "NON_SYSTEMATIC_ASSESSMENT", "Systematic": "SYSTEMATIC_ASSESSMENT"},
)
AGREEMENT_RESTRICTION = Vocabulary("agreement_restriction", ["LTE60", "GT60", "OTHER"])
