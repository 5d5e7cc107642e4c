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


# --- the record's fields -----------------------------------------------------------------

SCHEMA_DOC = ROOT / "docs" / "schema.md"
_ROW = re.compile(r"^\| (?P<fields>`[^|]+) \| (?P<content>.*) \|$")
_WORD = re.compile(r"[a-z_][a-z0-9_]*")


def _keys_below(annotation: object) -> set[str]:
    """The names of every key inside a field's type: a section's fields, an item's keys,
    and theirs, through lists and optionals."""
    from typing import get_args

    from pydantic import BaseModel
    from typing_extensions import is_typeddict

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = {name: f.annotation for name, f in annotation.model_fields.items()}
    elif is_typeddict(annotation):
        fields = dict(annotation.__annotations__)  # type: ignore[union-attr]
    else:
        return set().union(*(_keys_below(arg) for arg in get_args(annotation)))
    return set(fields).union(*(_keys_below(t) for t in fields.values()))


def _record_table() -> dict[str, set[str]]:
    """Each row of the record's table in docs/schema.md: the fields it is for -> the words
    its content writes as code."""
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    section = text[text.index("## The normalized record"):]
    rows: dict[str, set[str]] = {}
    for line in section[section.index("| field | content |"):].splitlines()[2:]:
        match = _ROW.match(line)
        if match is None:
            break
        code = " ".join(re.findall(r"`([^`]+)`", match["content"]))
        for name in re.findall(r"`([a-z_]+)`", match["fields"]):
            rows[name] = set(_WORD.findall(code))
    return rows


def test_the_schema_doc_names_every_field_of_the_record():
    """docs/schema.md's table has a row for each field of the record (models/record.py), and
    the row names every key inside it: a field added to the contract and not written down
    fails here."""
    from trialmirror.models.record import Record

    rows = _record_table()
    missing = {}
    for name, field in Record.model_fields.items():
        if name not in rows:
            missing[name] = "no row"
            continue
        absent = sorted(_keys_below(field.annotation) - rows[name])
        if absent:
            missing[name] = absent
    assert missing == {}, f"docs/schema.md's record table does not name {missing}"


# --- the views and flat tables ----------------------------------------------------------

_VIEW_ROW = re.compile(r"^\| `(?P<name>[a-z_]+)` \|(?P<rest>.*)\|$")


def _view_rows() -> dict[str, set[str]]:
    """Each row of the view tables in docs/schema.md's flat-tables section: the view -> the
    words its row writes."""
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    section = text[text.index("## Flat tables"):text.index("## Questions in SQL")]
    return {m["name"]: set(_WORD.findall(m["rest"])) for m in map(_VIEW_ROW.match, section.splitlines()) if m}


def test_the_schema_doc_names_every_view_and_its_columns():
    """Every view (and flat table) has a row in docs/schema.md naming each of its columns:
    a view or column added without its documentation fails here."""
    from trialmirror.read.flat import TABLES

    rows = _view_rows()
    missing = {name: sorted(set(columns) - rows[name]) if name in rows else "no row"
               for name, columns in TABLES.items()}
    assert {name: gap for name, gap in missing.items() if gap} == {}, "docs/schema.md does not document"
