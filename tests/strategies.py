"""Hypothesis strategies for normalized records (small, collision-prone values on purpose)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from trialmirror.models.record import Record

words = st.sampled_from(["alpha", "beta", "gamma", "delta", "Ω", "x y", "a\"b", "[1]", "p.q"])
texts = st.lists(words, min_size=1, max_size=3).map(" ".join)
statuses = st.sampled_from(["RECRUITING", "COMPLETED", "TERMINATED", "Paused"])


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def opt_list(strategy: st.SearchStrategy[Any], **kw: Any) -> st.SearchStrategy[Any]:
    return st.none() | st.lists(strategy, min_size=1, **kw)


arms = st.fixed_dictionaries({
    "label": texts, "type": opt(st.sampled_from(["EXPERIMENTAL", "PLACEBO_COMPARATOR"])),
    "description": opt(texts), "interventions": opt_list(texts, max_size=3)})
interventions = st.fixed_dictionaries({
    "type": opt(st.sampled_from(["DRUG", "BIOLOGICAL"])), "name": texts,
    "description": opt(texts), "arm_labels": opt_list(texts, max_size=2),
    "other_names": opt_list(texts, max_size=2)})
outcomes = st.fixed_dictionaries({"measure": texts, "time_frame": opt(texts), "description": opt(texts)})
contacts = st.fixed_dictionaries({"name": opt(texts), "role": opt(st.sampled_from(["CONTACT", "STUDY_CHAIR"])),
                                  "phone": opt(words), "phone_ext": opt(words), "email": opt(words)})
sites = st.fixed_dictionaries({"facility": opt(texts), "city": opt(words), "state": opt(words),
                               "country": opt(words), "status": opt(statuses), "zip": opt(words),
                               "latitude": opt(st.sampled_from([31.22, -33.9])),
                               "longitude": opt(st.sampled_from([121.46, 18.4])),
                               "contacts": opt_list(contacts, max_size=2)})
dates = st.fixed_dictionaries({"date": st.sampled_from(["2010-10", "2011-07-01", "2012"]),
                               "kind": opt(st.sampled_from(["actual", "anticipated"]))})


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    data = {
        "registry_id": "NCT01342250",
        "source": "ctgov",
        "source_url": draw(opt(st.just("http://127.0.0.1/x"))),
        "status": draw(opt(st.fixed_dictionaries({
            "overall": opt(statuses), "start": opt(dates), "completion": opt(dates),
            "last_update_posted": opt(dates)}))),
        "phases": draw(opt_list(st.sampled_from(["PHASE1", "PHASE2", "PHASE3"]), max_size=3)),
        "enrollment": draw(opt(st.fixed_dictionaries({
            "count": opt(st.integers(0, 500)), "kind": opt(st.sampled_from(["actual", "anticipated"]))}))),
        "conditions": draw(opt_list(words, max_size=4)),
        "arms": draw(opt_list(arms, max_size=4)),
        "interventions": draw(opt_list(interventions, max_size=3)),
        "eligibility": draw(opt(st.fixed_dictionaries({
            "inclusion": opt_list(texts, max_size=5), "exclusion": opt_list(texts, max_size=5),
            "sex": opt(st.sampled_from(["ALL", "FEMALE"]))}))),
        "outcomes": draw(opt(st.fixed_dictionaries({"primary": opt_list(outcomes, max_size=3),
                                                    "secondary": opt_list(outcomes, max_size=3)}))),
        "sponsors": draw(opt(st.fixed_dictionaries({
            "lead": opt(st.fixed_dictionaries({"name": words, "class": opt(st.just("INDUSTRY"))})),
            "collaborators": opt_list(st.fixed_dictionaries({"name": words, "class": st.none()}),
                                      max_size=3)}))),
        "sites": draw(opt_list(sites, max_size=4)),
        "summary": draw(opt(texts)),
    }
    return Record.model_validate(data).model_dump(mode="json")
