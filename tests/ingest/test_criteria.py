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
