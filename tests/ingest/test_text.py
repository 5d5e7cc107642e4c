"""Canonical text: the same content in API v2 Markdown and in history HTML reads the same."""

import html
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from trialmirror.ingest.parsing.text import clean, clean_line, collapse

_WORDS = st.sampled_from(["aspirin", "≥18", "a<b", "x>y", "R&D", "and/or", "5*ULN", "snake_case",
                          "[note]", "~10", "`code`", "#3", "(i.e.", "e.g.)", "100%", "O'Neil", "\"q\"",
                          "em\u2003space", "no\xa0break"])
_LEAD = st.sampled_from(["Adults", "Women", "Prior", "No", "History", "ECOG"])
texts = st.builds(lambda lead, rest: " ".join([lead, *rest]), _LEAD, st.lists(_WORDS, max_size=6))


def _items(depth: int) -> st.SearchStrategy[Any]:
    child = st.none() if depth >= 2 else st.none() | st.tuples(st.booleans(), st.lists(
        st.tuples(texts, st.none()), min_size=1, max_size=3))
    return st.lists(st.tuples(texts, child), min_size=1, max_size=4)


blocks = st.lists(st.one_of(texts, st.tuples(st.booleans(), _items(0))), min_size=1, max_size=5)

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\*_<>[]~`#"})


def _md_text(text: str) -> str:
    return text.translate(_MD_SPECIAL)  # API v2 escapes what Markdown would read as markup


def _md_list(ordered: bool, items: list, indent: int) -> list[str]:
    lines = []
    for n, (text, child) in enumerate(items, 1):
        marker = f"{n}. " if ordered else "* "
        lines.append(" " * indent + marker + _md_text(text))
        if child:
            lines.append("")
            lines.extend(_md_list(child[0], child[1], indent + len(marker)))
            lines.append("")
    return lines


def to_markdown(doc: list) -> str:
    parts = []
    for block in doc:
        parts.append("\n".join(_md_list(*block, 0)) if isinstance(block, tuple) else _md_text(block))
    return "\n\n".join(parts)


def _html_text(text: str) -> str:
    return html.escape(text).replace("/", "&#x2F;")  # entities as the history endpoints write them


def _html_list(ordered: bool, items: list) -> str:
    tag = "ol" if ordered else "ul"
    inner = "".join(
        f"<li>{_html_text(text)}{_html_list(*child) if child else ''}</li>" for text, child in items)
    return f"<{tag}>{inner}</{tag}>"


def to_html(doc: list) -> str:
    return "".join(_html_list(*b) if isinstance(b, tuple) else f"<p>{_html_text(b)}</p>" for b in doc)


@given(blocks)
def test_markdown_and_html_of_the_same_content_are_equal(doc):
    assert clean(to_markdown(doc)) == clean(to_html(doc), "html")


@given(texts)
def test_one_line_values_are_equal_across_markups(text):
    # What is under test is that both markups agree; the whitespace rule is collapse's.
    assert clean_line(_md_text(text)) == clean_line(_html_text(text), "html") == collapse(text)


def test_real_history_criteria_read_as_the_api_v2_markdown_would():
    # From the real history version 0 of NCT04280705 (corpus), an <ol> with a nested <ul>.
    html_text = ("<p>Inclusion Criteria:</p><ol><li>Male or non-pregnant female adult &gt;&#x2F;=18 years."
                 "</li><li><p>Illness of any duration, and at least one of the following:</p><ul>"
                 "<li>Radiographic infiltrates by imaging, OR</li><li>SpO2 &lt;&#x2F;= 94% on room air"
                 "</li></ul></li></ol><p>Exclusion Criteria:</p><ol><li>ALT&#x2F;AST &gt; 5 times ULN."
                 "</li></ol>")
    markdown = ("Inclusion Criteria:\n\n1. Male or non-pregnant female adult \\>/=18 years.\n"
                "2. Illness of any duration, and at least one of the following:\n\n"
                "   * Radiographic infiltrates by imaging, OR\n   * SpO2 \\</= 94% on room air\n\n"
                "Exclusion Criteria:\n\n1. ALT/AST \\> 5 times ULN.")
    expected = ("Inclusion Criteria:\n1. Male or non-pregnant female adult >/=18 years.\n"
                "2. Illness of any duration, and at least one of the following:\n"
                "  * Radiographic infiltrates by imaging, OR\n  * SpO2 </= 94% on room air\n"
                "Exclusion Criteria:\n1. ALT/AST > 5 times ULN.")
    assert clean(html_text, "html") == clean(markdown) == expected


def test_blank_values_are_none():
    assert clean("  \n\n ") is None and clean("<p> </p>", "html") is None and clean_line("   ") is None


def test_highlight_markup_and_emphasis_are_dropped():
    assert clean_line('<mark class="hl-term">CRPC</mark> study', "html") == "CRPC study"
    assert clean("**Key** criteria and *one* more") == "Key criteria and one more"
