"""Eligibility text -> inclusion / exclusion items."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialmirror.ingest.parsing.criteria import _BULLET, header_kind, split_criteria
from trialmirror.ingest.parsing.text import clean


@pytest.mark.parametrize(("line", "kind"), [
    ("Inclusion Criteria:", "inclusion"),
    ("Key Inclusion Criteria", "inclusion"),
    ("INCLUSION CRITERIA", "inclusion"),
    ("Main inclusion criteria", "inclusion"),
    ("inclusion criteria :", "inclusion"),
    ("**Inclusion Criteria:**", "inclusion"),
    ("Exclusion Criteria:", "exclusion"),
    ("Key Exclusion Criteria:", "exclusion"),
    ("EXCLUSION CRITERIA:", "exclusion"),
    ("Non-inclusion criteria:", "exclusion"),
    ("D) Other Exclusion Criteria:", "exclusion"),
    ("Exclusion Citeria:", "exclusion"),
    ("Other Exclusions", "exclusion"),
    ("Other protocol defined inclusion criteria could apply.", None),
    ("Note: Other exclusion criteria may apply.", None),
    ("Other protocol-defined inclusion/exclusion criteria may apply", None),
    ("Patients with a history of exclusion from school.", None),
    ("Criteria for exclusion:", "exclusion"),
    ("Partner Inclusion Criteria", "inclusion"),
    ("Inclusion Criteria (Patients):", "inclusion"),
    ("Specific inclusion criteria for renal transplant (RTx) patients:", "inclusion"),
    ("SURGERY AND OTHER TREATMENT-RELATED CONDITIONS OF EXCLUSION", "exclusion"),
    # items that name a list: sentences, not headings (NCT03840161, NCT01866995, NCT01150903)
    ("* Does not meet inclusion criteria;", None),
    ("Subjects who do not meet the inclusion criteria", None),
    ("* Current participation in a clinical trial and / or study medication for 30 days prior to inclusion",
     None),
    ("* Records of female subjects and any male subjects not meeting the inclusion criteria will be excluded",
     None),
    ("Other exclusion criteria according to the US Product Information", None),
])
def test_header_spellings(line, kind):
    assert header_kind(line)[0] == kind


def test_bullets_numbers_nesting_and_escapes():
    text = (
        "Key Inclusion Criteria:\n\n"
        "1. Age \\>= 18 years\n"
        "2. Measurable disease, defined as:\n"
        "   * a lesion \\> 10 mm, or\n"
        "   * a lymph node \\> 15 mm\n"
        "3. ECOG 0-1\n\n"
        "Key Exclusion Criteria:\n\n"
        "- Pregnancy\n"
        "- Prior therapy with \\<drug\\>\n"
    )
    split = split_criteria(clean(text))  # as the parser does: canonical text first
    assert split.headed
    assert split.inclusion == [
        "Age >= 18 years",
        "Measurable disease, defined as:\n- a lesion > 10 mm, or\n- a lymph node > 15 mm",
        "ECOG 0-1",
    ]
    assert split.exclusion == ["Pregnancy", "Prior therapy with <drug>"]
    assert split.unclassified == []


def test_header_with_first_item_on_the_same_line():
    split = split_criteria("Inclusion Criteria:• Age 20 to 45;\n• Healthy\nExclusion Criteria: smokers")
    assert split.inclusion == ["Age 20 to 45;", "Healthy"]
    assert split.exclusion == ["smokers"]


def test_paragraph_items_under_upper_case_headers():
    split = split_criteria("INCLUSION CRITERIA\n\nHealthy men.\n\nEXCLUSION CRITERIA\n\nSmokers.\n\nAge over 50.")
    assert split.inclusion == ["Healthy men."]
    assert split.exclusion == ["Smokers.", "Age over 50."]


def test_text_without_headers_keeps_its_items_and_says_so():
    split = split_criteria("* Adults with asthma\n* Able to use an inhaler")
    assert not split.headed
    assert split.inclusion == [] and split.exclusion == []
    assert split.unclassified == ["Adults with asthma", "Able to use an inhaler"]


def test_sub_headers_of_the_same_kind_join_one_list():
    split = split_criteria("Patient Inclusion Criteria:\n* A\nClinic Inclusion Criteria:\n* B\n"
                           "Patient Exclusion Criteria:\n* C")
    assert split.inclusion == ["A", "B"]
    assert split.exclusion == ["C"]


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1,
                max_size=8)
_ITEM = st.lists(_WORD, min_size=1, max_size=6).map(" ".join).filter(
    lambda s: header_kind(s)[0] is None and not _BULLET.match(s))
_MARKERS = st.sampled_from(["* ", "- ", "• ", "NUM. ", "NUM) "])
_HEADERS = st.sampled_from([("Inclusion Criteria:", "Exclusion Criteria:"),
                            ("INCLUSION CRITERIA", "EXCLUSION CRITERIA"),
                            ("Key Inclusion Criteria:", "Key Exclusion Criteria:"),
                            ("Main inclusion criteria", "Main exclusion criteria")])


def _render(items: list[str], marker: str) -> str:
    return "\n".join(marker.replace("NUM", str(i + 1)) + item for i, item in enumerate(items))


@given(st.lists(_ITEM, min_size=1, max_size=8), st.lists(_ITEM, max_size=8), _MARKERS, _HEADERS,
       st.sampled_from(["\n", "\n\n"]))
def test_rendered_lists_split_back_into_their_items(inclusion, exclusion, marker, headers, gap):
    text = f"{headers[0]}{gap}{_render(inclusion, marker)}"
    if exclusion:
        text += f"{gap}{headers[1]}{gap}{_render(exclusion, marker)}"
    split = split_criteria(text)
    assert split.inclusion == inclusion
    assert split.exclusion == exclusion
    assert split.unclassified == []


@given(st.lists(_ITEM, min_size=1, max_size=4), st.lists(_ITEM, min_size=1, max_size=3))
def test_nested_bullets_stay_with_their_parent(parents, children):
    lines = []
    for parent in parents:
        lines.append(f"* {parent}")
        lines.extend(f"  * {child}" for child in children)
    split = split_criteria("Inclusion Criteria:\n\n" + "\n".join(lines))
    expected = [parent + "".join(f"\n- {c}" for c in children) for parent in parents]
    assert split.inclusion == expected


def test_a_bullet_holding_only_a_header_is_a_header():
    # NCT05161130 writes its first header as a bullet.
    split = split_criteria("* Inclusion Criteria:\n* Adults\n\nExclusion Criteria:\n\n* Smokers")
    assert split.inclusion == ["Adults"] and split.exclusion == ["Smokers"]


@pytest.mark.parametrize("item", [
    "* Does not meet inclusion criteria;",
    "Subjects who do not meet the inclusion criteria",
    "* Failure to meet any of the inclusion criteria",
    "* Participants with advanced NSCLC who have CNS metastases are eligible for inclusion",
    "* Other exclusion criteria according to the US Product Information",
])
def test_an_item_that_names_a_list_stays_an_item_of_its_own_list(item):
    split = split_criteria(f"Inclusion Criteria:\n* Adults\nExclusion Criteria:\n{item}\n* Pregnancy;\n* Smokers")
    assert split.inclusion == ["Adults"]
    assert split.exclusion == [item.removeprefix("* "), "Pregnancy;", "Smokers"]


def test_sub_headings_and_lead_ins_keep_their_items():
    text = (
        "Inclusion Criteria:\n"
        "* Adults aged 18 or over\n"
        "Specific inclusion criteria for renal transplant (RTx) patients:\n"
        "* Stable renal function\n"
        "Partner Inclusion Criteria\n"
        "* Female partner aged 18 or over\n"
        "Exclusion Criteria:\n"
        "Patients may not be enrolled in the study if any of the following exclusion criteria are present:\n"
        "* Pregnancy\n"
        "Pre-/Intra-operative\n"
        "* Dural tear during surgery\n"
        "* Other exclusion criteria according to the US Product Information"
    )
    split = split_criteria(text)
    assert split.criteria_groups() == [
        {"kind": "inclusion", "heading": None, "lead_in": None, "items": ["Adults aged 18 or over"]},
        {"kind": "inclusion", "heading": "Specific inclusion criteria for renal transplant (RTx) patients:",
         "lead_in": None, "items": ["Stable renal function"]},
        {"kind": "inclusion", "heading": "Partner Inclusion Criteria", "lead_in": None,
         "items": ["Female partner aged 18 or over"]},
        {"kind": "exclusion", "heading": None,
         "lead_in": "Patients may not be enrolled in the study if any of the following exclusion criteria are present:",
         "items": ["Pregnancy"]},
        {"kind": "exclusion", "heading": "Pre-/Intra-operative", "lead_in": None,
         "items": ["Dural tear during surgery", "Other exclusion criteria according to the US Product Information"]},
    ]
    # the flat lists still hold every item, a sub-group's under its kind
    assert split.inclusion == ["Adults aged 18 or over", "Stable renal function", "Female partner aged 18 or over"]
    assert split.exclusion == ["Pregnancy", "Dural tear during surgery",
                               "Other exclusion criteria according to the US Product Information"]


def test_only_main_headers_need_no_groups():
    split = split_criteria("Inclusion Criteria:\n* Adults\nExclusion Criteria:\n* Smokers")
    assert [g.kind for g in split.groups] == ["inclusion", "exclusion"]
    assert split.criteria_groups() is None


def test_lettered_sub_headings_over_a_bulleted_list():
    # NCT00657033
    split = split_criteria("Exclusion Criteria:\nA) Previous or current medical conditions:\n* Retinitis pigmentosa.\n"
                           "B) Concomitant medication:\n* Nitrates\nD) Other Exclusion Criteria:\n* Illiterate")
    assert [(g.kind, g.heading, g.items) for g in split.groups] == [
        ("exclusion", "A) Previous or current medical conditions:", ["Retinitis pigmentosa."]),
        ("exclusion", "B) Concomitant medication:", ["Nitrates"]),
        ("exclusion", "D) Other Exclusion Criteria:", ["Illiterate"]),
    ]


def test_a_bullet_that_wraps_its_whole_list_is_a_lead_in_one_among_others_a_criterion():
    split = split_criteria(
        "Inclusion Criteria:\n* Eligible participants must meet the following inclusion criteria:\n"
        "  1. Signed Informed Consent\n  2. Adult males\n"
        "Exclusion Criteria:\n1. Pregnancy\n2. Any of the following cardiac criteria:\n  * QTc > 470 msec\n"
        "  * LVEF < 50%")
    assert split.groups[0].lead_in == "Eligible participants must meet the following inclusion criteria:"
    assert split.inclusion == ["Signed Informed Consent", "Adult males"]
    assert split.exclusion == ["Pregnancy", "Any of the following cardiac criteria:\n- QTc > 470 msec\n- LVEF < 50%"]


def test_a_header_glued_to_an_item_still_starts_its_list():
    # NCT00668135, NCT00663728: the text lost a line break before the header
    split = split_criteria("Inclusion Criteria:\n* Age 20 or over\n* Stable relationship Exclusion Criteria:\n"
                           "* Primary hypoactive sexual desire")
    assert split.inclusion == ["Age 20 or over", "Stable relationship"]
    assert split.exclusion == ["Primary hypoactive sexual desire"]
    split = split_criteria("Inclusion Criteria:- Males with ED- Stable relationship Exclusion Criteria:- Nitrate use")
    assert split.inclusion == ["Males with ED- Stable relationship"]
    assert split.exclusion == ["Nitrate use"]


def test_criteria_of_another_kind_join_neither_list():
    split = split_criteria("Exclusion Criteria:\n* Smokers\nDropout Criteria:\n* Withdrawal of consent")
    assert split.exclusion == ["Smokers"]
    assert split.unclassified == ["Withdrawal of consent"]
    assert split.groups[-1].heading == "Dropout Criteria:"


def test_a_lone_short_line_before_a_list_is_an_item():
    # NCT00422734: "Male" heads nothing; with sibling headings such lines head their lists
    split = split_criteria("Inclusion Criteria:\nMale\n* History of erectile dysfunction")
    assert split.inclusion == ["Male", "History of erectile dysfunction"]
    assert split.criteria_groups() is None
    split = split_criteria("Inclusion Criteria:\nStudy Subjects\n* Men over 18\nPartners\n* Women over 18")
    assert [(g.heading, g.items) for g in split.groups] == [("Study Subjects", ["Men over 18"]),
                                                            ("Partners", ["Women over 18"])]


_SUB_HEADINGS = st.sampled_from(["Partner Inclusion Criteria:", "Specific exclusion criteria for lung transplant "
                                 "(LTx) patients:", "Medical conditions:", "A) Abnormal laboratory values:",
                                 "Cohort 2 exclusion criteria", "Subjects who meet any of the following criteria "
                                 "will be excluded:"])


@given(st.lists(st.tuples(_SUB_HEADINGS, st.lists(_ITEM, min_size=1, max_size=4)), min_size=1, max_size=4),
       _HEADERS)
def test_items_stay_under_the_heading_they_sit_under(parts, headers):
    text = "\n".join([headers[1]] + [f"{heading}\n{_render(items, '* ')}" for heading, items in parts])
    split = split_criteria(text)
    groups = [g for g in split.groups if g.items]
    assert [g.items for g in groups] == [items for _, items in parts]
    kind, heading = "exclusion", None
    for group, (line, _) in zip(groups, parts, strict=True):
        if line.endswith("excluded:"):  # a lead-in: the items stay under the heading before it
            assert (group.heading, group.lead_in) == (heading, line)
        else:
            heading = line
            assert (group.heading, group.lead_in) == (line, None)
        # a heading that names its kind sets it; the others keep the kind they sit in
        kind = {"Partner Inclusion Criteria:": "inclusion", "Cohort 2 exclusion criteria": "exclusion",
                "Specific exclusion criteria for lung transplant (LTx) patients:": "exclusion"}.get(line, kind)
        assert group.kind == kind
