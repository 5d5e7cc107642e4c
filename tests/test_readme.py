"""The README's examples are real: its worked mirror parses a page, and the commands it
(and the pages of docs/) mark ``<!-- tested -->`` run, against local servers, with the
output they show.

A tested example is a ``console`` block: ``$ command`` lines, each followed by lines of
what it prints. Every shown line must appear in the real output, in order (whitespace
runs count as one space; ``...`` stands for anything within a line); ``[exit status N]``
says the command exits N (0 otherwise). Commands run in a fresh folder, so the default
database is ``trialmirror.db`` there, as for a user:

- ``trialmirror ...`` runs the command in-process (click's runner);
- ``export NAME=value`` sets a variable for the commands after it;
- ``curl 'http://127.0.0.1:8000/...'`` asks the API that ``trialmirror serve`` would serve
  over the same database (``serve`` itself runs until stopped, so it is not run), and
  prints the body; with ``-f``, an HTTP error prints curl's error line and exits 22;
- ``sqlite3 trialmirror.db "SQL"`` runs the SQL (rows printed with ``|``, as sqlite3 does).

ClinicalTrials.gov, its record history and both mirrors are one local server playing
NCT01342250 (tests/fixtures: a reconstructed current record, a SYNTHETIC earlier state and
history, mirror pages rendered from them). ``<!-- tested: changing -->`` plays the registry
record first in its earlier state (RECRUITING), then as it is now (COMPLETED), as if it
changed between two runs; ``<!-- tested: lagging-mirror -->`` has ClinicalTrials.Veeva show
the record's middle history state (ACTIVE_NOT_RECRUITING); ``<!-- tested: broken-mirror -->``
has WHO ICTRP answer with a page that says the trial does not exist (a soft 404);
``<!-- tested: drifting -->`` plays the registry record as it is, then drifted (a new date
kind, a count written as text); ``<!-- tested: corpus -->`` plays, besides, every record of the
real corpus that has results (../shared/corpus, read in place; skipped without it). A webhook
URL an example sets is pointed at a local receiver. A command whose quotes are still open at
the end of its line goes on over the next lines (a multi-line SQL query in quotes).
A ``sql`` block marked tested runs, statement by statement, on a store that holds the record.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import sqlite3
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from click.testing import CliRunner

from tests.fixtures import mirror_pages as mp
from tests.fixtures import nct01342250 as fx
from tests.fixtures.api_server import serving
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.cli.main import main
from trialmirror.errors import LayoutChangedError, NotFoundError
from trialmirror.ingest.sources.ctv import slug
from trialmirror.settings import Settings
from trialmirror.store import Store

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]  # the front door and the reference
NCT = "NCT01342250"
TESTED = re.compile(r"<!-- tested(?::\s*(?P<scenario>[\w-]+))? -->\n```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)
EXIT = re.compile(r"^\[exit status (\d+)\]$")
API = "http://127.0.0.1:8000"


# --- the worked mirror (the "Adding a mirror" section) ------------------------------------

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


# --- the front-door examples ---------------------------------------------------------------

@dataclass
class Step:
    command: str
    shown: list[str] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        codes = [int(m[1]) for m in map(EXIT.match, self.shown) if m]
        return codes[0] if codes else 0

    @property
    def lines(self) -> list[str]:
        return [line for line in self.shown if not EXIT.match(line)]


@dataclass
class Example:
    name: str
    scenario: str
    lang: str
    body: str

    def steps(self) -> list[Step]:
        steps: list[Step] = []
        for line in self.body.splitlines():
            if steps and not _closed(steps[-1].command):
                steps[-1].command += "\n" + line
            elif line.startswith("$ "):
                steps.append(Step(line[2:]))
            elif line.strip():
                assert steps, f"{self.name}: output before any command: {line!r}"
                steps[-1].shown.append(line)
        return steps


def _closed(command: str) -> bool:
    """Whether a command's quotes are closed (else it goes on over the next line)."""
    try:
        shlex.split(command, comments=True)
    except ValueError:
        return False
    return True


def _examples() -> list[Example]:
    return [Example(f"{page.stem}{n}", m["scenario"] or "registry", m["lang"], m["body"])
            for page in PAGES for n, m in enumerate(TESTED.finditer(page.read_text(encoding="utf-8")), 1)]


EXAMPLES = _examples()


def _normal(line: str) -> str:
    return " ".join(line.split())


def assert_shown(shown: list[str], output: str, command: str) -> None:
    """Each shown line matches a line of the output, in order; ``...`` matches anything."""
    actual = [_normal(line) for line in output.splitlines()]
    at = 0
    for line in shown:
        pattern = ".*?".join(re.escape(part) for part in _normal(line).split("..."))
        found = next((i for i in range(at, len(actual)) if re.search(pattern, actual[i])), None)
        assert found is not None, f"`{command}` did not print {line!r} (after line {at}):\n{output}"
        at = found + 1


SCENARIOS = ("registry", "changing", "lagging-mirror", "broken-mirror", "drifting", "corpus")


def _drifted() -> dict:
    """The current record as a registry that drifted would write it (SYNTHETIC): a date
    kind no vocabulary knows yet, and the enrollment count as a string."""
    doc = fx.current()
    status = doc["protocolSection"]["statusModule"]
    status["completionDateStruct"] = {**status["completionDateStruct"], "type": "PROVISIONAL"}
    doc["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = "20"
    return doc


class Registry:
    """ClinicalTrials.gov, its record history and both mirrors on one local server."""

    def __init__(self, server: ScriptedServer, scenario: str, corpus: Path | None = None):
        assert scenario in SCENARIOS, f"unknown scenario {scenario!r}; known: {SCENARIOS}"
        self.server = server
        for document in sorted((corpus / "ctgov_v2").glob("NCT*.json")) if corpus else ():
            raw = document.read_bytes()
            if b'"resultsSection"' in raw:  # the records with results, as the registry served them
                server.play(f"/api/v2/studies/{document.stem}", Reply(body=raw))
        current = fx.current()
        path = f"/api/v2/studies/{NCT}"
        if scenario == "drifting":  # as it is now, then drifted
            server.play(path, Reply(body=json.dumps(current).encode()), Reply(body=json.dumps(_drifted()).encode()))
        else:
            server.play(path, *([Reply(body=json.dumps(fx.earlier()).encode())] if scenario == "changing" else []),
                        Reply(body=json.dumps(current).encode()))
        history = f"/api/int/studies/{NCT}/history"
        server.play(history, Reply(body=json.dumps(fx.history_list()).encode()))
        for n in range(len(fx.HISTORY)):
            server.play(f"{history}/{n}", Reply(body=json.dumps(fx.history_version(n)).encode()))
        page = {"Content-Type": "text/html; charset=utf-8"}
        title = current["protocolSection"]["identificationModule"]["briefTitle"]
        shown = fx.HISTORY[1][3]() if scenario == "lagging-mirror" else current  # still ACTIVE_NOT_RECRUITING
        server.play(f"/study/{slug(title)}", Reply(body=mp.semantic(mp.ctv_lines(shown)), headers=page))
        ictrp = mp.ictrp_not_found(NCT) if scenario == "broken-mirror" else mp.ictrp_lines(current)
        server.play(f"/Trial2.aspx?TrialID={NCT}", Reply(body=mp.table(ictrp), headers=page))
        server.play("/hooks/trials", Reply(204))

    def env(self) -> dict[str, str | None]:
        base = self.server.base_url
        mine: dict[str, str | None] = {k: None for k in os.environ if k.startswith("TRIALMIRROR_")}
        return mine | {"TRIALMIRROR_CTGOV_BASE_URL": base, "TRIALMIRROR_CTGOV_HISTORY_BASE_URL": base,
                "TRIALMIRROR_CTV_BASE_URL": base, "TRIALMIRROR_ICTRP_BASE_URL": base,
                "TRIALMIRROR_MAX_REQUESTS_PER_SECOND": "1000", "TRIALMIRROR_BACKOFF_FACTOR": "0.001",
                "TRIALMIRROR_MAX_RETRIES": "1",
                "COLUMNS": "120"}  # the README's tables are as a 120-column terminal shows them


@pytest.fixture
def logging_kept() -> Iterator[None]:
    """``run`` points trialmirror's log lines at the runner's stderr; put them back after."""
    loggers = [logging.getLogger(name) for name in ("trialmirror", "apscheduler")]
    saved = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    yield
    for lg, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        lg.handlers[:], lg.level, lg.propagate = handlers, level, propagate


class Session:
    """A user's shell: a folder, the environment, and the commands of one example."""

    def __init__(self, registry: Registry, folder: Path):
        self.registry = registry
        self.folder = folder
        self.env = registry.env()

    def run(self, command: str) -> tuple[int, str]:
        words = shlex.split(command, comments=True)
        if words[0] == "trialmirror":
            result = CliRunner().invoke(main, words[1:], env=self.env)
            if result.exception and not isinstance(result.exception, SystemExit):
                raise result.exception
            return result.exit_code, result.output
        if words[0] == "export":
            for word in words[1:]:
                name, _, value = word.partition("=")
                self.env[name] = self._local(name, value)
            return 0, ""
        if words[0] == "curl":
            return self._curl(words)
        if words[0] == "sqlite3":
            return 0, self._sql(words[1], words[2])
        raise AssertionError(f"a tested example cannot run {command!r}")

    def _local(self, name: str, value: str) -> str:
        if name == "TRIALMIRROR_WEBHOOK_URL":  # the receiver is the local server
            return self.registry.server.base_url + urlsplit(value).path
        return value

    def _curl(self, words: list[str]) -> tuple[int, str]:
        url = next(w for w in words[1:] if w.startswith("http"))
        assert url.startswith(API), f"a tested curl asks the API on {API}, not {url}"
        settings = Settings(database_url=self.env.get("TRIALMIRROR_DATABASE_URL") or "sqlite:///trialmirror.db",
                            _env_file=None)
        reader = Store(settings.database_url, read_only=True)  # as `trialmirror serve` opens it
        try:
            with serving(settings, reader) as base:
                answer = requests.get(base + url[len(API):], timeout=10)
        finally:
            reader.close()
        if not answer.ok and any(w in ("-f", "--fail") for w in words):  # as curl -f: no body, exit 22
            return 22, f"curl: (22) The requested URL returned error: {answer.status_code}"
        return 0, answer.text

    def _sql(self, database: str, sql: str) -> str:
        with sqlite3.connect(self.folder / database) as conn:
            return "\n".join("|".join("" if v is None else str(v) for v in row) for row in conn.execute(sql))


@pytest.fixture
def session(request, tmp_path, monkeypatch, logging_kept) -> Iterator[Session]:
    monkeypatch.chdir(tmp_path)
    corpus = request.getfixturevalue("corpus_dir") if request.param == "corpus" else None
    with ScriptedServer() as server:
        yield Session(Registry(server, request.param, corpus), tmp_path)


CONSOLE = [e for e in EXAMPLES if e.lang == "console"]


def test_the_readme_marks_examples_for_each_kind_of_user():
    text = README.read_text(encoding="utf-8")
    for heading in ("## If you monitor status changes", "## If you feed a search index",
                    "## If you query records for research"):
        start = text.index(heading)
        section = text[start:text.find("\n## ", start + 1)]
        assert "<!-- tested" in section, f"{heading}: no tested example"


@pytest.mark.parametrize("session, example", [(e.scenario, e) for e in CONSOLE], indirect=["session"],
                         ids=[e.name for e in CONSOLE])
def test_a_readme_example_runs_and_prints_what_it_shows(session, example):
    for step in example.steps():
        status, output = session.run(step.command)
        assert status == step.exit_status, f"`{step.command}` exited {status}:\n{output}"
        assert_shown(step.lines, output, step.command)


def test_the_readme_webhook_example_is_what_a_receiver_gets(tmp_path, monkeypatch, logging_kept):
    """The POST the README shows: its headers, and a body with the keys and values shown."""
    monkeypatch.chdir(tmp_path)
    text = README.read_text(encoding="utf-8")
    shown = re.search(r"```http\n(POST .*?)```", text, re.S)[1]
    head, _, body = shown.partition("\n\n")
    with ScriptedServer() as server:
        shell = Session(Registry(server, "changing"), tmp_path)
        shell.run("export TRIALMIRROR_WEBHOOK_URL=https://example.org/hooks/trials "
                  "TRIALMIRROR_WEBHOOK_SECRET=change-me")
        # Only the registry is watched, and a round fetches a record again only after half
        # its interval: the test does not wait three hours for the second round.
        shell.env.update(TRIALMIRROR_SOURCES="ctgov", TRIALMIRROR_CTGOV_INTERVAL="0.001")
        for _ in range(2):  # the record changes between the two rounds
            assert shell.run("trialmirror run --once")[0] == 0
        [(path, headers, sent)] = server.posts
    assert head.splitlines()[0] == f"POST {path}"
    for name, _, value in (line.partition(": ") for line in head.splitlines()[1:]):
        assert name in headers, f"the README shows header {name}, the receiver got {sorted(headers)}"
        if "<" not in value:
            assert headers[name] == value
    got, expected = json.loads(sent), json.loads(body.replace('"..."', "null"))
    assert set(got) == set(expected)
    assert {k: v for k, v in got.items() if expected[k] is not None} == {
        k: v for k, v in expected.items() if v is not None}


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.lang == "sql"], ids=lambda e: e.name)
def test_a_readme_sql_example_runs_on_a_store(example, tmp_path, monkeypatch, logging_kept):
    monkeypatch.chdir(tmp_path)
    with ScriptedServer() as server:
        shell = Session(Registry(server, "registry"), tmp_path)
        assert shell.run(f"trialmirror sync {NCT}")[0] == 0
    statements = [s for s in (part.strip() for part in example.body.split(";")) if s]
    assert statements
    with sqlite3.connect(tmp_path / "trialmirror.db") as conn:
        answers = [conn.execute(s).fetchall() for s in statements]
    assert any(answers), "every query of the README came back empty on a store holding NCT01342250"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_links_between_the_pages_lead_somewhere(page):
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name} links to {target}: no such file"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), re.M)
            assert anchor in {_anchor(h) for h in headings}, f"{page.name} links to {target}: no such heading"


# Command blocks that no test can run as written, and why; any other command block of
# the README or docs/ must be marked tested, so a new example runs before it is shown.
UNTESTED = {
    "python3 -m venv .venv && .venv/bin/pip install -q -e . &&": "installs from the index and syncs the real "
    "registry (tests/test_install.py installs the built wheel offline)",
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' &&": "the test suite itself (.ci/run runs it)",
    "trialmirror watch add NCT04280705": "`run` runs until Ctrl-C; the POST it makes is checked above and "
    "`run --once` by tests/schedules",
    "trialmirror sync --all": "needs the real registry (tests/ingest/test_bulk.py runs it on a paged local one)",
    "export TRIALMIRROR_DATABASE_URL=postgresql://trialmirror@db.internal/trialmirror": "needs that database server",
    "python -m trialmirror.store.migrations revision": "writes a migration into the checkout",
}
BLOCK = re.compile(r"(?P<before>[^\n]*)\n```(?P<lang>sh|console|bash|shell)\n(?P<body>.*?)```", re.S)


def test_every_command_block_is_tested_or_says_why_not():
    unmarked = [(page.name, m["body"].splitlines()[0]) for page in PAGES
                for m in BLOCK.finditer(page.read_text(encoding="utf-8")) if "<!-- tested" not in m["before"]]
    unexplained = [(name, first) for name, first in unmarked if not first.startswith(tuple(UNTESTED))]
    assert unexplained == [], "mark these <!-- tested --> or say in UNTESTED why no test can run them"
    stale = [start for start in UNTESTED if not any(first.startswith(start) for _, first in unmarked)]
    assert stale == [], f"UNTESTED names blocks that are gone or tested now: {stale}"
