"""Hypothesis strategies for normalized records (small, collision-prone values on purpose)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from trialmirror.models import record as rec
from trialmirror.models import results as res
from trialmirror.models.record import Record

words = st.sampled_from(["alpha", "beta", "gamma", "delta", "Ω", "x y", "a\"b", "[1]", "p.q"])
texts = st.lists(words, min_size=1, max_size=3).map(" ".join)
statuses = st.sampled_from(["RECRUITING", "COMPLETED", "TERMINATED", "Paused"])


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def opt_list(strategy: st.SearchStrategy[Any], **kw: Any) -> st.SearchStrategy[Any]:
    return st.none() | st.lists(strategy, min_size=1, **kw)


def item(typed_dict: type, /, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """An item of a closed TypedDict of the record (``Site``, ``Contact`` ...): ``fields``
    drawn, every other key null."""
    return st.fixed_dictionaries({key: fields.get(key, st.none()) for key in typed_dict.__annotations__})


def section(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A section model's dict (``status``, ``mesh`` ...), or null; unnamed fields are left out."""
    return opt(st.fixed_dictionaries(fields))


arms = item(rec.Arm, label=texts, type=opt(st.sampled_from(["EXPERIMENTAL", "PLACEBO_COMPARATOR"])),
            description=opt(texts), interventions=opt_list(texts, max_size=3))
interventions = item(rec.Intervention, type=opt(st.sampled_from(["DRUG", "BIOLOGICAL"])), name=texts,
                     description=opt(texts), arm_labels=opt_list(texts, max_size=2),
                     other_names=opt_list(texts, max_size=2))
outcomes = item(rec.Outcome, measure=texts, time_frame=opt(texts), description=opt(texts))
days = st.sampled_from(["2010-10", "2011-07-01", "2012"])
dates = item(rec.DateValue, date=days, kind=opt(st.sampled_from(["actual", "anticipated"])))
# Names from a small set, some null: keyed lists then also meet repeated keys.
names = opt(st.sampled_from(["Ann Lee", "Bo Chen", "Cy Diaz"]))
contacts = item(rec.Contact, name=names, role=opt(st.sampled_from(["CONTACT", "PRINCIPAL_INVESTIGATOR"])),
                email=opt(st.just("a@example.org")))
sites = item(rec.Site, facility=opt(texts), city=opt(words), state=opt(words), country=opt(words),
             status=opt(statuses), zip=opt(st.just("10001")), latitude=opt(st.just(40.7)),
             contacts=opt_list(contacts, max_size=2))
officials = item(rec.Official, name=names, affiliation=opt(words))
citations = item(rec.Citation, pmid=opt(st.sampled_from(["123", "456"])), citation=opt(texts),
                 type=opt(st.just("RESULT")),
                 retractions=opt_list(item(rec.Retraction, pmid=opt(st.just("789"))), max_size=2))
mesh_terms = item(rec.MeshTerm, id=opt(st.sampled_from(["D008103", "D008107", "D056486"])),
                  term=opt(words))
mesh_index = section(terms=opt_list(mesh_terms, max_size=3), ancestors=opt_list(mesh_terms, max_size=3),
                     leaves=opt_list(item(rec.BrowseLeaf, id=opt(st.sampled_from(["M1", "M2"])),
                                          relevance=opt(st.just("HIGH"))), max_size=2),
                     branches=opt_list(item(rec.BrowseBranch, abbrev=opt(st.sampled_from(["BC06", "BXS"])),
                                            name=opt(words)), max_size=2))
large_docs = item(rec.LargeDoc, type_abbrev=opt(st.just("Prot")), label=opt(texts),
                  filename=opt(st.sampled_from(["Prot_000.pdf", "SAP_001.pdf"])), size=opt(st.integers(1, 9)))
unposted = item(rec.UnpostedEvent, type=opt(st.sampled_from(["RELEASE", "RESET"])), date=opt(days))
violations = item(rec.ViolationEvent, type=opt(st.sampled_from(["VIOLATION_IDENTIFIED", "CORRECTION_CONFIRMED"])),
                  description=opt(texts), issued=opt(days), posted=opt(days))


# The results section (issue 16): every keyed list, with ids, titles and types from small
# sets so that keys repeat (and MORE_KEYS or the multiset compare take over).
group_ids = st.sampled_from(["OG000", "OG001", "EG000"])
result_values = opt(st.sampled_from(["12", "0.5", "NA", "<0.001"]))
result_groups = item(res.ResultGroup, id=opt(group_ids), title=opt(words), arm=opt(words))
denoms = item(res.Denom, units=opt(st.sampled_from(["Participants", "Eyes"])), counts=opt_list(
    item(res.DenomCount, group=opt(group_ids), value=result_values), max_size=2))
measurements = item(res.Measurement, group=opt(group_ids), value=result_values,
                    value_num=opt(st.just(12.0)), comment=opt(words))
measure_classes = item(res.MeasureClass, title=opt(words), denoms=opt_list(denoms, max_size=2),
                       categories=opt_list(item(res.Category, title=opt(words), measurements=opt_list(
                           measurements, max_size=3)), max_size=2))
measure_types = dict(param_type=opt(st.sampled_from(["MEAN", "MEDIAN"])), unit=opt(words),
                     denoms=opt_list(denoms, max_size=2), classes=opt_list(measure_classes, max_size=2))
analyses = item(res.Analysis, groups=opt_list(group_ids, max_size=3), param_type=opt(words),
                statistical_method=opt(st.sampled_from(["ANCOVA", "Wilcoxon (Mann-Whitney)"])),
                group_description=opt(words), p_value_comment=opt(words), p_value=result_values)
outcome_measures = item(res.OutcomeMeasure, type=opt(st.sampled_from(["PRIMARY", "SECONDARY"])),
                        title=opt(words), time_frame=opt(words), groups=opt_list(result_groups, max_size=2),
                        analyses=opt_list(analyses, max_size=2), **measure_types)
flow_counts = item(res.FlowCount, group=opt(group_ids), subjects=result_values, comment=opt(words))
flow_periods = item(res.FlowPeriod, title=opt(words), milestones=opt_list(item(
    res.Milestone, type=opt(st.sampled_from(["STARTED", "COMPLETED"])),
    achievements=opt_list(flow_counts, max_size=2)), max_size=2), drop_withdraws=opt_list(item(
        res.DropWithdraw, type=opt(words), reasons=opt_list(flow_counts, max_size=2)), max_size=2))
adverse_events = item(res.AdverseEvent, term=opt(words), organ_system=opt(words), notes=opt(words),
                      stats=opt_list(item(res.EventStat, group=opt(group_ids), affected=opt(st.integers(0, 3))),
                                     max_size=2))
results = section(
    participant_flow=section(recruitment_details=opt(texts), groups=opt_list(result_groups, max_size=2),
                             periods=opt_list(flow_periods, max_size=2)),
    baseline=section(groups=opt_list(result_groups, max_size=2), denoms=opt_list(denoms, max_size=2),
                     measures=opt_list(item(res.BaselineMeasure, title=opt(words), **measure_types),
                                       max_size=2)),
    outcome_measures=opt_list(outcome_measures, max_size=2),
    adverse_events=section(frequency_threshold=opt(st.just("5")), groups=opt_list(item(
        res.EventGroup, id=opt(group_ids), title=opt(words), serious_affected=opt(st.integers(0, 3))),
        max_size=2), serious=opt_list(adverse_events, max_size=2), other=opt_list(adverse_events, max_size=2)),
    more_info=section(limitations_and_caveats=opt(texts), point_of_contact=opt(item(
        res.PointOfContact, title=names, organization=opt(words), email=opt(st.just("a@example.org"))))))

@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    data = {
        "registry_id": "NCT01342250",
        "source": "ctgov",
        "source_url": draw(opt(st.just("http://127.0.0.1/x"))),
        "status": draw(section(
            overall=opt(statuses), start=opt(dates), completion=opt(dates), last_update_posted=opt(dates),
            results_first_posted=opt(dates), results_first_submitted=opt(dates),
            delayed_posting=opt(st.booleans()))),
        "phases": draw(opt_list(st.sampled_from(["PHASE1", "PHASE2", "PHASE3"]), max_size=3)),
        "enrollment": draw(opt(item(rec.Enrollment, count=opt(st.integers(0, 500)),
                                    kind=opt(st.sampled_from(["actual", "anticipated"]))))),
        "conditions": draw(opt_list(words, max_size=4)),
        "arms": draw(opt_list(arms, max_size=4)),
        "interventions": draw(opt_list(interventions, max_size=3)),
        "eligibility": draw(section(
            inclusion=opt_list(texts, max_size=5), exclusion=opt_list(texts, max_size=5),
            sex=opt(st.sampled_from(["ALL", "FEMALE"])))),
        "outcomes": draw(section(primary=opt_list(outcomes, max_size=3),
                                 secondary=opt_list(outcomes, max_size=3))),
        "sponsors": draw(section(
            lead=opt(st.fixed_dictionaries({"name": words, "class": opt(st.just("INDUSTRY"))})),
            collaborators=opt_list(st.fixed_dictionaries({"name": words, "class": st.none()}),
                                   max_size=3))),
        "sites": draw(opt_list(sites, max_size=4)),
        "summary": draw(opt(texts)),
        # The whole record (issue 15): a sample of its fields and every kind of keyed list.
        "has_results": draw(opt(st.booleans())),
        "contacts": draw(section(central=opt_list(contacts, max_size=3),
                                 officials=opt_list(officials, max_size=2))),
        "oversight": draw(section(has_dmc=opt(st.booleans()), fdaaa801_violation=opt(st.booleans()))),
        "references": draw(section(
            citations=opt_list(citations, max_size=3),
            links=opt_list(item(rec.Link, label=opt(words), url=opt(st.sampled_from(
                ["https://example.org/a", "https://example.org/b"]))), max_size=2))),
        "mesh": draw(section(conditions=mesh_index, interventions=mesh_index)),
        "documents": draw(section(no_sap=opt(st.booleans()), large_docs=opt_list(large_docs, max_size=2))),
        "annotations": draw(section(unposted_events=opt_list(unposted, max_size=3),
                                    violation_events=opt_list(violations, max_size=2))),
        "results": draw(results),
    }
    return Record.model_validate(data).model_dump(mode="json")
