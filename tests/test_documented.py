"""Every setting and every variable the code or the tests read is documented: a setting
in docs/settings.md, a test or build variable there or in docs/development.md. The
PostgreSQL URL of the tests and ``TRIALMIRROR_BULK_PAGE_SIZE`` were once read and
written down nowhere."""

from __future__ import annotations

import re
from pathlib import Path

from trialmirror.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_DOC = ROOT / "docs" / "settings.md"
DEVELOPMENT_DOC = ROOT / "docs" / "development.md"
NAME = re.compile(r"\bTRIALMIRROR_[A-Z][A-Z0-9_]*[A-Z0-9]\b")
# Where variables are read: the packages, the tests, the build and CI (not .venv, not docs).
READERS = ("api", "cli", "ingest", "models", "read", "schedules", "store", "trialmirror", "tests",
           "benchmarks")


def _documented(*pages: Path) -> set[str]:
    return {name for page in pages for name in NAME.findall(page.read_text(encoding="utf-8"))}


def _read_in_code() -> dict[str, str]:
    """Each TRIALMIRROR_* name written out in the code, with one file that has it."""
    files = [p for folder in READERS for p in (ROOT / folder).rglob("*.py")]
    files += [ROOT / "setup.py", ROOT / ".ci" / "run"]
    found: dict[str, str] = {}
    for path in files:
        for name in NAME.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def test_every_setting_is_documented_under_its_variable_name():
    documented = _documented(SETTINGS_DOC)
    missing = [f"TRIALMIRROR_{field.upper()}" for field in Settings.model_fields
               if f"TRIALMIRROR_{field.upper()}" not in documented]
    assert missing == [], f"docs/settings.md does not name {missing}"


def test_every_variable_the_code_and_tests_read_is_documented():
    documented = _documented(SETTINGS_DOC, DEVELOPMENT_DOC)
    missing = {name: where for name, where in _read_in_code().items() if name not in documented}
    assert missing == {}, f"read but not documented in docs/settings.md or docs/development.md: {missing}"


def test_the_services_the_tests_use_are_documented():
    """Which PostgreSQL user and database, which broker and Redis the tests expect."""
    text = DEVELOPMENT_DOC.read_text(encoding="utf-8")
    conftest = (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")
    default = re.search(r'"(postgresql://[^"]+)"', conftest)[1]
    assert default in text and "TRIALMIRROR_TEST_POSTGRES_URL" in text
    distributed = (ROOT / "tests" / "schedules" / "test_distributed.py").read_text(encoding="utf-8")
    for url in re.findall(r'= "((?:amqp|redis)://[^"]+)"', distributed):
        assert url in text, f"docs/development.md does not say the tests use {url}"
