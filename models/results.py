"""The results section of the record contract: participant flow, baseline
characteristics, outcome measures with their analyses, adverse events and the
registry's "more information" (issue 16).

The rules of :mod:`trialmirror.models.record` hold here too, and three more:

- **Numbers as written, and as numbers.** The registry writes most result numbers
  as text ("54", "0.111", "NA", "<0.001"). Each keeps its text (``value``,
  ``p_value`` ...) and, beside it, a parsed number (``value_num`` ...) that is set
  only when the text *is* a number ("1,234" and "-0.5" are; "NA", "<0.001",
  "12 (3)" are not: null, never guessed). A p-value also keeps its inequality:
  "<0.001" is ``p_value_num`` 0.001 with ``p_value_modifier`` "<", as the
  registry's own data element reads it. Counts the API gives as JSON integers
  (participants affected, at risk) are integers.
- **Groups are the registry's.** Every module names its groups by the registry's
  ids (``FG000`` participant flow, ``BG000`` baseline, ``OG000`` outcome measure,
  ``EG000`` adverse events); a value per group names its group by that id
  (``group``). A group's ``arm`` is the label of the protocol arm it reports on,
  when exactly one arm's label equals the group's title (compared without case
  and extra spaces); otherwise null: unmatched groups stay unlinked, never guessed.
- **Order is the registry's.** Lists keep the order the registry shows; diffs key
  them by what identifies an item (a measure by type and title, a class or
  category by title, a measurement by group), so a reorder is no change.
"""

from __future__ import annotations

from typing_extensions import TypedDict

from trialmirror.models.trusted import Frozen as _Frozen
from trialmirror.models.trusted import Trusted


class ResultGroup(TypedDict, closed=True):
    id: str | None  # the registry's id: FG000, BG000, OG000, EG000 ...
    title: str | None
    description: str | None
    arm: str | None  # the protocol arm's label, when exactly one arm's label is the title


# How many of the units one group had, as written and as a count ("54" -> 54).
class DenomCount(TypedDict, closed=True):
    group: str | None
    value: str | None
    value_num: int | None


# What a measure counts (participants, eyes, lesions ...) and how many per group.
class Denom(TypedDict, closed=True):
    units: str | None
    counts: list[DenomCount] | None


# --- participant flow ------------------------------------------------------------------

class FlowCount(TypedDict, closed=True):
    group: str | None
    subjects: str | None  # participants, as written
    subjects_num: int | None
    units: str | None  # units other than participants (eyes, clinics), when analyzed by them
    units_num: int | None
    comment: str | None


# A milestone (STARTED, COMPLETED, or the sponsor's own) and how many reached it per group.
class Milestone(TypedDict, closed=True):
    type: str | None
    comment: str | None
    achievements: list[FlowCount] | None


# A reason participants left (Withdrawal by Subject, Adverse Event ...) and how many per group.
class DropWithdraw(TypedDict, closed=True):
    type: str | None
    comment: str | None
    reasons: list[FlowCount] | None


class FlowPeriod(TypedDict, closed=True):
    title: str | None  # "Overall Study", "Double-blind Phase" ...
    milestones: list[Milestone] | None
    drop_withdraws: list[DropWithdraw] | None


class ParticipantFlow(_Frozen):
    recruitment_details: str | None = None
    pre_assignment_details: str | None = None
    units_analyzed: str | None = None  # the unit, when not participants
    groups: Trusted[list[ResultGroup] | None] = None
    periods: Trusted[list[FlowPeriod] | None] = None


# --- measures (baseline and outcome) ------------------------------------------------------

# One group's value in a category: the value with its spread (standard deviation, ...)
# or limits (range, confidence interval), as the measure's types say.
class Measurement(TypedDict, closed=True):
    group: str | None
    value: str | None
    value_num: float | None
    spread: str | None
    spread_num: float | None
    lower_limit: str | None
    lower_limit_num: float | None
    upper_limit: str | None
    upper_limit_num: float | None
    comment: str | None


class Category(TypedDict, closed=True):
    title: str | None  # "Female", "Responder" ...; null for a measure's only category
    measurements: list[Measurement] | None


# A row group of a measure (a time point, a subscale); its own denominators when they
# differ from the measure's.
class MeasureClass(TypedDict, closed=True):
    title: str | None
    denoms: list[Denom] | None
    categories: list[Category] | None


class BaselineMeasure(TypedDict, closed=True):
    title: str | None  # "Age, Continuous", "Sex: Female, Male" ...
    description: str | None
    population_description: str | None
    param_type: str | None  # MEAN | MEDIAN | COUNT_OF_PARTICIPANTS | ... (vocab.PARAM_TYPE)
    dispersion_type: str | None  # STANDARD_DEVIATION | FULL_RANGE | ... (vocab.DISPERSION_TYPE)
    unit: str | None  # unit of measure: "years", "Participants" ...
    calculate_pct: bool | None
    denom_units_selected: str | None
    denoms: list[Denom] | None
    classes: list[MeasureClass] | None


class Baseline(_Frozen):
    population_description: str | None = None
    units_analyzed: str | None = None
    groups: Trusted[list[ResultGroup] | None] = None
    denoms: Trusted[list[Denom] | None] = None
    measures: Trusted[list[BaselineMeasure] | None] = None


# A statistical analysis of an outcome measure: which groups it compares and what it found.
class Analysis(TypedDict, closed=True):
    groups: list[str] | None  # the compared groups' ids (OG000, OG001)
    group_description: str | None
    tested_non_inferiority: bool | None
    non_inferiority_type: str | None  # SUPERIORITY | NON_INFERIORITY | EQUIVALENCE | ... _OR_OTHER
    non_inferiority_comment: str | None
    p_value: str | None  # as written: "0.111", "<0.001"
    p_value_num: float | None
    p_value_modifier: str | None  # "<", "<=", ">", ">=" when the p-value is a bound
    p_value_comment: str | None
    statistical_method: str | None  # free text: "ANCOVA", "Wilcoxon (Mann-Whitney)" ...
    statistical_comment: str | None
    param_type: str | None  # free text: "Mean Difference (Final Values)", "Hazard Ratio (HR)" ...
    param_value: str | None
    param_value_num: float | None
    dispersion_type: str | None  # STANDARD_DEVIATION | STANDARD_ERROR_OF_MEAN
    dispersion_value: str | None
    dispersion_value_num: float | None
    ci_pct: str | None  # the confidence level, "95"
    ci_pct_num: float | None
    ci_sides: str | None  # ONE_SIDED | TWO_SIDED
    ci_lower_limit: str | None
    ci_lower_limit_num: float | None
    ci_upper_limit: str | None
    ci_upper_limit_num: float | None
    ci_lower_limit_comment: str | None
    ci_upper_limit_comment: str | None
    estimate_comment: str | None
    other_analysis_description: str | None


class OutcomeMeasure(TypedDict, closed=True):
    type: str | None  # PRIMARY | SECONDARY | OTHER_PRE_SPECIFIED | POST_HOC
    title: str | None
    description: str | None
    population_description: str | None
    reporting_status: str | None  # POSTED | NOT_POSTED
    anticipated_posting_date: str | None  # when a NOT_POSTED measure is to be posted, ISO
    param_type: str | None
    dispersion_type: str | None
    unit: str | None
    calculate_pct: bool | None
    time_frame: str | None
    units_analyzed: str | None
    denom_units_selected: str | None
    groups: list[ResultGroup] | None
    denoms: list[Denom] | None
    classes: list[MeasureClass] | None
    analyses: list[Analysis] | None


# --- adverse events ---------------------------------------------------------------------

# An adverse-event group with its totals: deaths from any cause, participants with a
# serious and with an other (not serious) adverse event, each of how many at risk.
class EventGroup(TypedDict, closed=True):
    id: str | None
    title: str | None
    description: str | None
    arm: str | None
    deaths_affected: int | None
    deaths_at_risk: int | None
    serious_affected: int | None
    serious_at_risk: int | None
    other_affected: int | None
    other_at_risk: int | None


class EventStat(TypedDict, closed=True):
    group: str | None
    events: int | None  # occurrences (a participant may have several)
    affected: int | None  # participants affected
    at_risk: int | None


class AdverseEvent(TypedDict, closed=True):
    term: str | None  # "Hyperkalaemia"
    organ_system: str | None  # "Metabolism and nutrition disorders"
    source_vocabulary: str | None  # "MedDRA (13.0)"
    assessment_type: str | None  # SYSTEMATIC_ASSESSMENT | NON_SYSTEMATIC_ASSESSMENT
    notes: str | None
    stats: list[EventStat] | None


class AdverseEvents(_Frozen):
    frequency_threshold: str | None = None  # percent above which other events are reported, "5"
    frequency_threshold_num: float | None = None
    time_frame: str | None = None
    description: str | None = None
    all_cause_mortality_comment: str | None = None
    groups: Trusted[list[EventGroup] | None] = None
    serious: Trusted[list[AdverseEvent] | None] = None
    other: Trusted[list[AdverseEvent] | None] = None


# --- more information -------------------------------------------------------------------

# Who answers questions about the results (personal: ``title`` is most often a name).
class PointOfContact(TypedDict, closed=True):
    title: str | None
    organization: str | None
    email: str | None
    phone: str | None
    phone_ext: str | None


class MoreInfo(_Frozen):
    limitations_and_caveats: str | None = None
    # Certain agreements: whether the principal investigators are the sponsor's
    # employees, and whether an agreement restricts their right to publish.
    pi_sponsor_employee: bool | None = None
    restrictive_agreement: bool | None = None
    restriction_type: str | None = None  # LTE60 | GT60 | OTHER
    restriction_details: str | None = None
    point_of_contact: Trusted[PointOfContact | None] = None


class Results(_Frozen):
    participant_flow: ParticipantFlow | None = None
    baseline: Baseline | None = None
    outcome_measures: Trusted[list[OutcomeMeasure] | None] = None
    adverse_events: AdverseEvents | None = None
    more_info: MoreInfo | None = None
