"""The README's worked example of a mirror is real code: it parses a page."""

import re
import types
from pathlib import Path

import pytest

from trialmirror.ingest.errors import LayoutChangedError, NotFoundError
from trialmirror.ingest.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def trialx():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Adding a mirror"):]
    code = re.search(r"```python\n(.*?)```", section, re.S)[1]
    module = types.ModuleType("trialx")
    exec(compile(code, "README.md#adding-a-mirror", "exec"), module.__dict__)  # noqa: S102
    return module


PAGE = b"""<html><body><table>
<tr><td>Trial ID:</td><td>NCT01342250</td></tr>
<tr><td>Title:</td><td>Stem cells for liver cirrhosis</td></tr>
<tr><td>Status:</td><td>Recruiting</td></tr>
<tr><td>Phase:</td><td>Phase 1/Phase 2</td></tr></table>
<h3>Eligibility</h3><p>Inclusion Criteria:<br>- Aged 18-70 years.<br>Exclusion Criteria:<br>- Pregnancy</p>
<h3>Contact</h3><p>Jane Doe</p></body></html>"""


def test_the_readme_mirror_example_parses_a_page(trialx):
    record = trialx.parse(PAGE, "NCT01342250", url="https://trialx.example/trials/NCT01342250")
    assert record.source == "trialx" and record.titles.brief == "Stem cells for liver cirrhosis"
    assert record.status.overall == "RECRUITING" and sorted(record.phases) == ["PHASE1", "PHASE2"]
    assert record.eligibility.inclusion == ["Aged 18-70 years."]
    assert record.eligibility.exclusion == ["Pregnancy"]  # "Contact" ended the section
    assert record.sites is None and record.enrollment is None  # not shown: null


def test_the_readme_mirror_example_refuses_what_it_should(trialx):
    with pytest.raises(LayoutChangedError, match="'Status'"):
        trialx.parse(PAGE.replace(b"Status:", b"State:"), "NCT01342250")
    with pytest.raises(NotFoundError):
        trialx.parse(b"<p>No such trial.</p>", "NCT01342250")


def test_the_readme_mirror_example_url(trialx):
    settings = Settings(_env_file=None)
    object.__setattr__(settings, "trialx_base_url", "http://127.0.0.1:9")
    assert trialx.url(settings, "NCT01342250") == "http://127.0.0.1:9/trials/NCT01342250"
