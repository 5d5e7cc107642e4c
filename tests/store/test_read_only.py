"""The read commands open the store read-only: they read a database on read-only media,
and refuse a database that does not exist instead of making an empty one there.

Read-only media for real: the folder and the file lose their write permission, and
the commands run as a process those permissions bind (when the tests run as root, a
root without the capabilities that override them).
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from tests.fixtures.storage import NCT, cli_stores_closed, fill, one_line, run
from trialmirror.settings import Settings

__all__ = ["cli_stores_closed"]
ROOT = Path(__file__).resolve().parents[2]
_PR_CAPBSET_DROP = 24  # prctl(2)
READS = [("show", NCT, "--json"), ("show", NCT, "--as-of", "2011-06-01", "--json"), ("history", NCT, "--json"),
         ("diff", NCT, "--json"), ("timeline", NCT, "--json"), ("changes", "--json"),
         ("search", "umbilical", "--json"), ("export", "--format", "ndjson"), ("drift", "--json"),
         ("db", "current", "--json"), ("db", "check", "--json")]


@pytest.fixture
def media(tmp_path: Path) -> Iterator[Path]:
    """A folder holding a filled store, then made read-only."""
    folder = tmp_path / "media"
    folder.mkdir()
    fill(f"sqlite:///{folder / 'store.db'}")
    (folder / "store.db").chmod(0o444)
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def _bound_by_permissions() -> None:
    """In the child, before it runs: root keeps its files but loses the capabilities that
    override their permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER), so
    a read-only folder is read-only to it as to anyone."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _as_reader(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command as a process that cannot write ``path``'s folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIALMIRROR_")}
    env.update(TRIALMIRROR_DATABASE_URL=f"sqlite:///{path}", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "trialmirror", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=_bound_by_permissions if os.geteuid() == 0 else None)


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_read_commands_work_on_read_only_media(media, args):
    before = sorted(p.name for p in media.iterdir())
    result = _as_reader(media / "store.db", *args)
    assert result.returncode == 0, result.stderr
    if args[0] == "export":
        assert [json.loads(line)["registry_id"] for line in result.stdout.splitlines()] == [NCT]
    else:
        out = json.loads(result.stdout)
        assert out or args[0] == "drift", result.stdout  # nothing drifted in this record
    if args[:2] == ("show", NCT):
        assert out["status"]["overall"] == ("RECRUITING" if "--as-of" in args else "COMPLETED")
    if args[0] == "history":
        assert [v["version"] for v in out] == [1, 2]
    assert sorted(p.name for p in media.iterdir()) == before  # nothing was made there
    assert stat.S_IMODE((media / "store.db").stat().st_mode) == 0o444


def test_a_write_on_read_only_media_says_read_commands_work(media):
    result = _as_reader(media / "store.db", "sync", NCT)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"the database {media / 'store.db'} cannot be written" in result.stderr
    assert "read commands work on it" in result.stderr


@pytest.fixture(params=["sqlite", "postgresql"])
def nowhere(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL where no trialmirror database is: a mistyped path, an empty schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'trialmirrror.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _nothing_made(url: str) -> None:
    if url.startswith("sqlite"):
        assert not list(Path(url.removeprefix("sqlite:///")).parent.iterdir())
        return
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


@pytest.mark.usefixtures("cli_stores_closed")
@pytest.mark.parametrize("args", [("show", NCT), ("history", NCT), ("search", "umbilical"),
                                  ("export", "--format", "ndjson"), ("changes",), ("drift",)],
                         ids=lambda a: a[0])
def test_read_commands_refuse_a_database_that_does_not_exist(nowhere, args):
    result = run(nowhere, *args)
    assert result.exit_code == 2
    line = one_line(result)
    assert "no trialmirror database at" in line and "run `trialmirror sync` to make one" in line
    if nowhere.startswith("sqlite"):
        assert "trialmirrror.db (no such file)" in line
    _nothing_made(nowhere)


@pytest.mark.usefixtures("cli_stores_closed")
def test_serve_refuses_a_database_that_does_not_exist(nowhere, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("it served a database that does not exist"))
    result = run(nowhere, "serve", "--port", "9")
    assert result.exit_code == 2
    assert "no trialmirror database at" in one_line(result)
    _nothing_made(nowhere)


def test_the_api_refuses_to_start_on_a_database_that_does_not_exist(nowhere):
    from trialmirror.api.app import create_app
    from trialmirror.errors import StorageError

    app = create_app(Settings(database_url=nowhere, _env_file=None))

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pytest.fail("the API started on a database that does not exist")

    with pytest.raises(StorageError, match="no trialmirror database at"):
        asyncio.run(start())
    _nothing_made(nowhere)
