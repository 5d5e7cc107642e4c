"""The results section of an API v2 study: participant flow, baseline characteristics,
outcome measures and their analyses, adverse events, more information
(``models.results``). Pure, like the parser that calls it: dicts in, the record's
dicts out, every surprise flagged at its record path (drift policy).

Result numbers come as text; each is kept as written and, when it is a number, as
one (:mod:`trialmirror.ingest.parsing.numbers`). Groups are linked to the
protocol's arms by :func:`arm_index` (the rule is in ``models.results``).
"""

from __future__ import annotations

import re
from typing import Any

from trialmirror.ingest.parsing.fields import Mapper
from trialmirror.ingest.parsing.numbers import bounded, count, number
from trialmirror.ingest.sources.ctgov.doc import Doc, iso, said
from trialmirror.models import vocab

Item = dict[str, Any]
_SPACE = re.compile(r"\s+")

_R = "results"
_FLOW = _R + ".participant_flow"
_BASE = _R + ".baseline"
_OM = _R + ".outcome_measures"
_AE = _R + ".adverse_events"
_MORE = _R + ".more_info"


def _key(title: str) -> str:
    return _SPACE.sub(" ", title).strip().casefold()


def arm_index(arms: list[Item] | None) -> dict[str, str | None]:
    """Arm labels by their matching key; a key two arms share maps to None (ambiguous)."""
    index: dict[str, str | None] = {}
    for arm in arms or ():
        label = arm.get("label")
        if label:
            key = _key(label)
            index[key] = None if key in index else label
    return index


class _Reader:
    """One results section's reading: the document accessor, the flags and the arms."""

    def __init__(self, d: Doc, m: Mapper, arms: dict[str, str | None]):
        self.d, self.m, self.arms = d, m, arms
        self.lines: dict[str, str | None] = {}

    def line(self, node: Item, key: str, field: str) -> str | None:
        """``Doc.line``, once per distinct text: a results section repeats its group ids,
        organ systems, vocabularies and category titles thousands of times."""
        value = node.get(key)
        if value.__class__ is str:
            if value in self.lines:
                return self.lines[value]
            cleaned = self.d.line(node, key, field)
            self.lines[value] = cleaned
            return cleaned
        return self.d.line(node, key, field)

    # --- small values ----------------------------------------------------------------

    def raw(self, node: Item, key: str, field: str) -> str | None:
        """A number-like value as written (a JSON number drifted in is its text, flagged)."""
        value = node.get(key)
        if value is None or value.__class__ is str:
            return value or None  # type: ignore[no-any-return]
        return self.d.drifted(value, str, field)  # type: ignore[no-any-return]

    def groups(self, node: Item | None, key: str, field: str, *, totals: bool = False) -> list[Item] | None:
        d, line = self.d, self.line
        out = []
        for g in d.items(node, key, field):
            title = line(g, "title", field + ".title")
            group: Item = {"id": line(g, "id", field + ".id"), "title": title,
                           "description": d.text(g, "description", field + ".description"),
                           "arm": self.arms.get(_key(title)) if title else None}
            if totals:
                get = d.get
                group.update({
                    "deaths_affected": get(g, "deathsNumAffected", int, field + ".deaths_affected"),
                    "deaths_at_risk": get(g, "deathsNumAtRisk", int, field + ".deaths_at_risk"),
                    "serious_affected": get(g, "seriousNumAffected", int, field + ".serious_affected"),
                    "serious_at_risk": get(g, "seriousNumAtRisk", int, field + ".serious_at_risk"),
                    "other_affected": get(g, "otherNumAffected", int, field + ".other_affected"),
                    "other_at_risk": get(g, "otherNumAtRisk", int, field + ".other_at_risk"),
                })
            if said(group):
                out.append(group)
        return out or None

    def denoms(self, node: Item | None, field: str) -> list[Item] | None:
        d = self.d
        out = []
        for den in d.items(node, "denoms", field):
            counts = []
            for c in d.items(den, "counts", field + ".counts"):
                value = self.raw(c, "value", field + ".counts.value")
                counts.append({"group": self.line(c, "groupId", field + ".counts.group"),
                               "value": value, "value_num": count(value)})
            item = {"units": self.line(den, "units", field + ".units"), "counts": counts or None}
            if said(item):
                out.append(item)
        return out or None

    def flow_counts(self, node: Item, key: str, field: str) -> list[Item] | None:
        d = self.d
        out = []
        for c in d.items(node, key, field):
            subjects = self.raw(c, "numSubjects", field + ".subjects")
            units = self.raw(c, "numUnits", field + ".units")
            item = {"group": self.line(c, "groupId", field + ".group"),
                    "subjects": subjects, "subjects_num": count(subjects),
                    "units": units, "units_num": count(units),
                    "comment": d.text(c, "comment", field + ".comment")}
            if said(item):
                out.append(item)
        return out or None

    # --- modules ---------------------------------------------------------------------

    def participant_flow(self, mod: Item | None) -> Item | None:
        if mod is None:
            return None
        d, f = self.d, _FLOW
        periods = []
        for p in d.items(mod, "periods", f + ".periods"):
            milestones = []
            for ms in d.items(p, "milestones", f + ".periods.milestones"):
                at = f + ".periods.milestones"
                item = {"type": self.line(ms, "type", at + ".type"), "comment": d.text(ms, "comment", at + ".comment"),
                        "achievements": self.flow_counts(ms, "achievements", at + ".achievements")}
                if said(item):
                    milestones.append(item)
            drops = []
            for dw in d.items(p, "dropWithdraws", f + ".periods.drop_withdraws"):
                at = f + ".periods.drop_withdraws"
                item = {"type": self.line(dw, "type", at + ".type"), "comment": d.text(dw, "comment", at + ".comment"),
                        "reasons": self.flow_counts(dw, "reasons", at + ".reasons")}
                if said(item):
                    drops.append(item)
            period = {"title": self.line(p, "title", f + ".periods.title"), "milestones": milestones or None,
                      "drop_withdraws": drops or None}
            if said(period):
                periods.append(period)
        out = {"recruitment_details": d.text(mod, "recruitmentDetails", f + ".recruitment_details"),
               "pre_assignment_details": d.text(mod, "preAssignmentDetails", f + ".pre_assignment_details"),
               "units_analyzed": self.line(mod, "typeUnitsAnalyzed", f + ".units_analyzed"),
               "groups": self.groups(mod, "groups", f + ".groups"),
               "periods": periods or None}
        return out if said(out) else None

    def classes(self, node: Item, field: str) -> list[Item] | None:
        d, raw = self.d, self.raw
        out = []
        at = field + ".categories.measurements"
        for cl in d.items(node, "classes", field):
            categories = []
            for cat in d.items(cl, "categories", field + ".categories"):
                measurements = []
                for me in d.items(cat, "measurements", at):
                    value, spread = raw(me, "value", at + ".value"), raw(me, "spread", at + ".spread")
                    lower, upper = raw(me, "lowerLimit", at + ".lower_limit"), raw(me, "upperLimit", at + ".upper_limit")
                    item = {"group": self.line(me, "groupId", at + ".group"),
                            "value": value, "value_num": number(value),
                            "spread": spread, "spread_num": number(spread),
                            "lower_limit": lower, "lower_limit_num": number(lower),
                            "upper_limit": upper, "upper_limit_num": number(upper),
                            "comment": d.text(me, "comment", at + ".comment")}
                    if said(item):
                        measurements.append(item)
                category = {"title": self.line(cat, "title", field + ".categories.title"),
                            "measurements": measurements or None}
                if said(category):
                    categories.append(category)
            row: Item = {"title": self.line(cl, "title", field + ".title"),
                         "denoms": self.denoms(cl, field + ".denoms"), "categories": categories or None}
            if said(row):
                out.append(row)
        return out or None

    def measure_head(self, node: Item, field: str) -> Item:
        """What a baseline and an outcome measure share."""
        d, m = self.d, self.m
        return {"title": self.line(node, "title", field + ".title"),
                "description": d.text(node, "description", field + ".description"),
                "population_description": d.text(node, "populationDescription", field + ".population_description"),
                "param_type": m.enum(vocab.PARAM_TYPE, node.get("paramType"), field + ".param_type"),
                "dispersion_type": m.enum(vocab.DISPERSION_TYPE, node.get("dispersionType"),
                                          field + ".dispersion_type"),
                "unit": self.line(node, "unitOfMeasure", field + ".unit"),
                "calculate_pct": d.get(node, "calculatePct", bool, field + ".calculate_pct"),
                "denom_units_selected": self.line(node, "denomUnitsSelected", field + ".denom_units_selected"),
                "denoms": self.denoms(node, field + ".denoms"),
                "classes": self.classes(node, field + ".classes")}

    def baseline(self, mod: Item | None) -> Item | None:
        if mod is None:
            return None
        d, f = self.d, _BASE
        measures = []
        for bm in d.items(mod, "measures", f + ".measures"):
            item = self.measure_head(bm, f + ".measures")
            if said(item):
                measures.append(item)
        out = {"population_description": d.text(mod, "populationDescription", f + ".population_description"),
               "units_analyzed": self.line(mod, "typeUnitsAnalyzed", f + ".units_analyzed"),
               "groups": self.groups(mod, "groups", f + ".groups"),
               "denoms": self.denoms(mod, f + ".denoms"),
               "measures": measures or None}
        return out if said(out) else None

    def analysis(self, a: Item) -> Item:
        d, m, raw, at = self.d, self.m, self.raw, _OM + ".analyses"
        p_value = raw(a, "pValue", at + ".p_value")
        p_num, p_modifier = bounded(p_value)
        param, disp = raw(a, "paramValue", at + ".param_value"), raw(a, "dispersionValue", at + ".dispersion_value")
        pct = raw(a, "ciPctValue", at + ".ci_pct")
        lower, upper = raw(a, "ciLowerLimit", at + ".ci_lower_limit"), raw(a, "ciUpperLimit", at + ".ci_upper_limit")
        text = d.text
        return {
            "groups": d.strings(a, "groupIds", at + ".groups"),
            "group_description": text(a, "groupDescription", at + ".group_description"),
            "tested_non_inferiority": d.get(a, "testedNonInferiority", bool, at + ".tested_non_inferiority"),
            "non_inferiority_type": m.enum(vocab.NON_INFERIORITY_TYPE, a.get("nonInferiorityType"),
                                           at + ".non_inferiority_type"),
            "non_inferiority_comment": text(a, "nonInferiorityComment", at + ".non_inferiority_comment"),
            "p_value": p_value, "p_value_num": p_num, "p_value_modifier": p_modifier,
            "p_value_comment": text(a, "pValueComment", at + ".p_value_comment"),
            "statistical_method": self.line(a, "statisticalMethod", at + ".statistical_method"),
            "statistical_comment": text(a, "statisticalComment", at + ".statistical_comment"),
            "param_type": self.line(a, "paramType", at + ".param_type"),
            "param_value": param, "param_value_num": number(param),
            "dispersion_type": m.enum(vocab.ANALYSIS_DISPERSION_TYPE, a.get("dispersionType"),
                                      at + ".dispersion_type"),
            "dispersion_value": disp, "dispersion_value_num": number(disp),
            "ci_pct": pct, "ci_pct_num": number(pct),
            "ci_sides": m.enum(vocab.CI_SIDES, a.get("ciNumSides"), at + ".ci_sides"),
            "ci_lower_limit": lower, "ci_lower_limit_num": number(lower),
            "ci_upper_limit": upper, "ci_upper_limit_num": number(upper),
            "ci_lower_limit_comment": text(a, "ciLowerLimitComment", at + ".ci_lower_limit_comment"),
            "ci_upper_limit_comment": text(a, "ciUpperLimitComment", at + ".ci_upper_limit_comment"),
            "estimate_comment": text(a, "estimateComment", at + ".estimate_comment"),
            "other_analysis_description": text(a, "otherAnalysisDescription", at + ".other_analysis_description"),
        }

    def outcome_measures(self, mod: Item | None) -> list[Item] | None:
        d, m, f = self.d, self.m, _OM
        out = []
        for om in d.items(mod, "outcomeMeasures", f):
            posting = om.get("anticipatedPostingDate")
            analyses = [a for a in (self.analysis(a) for a in d.items(om, "analyses", f + ".analyses")) if said(a)]
            item = {"type": m.enum(vocab.OUTCOME_MEASURE_TYPE, om.get("type"), f + ".type"),
                    **self.measure_head(om, f),
                    "reporting_status": m.enum(vocab.REPORTING_STATUS, om.get("reportingStatus"),
                                               f + ".reporting_status"),
                    "anticipated_posting_date": None if posting is None or posting == ""
                    else iso(posting, f + ".anticipated_posting_date", m),
                    "time_frame": self.line(om, "timeFrame", f + ".time_frame"),
                    "units_analyzed": self.line(om, "typeUnitsAnalyzed", f + ".units_analyzed"),
                    "groups": self.groups(om, "groups", f + ".groups"),
                    "analyses": analyses or None}
            if said(item):
                out.append(item)
        return out or None

    def events(self, mod: Item, key: str, field: str) -> list[Item] | None:
        d, m = self.d, self.m
        out = []
        for ev in d.items(mod, key, field):
            stats = []
            for s in d.items(ev, "stats", field + ".stats"):
                stat = {"group": self.line(s, "groupId", field + ".stats.group"),
                        "events": d.get(s, "numEvents", int, field + ".stats.events"),
                        "affected": d.get(s, "numAffected", int, field + ".stats.affected"),
                        "at_risk": d.get(s, "numAtRisk", int, field + ".stats.at_risk")}
                if said(stat):
                    stats.append(stat)
            item = {"term": self.line(ev, "term", field + ".term"),
                    "organ_system": self.line(ev, "organSystem", field + ".organ_system"),
                    "source_vocabulary": self.line(ev, "sourceVocabulary", field + ".source_vocabulary"),
                    "assessment_type": m.enum(vocab.EVENT_ASSESSMENT, ev.get("assessmentType"),
                                              field + ".assessment_type"),
                    "notes": d.text(ev, "notes", field + ".notes"),
                    "stats": stats or None}
            if said(item):
                out.append(item)
        return out or None

    def adverse_events(self, mod: Item | None) -> Item | None:
        if mod is None:
            return None
        d, f = self.d, _AE
        threshold = self.raw(mod, "frequencyThreshold", f + ".frequency_threshold")
        out = {"frequency_threshold": threshold, "frequency_threshold_num": number(threshold),
               "time_frame": d.text(mod, "timeFrame", f + ".time_frame"),
               "description": d.text(mod, "description", f + ".description"),
               "all_cause_mortality_comment": d.text(mod, "allCauseMortalityComment",
                                                     f + ".all_cause_mortality_comment"),
               "groups": self.groups(mod, "eventGroups", f + ".groups", totals=True),
               "serious": self.events(mod, "seriousEvents", f + ".serious"),
               "other": self.events(mod, "otherEvents", f + ".other")}
        return out if said(out) else None

    def more_info(self, mod: Item | None) -> Item | None:
        if mod is None:
            return None
        d, m, f = self.d, self.m, _MORE
        caveats = d.obj(mod, "limitationsAndCaveats", f + ".limitations_and_caveats")
        agreement = d.obj(mod, "certainAgreement", f + ".restrictive_agreement")
        poc = d.obj(mod, "pointOfContact", f + ".point_of_contact")
        at = f + ".point_of_contact"
        contact = None if poc is None else {
            "title": self.line(poc, "title", at + ".title"),
            "organization": self.line(poc, "organization", at + ".organization"),
            "email": self.line(poc, "email", at + ".email"), "phone": self.line(poc, "phone", at + ".phone"),
            "phone_ext": self.line(poc, "phoneExt", at + ".phone_ext")}
        out = {"limitations_and_caveats": d.text(caveats, "description", f + ".limitations_and_caveats"),
               "pi_sponsor_employee": d.get(agreement, "piSponsorEmployee", bool, f + ".pi_sponsor_employee"),
               "restrictive_agreement": d.get(agreement, "restrictiveAgreement", bool,
                                              f + ".restrictive_agreement"),
               "restriction_type": m.enum(vocab.AGREEMENT_RESTRICTION,
                                          None if agreement is None else agreement.get("restrictionType"),
                                          f + ".restriction_type"),
               "restriction_details": d.text(agreement, "otherDetails", f + ".restriction_details"),
               "point_of_contact": contact if contact and said(contact) else None}
        return out if said(out) else None


def results(d: Doc, doc: Item, arms: list[Item] | None, m: Mapper) -> Item | None:
    """The record's ``results`` from the document's results section; None without one."""
    section = d.obj(doc, "resultsSection", "results")
    if not section:
        return None
    r = _Reader(d, m, arm_index(arms))
    out = {"participant_flow": r.participant_flow(d.obj(section, "participantFlowModule", _FLOW)),
           "baseline": r.baseline(d.obj(section, "baselineCharacteristicsModule", _BASE)),
           "outcome_measures": r.outcome_measures(d.obj(section, "outcomeMeasuresModule", _OM)),
           "adverse_events": r.adverse_events(d.obj(section, "adverseEventsModule", _AE)),
           "more_info": r.more_info(d.obj(section, "moreInfoModule", _MORE))}
    return out if said(out) else None
