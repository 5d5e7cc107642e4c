"""Installs every way: the sdist, the wheel built from it, a new virtualenv, the command.

The sdist is built from a copy of the repository and the wheel from that sdist (the route
``python -m build`` takes), compiled with mypyc unless TRIALMIRROR_PURE_PYTHON is set. The
wheel goes, without network, into a new virtualenv that sees this one's dependencies but
neither its editable ``trialmirror`` nor the optional dependencies (it is a core install:
the CLI on SQLite). The command then runs from a folder whose files are named like the
repository's top-level packages, against a local server playing ClinicalTrials.gov.

Also here: a command that needs a missing extra says so in one line (exit 2).
"""

from __future__ import annotations

import email
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fixtures import nct01342250 as fx
from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.cli.main import main

ROOT = Path(__file__).resolve().parents[1]
NCT = "NCT01342250"
OPTIONAL = {"postgres": ["psycopg"], "api": ["fastapi", "fastapi_offline", "uvicorn"], "distributed": ["celery", "redis"],
            "parquet": ["pyarrow"]}
# What a checkout holds that no build reads (and the build's own leftovers).
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.so",
                                     ".pytest_cache", ".hypothesis", ".ruff_cache", "*.db", "*.db-*")
LOOKALIKES = ("models.py", "api.py", "cli.py", "ingest.py")


def _run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600,
                          **kwargs)  # type: ignore[call-overload]


def _check(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _compiles() -> bool:
    """Whether the build should compile: mypyc is asked for and a C compiler is there."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return not os.environ.get("TRIALMIRROR_PURE_PYTHON") and shutil.which(compiler) is not None


@dataclass
class Built:
    sdist: Path
    wheel: Path
    seconds: float


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The sdist of a copy of the checkout, and the wheel built from that sdist, offline."""
    base = tmp_path_factory.mktemp("build")
    source = base / "checkout"
    shutil.copytree(ROOT, source, symlinks=True, ignore=NOT_SOURCES)
    t0 = time.perf_counter()
    hook = f"from setuptools import build_meta as b; print(b.build_sdist({str(base / 'sdist')!r}))"
    sdist = base / "sdist" / _check(_run([sys.executable, "-c", hook], cwd=source)).splitlines()[-1]
    with tarfile.open(sdist) as archive:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # 3.11.4 and later
        archive.extractall(base / "unpacked", **safe)  # type: ignore[arg-type]
    (unpacked,) = (base / "unpacked").iterdir()
    _check(_run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                 "--no-cache-dir", "--disable-pip-version-check", "-w", base / "wheels", unpacked]))
    (wheel,) = (base / "wheels").glob("trialmirror-*.whl")
    return Built(sdist, wheel, time.perf_counter() - t0)


@pytest.fixture(scope="module")
def venv(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv holding the wheel; this one's dependencies visible, the extras not."""
    path = tmp_path_factory.mktemp("venv")
    _check(_run([sys.executable, "-m", "venv", "--without-pip", path]))
    python = path / "bin" / "python"
    _check(_run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
                 "--no-cache-dir", "--disable-pip-version-check", built.wheel]))
    # Written after the install, or pip would see this venv's editable trialmirror there.
    # Path lines only: this venv's own .pth files (the editable finder) are not run.
    site = Path(_check(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])).strip())
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "zz_test_dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    # A core install: the extras' modules cannot be imported.
    blocked = [m for modules in OPTIONAL.values() for m in modules]
    (site / "zz_core_only.pth").write_text(f"import sys; sys.modules.update(dict.fromkeys({blocked!r}))\n")
    return path


@pytest.fixture
def lookalikes(tmp_path: Path) -> Path:
    """A working folder whose files are named like the repository's top-level packages."""
    folder = tmp_path / "work"
    folder.mkdir()
    for name in LOOKALIKES:
        (folder / name).write_text('raise SystemExit("shadowed")\n')
    return folder


@pytest.fixture
def ctgov() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        server.play(f"/api/v2/studies/{NCT}", Reply(body=json.dumps(fx.current()).encode()))
        yield server


def _env(venv: Path, folder: Path, **settings: str) -> dict[str, str]:
    """Only what the command needs: no PYTHONPATH, no TRIALMIRROR_* of this process."""
    return {"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "HOME": str(folder),
            "LANG": "C.UTF-8", "COLUMNS": "200",
            "TRIALMIRROR_DATABASE_URL": f"sqlite:///{folder / 't.db'}", **settings}


def test_the_wheel_holds_one_package_and_a_lean_core(built: Built) -> None:
    names = zipfile.ZipFile(built.wheel).namelist()
    info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
    assert {n.split("/")[0] for n in names} == {"trialmirror", info}
    assert f"{info}/licenses/LICENSE" in names
    compiled = [n for n in names if n.endswith(".so")]
    assert bool(compiled) == _compiles(), compiled  # mypyc's shared library inside the package too
    assert all(n.startswith("trialmirror/") for n in compiled)
    # The migrations, and Alembic's template for new ones, ship with the package.
    assert "trialmirror/store/migrations/versions/0001_baseline.py" in names
    assert "trialmirror/store/migrations/script.py.mako" in names
    metadata = email.message_from_bytes(zipfile.ZipFile(built.wheel).read(f"{info}/METADATA"))
    assert metadata["License-Expression"] == "MIT"
    core = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    assert "click>=8.1" in core and "sqlalchemy>=2.0.30" in core
    for extra, modules in OPTIONAL.items():
        assert extra in metadata.get_all("Provides-Extra")
        assert not [r for r in core if r.startswith(tuple(m.replace("_", "-") for m in modules))], core
    with tarfile.open(built.sdist) as archive:
        members = {m.name.split("/", 1)[-1]: m for m in archive.getmembers()}
    assert {"LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "setup.py"} <= set(members)
    assert not [name for name in members if name.startswith("tests/")]
    assert members["trialmirror/ingest/parsing/text.py"].isfile()  # the links' files, not links
    print(f"sdist and wheel built in {built.seconds:.1f} s")


def test_the_installed_wheel_runs_from_a_folder_of_lookalikes(venv: Path, lookalikes: Path,
                                                               ctgov: ScriptedServer) -> None:
    env = _env(venv, lookalikes, TRIALMIRROR_CTGOV_BASE_URL=ctgov.base_url,
               TRIALMIRROR_MAX_REQUESTS_PER_SECOND="1000")
    trialmirror = venv / "bin" / "trialmirror"
    assert _check(_run([trialmirror, "--version"], cwd=lookalikes, env=env)) == "trialmirror, version 0.1.0\n"

    where = _check(_run([venv / "bin" / "python", "-c", "import trialmirror, trialmirror.ingest.parsing.text as t;"
                         "print(trialmirror.__file__); print(t.__file__)"], cwd=lookalikes, env=env))
    package, parser = where.split()
    assert Path(package).is_relative_to(venv) and Path(parser).is_relative_to(venv), where
    assert parser.endswith(".so") == _compiles(), parser  # the compiled build, when there is one

    synced = _run([trialmirror, "sync", NCT], cwd=lookalikes, env=env)
    assert _check(synced) and "new_record" in synced.stdout and ctgov.hits[f"/api/v2/studies/{NCT}"] == 1
    shown = _check(_run([trialmirror, "show", NCT], cwd=lookalikes, env=env))
    assert fx.current()["protocolSection"]["identificationModule"]["briefTitle"] in shown
    assert "COMPLETED" in shown and f"{NCT} [ctgov] version 1" in shown


def test_a_core_install_names_the_extra_a_command_needs(venv: Path, lookalikes: Path) -> None:
    env = _env(venv, lookalikes)
    trialmirror = venv / "bin" / "trialmirror"
    broker = {"TRIALMIRROR_BROKER_URL": "redis://127.0.0.1:9/0"}
    for args, extra, more in ((["serve"], "api", {}),
                              (["--database-url", "postgresql://nobody@127.0.0.1:9/none", "history", NCT],
                               "postgres", {}),
                              (["worker"], "distributed", broker), (["run", "--once"], "distributed", broker)):
        done = _run([trialmirror, *args], cwd=lookalikes, env={**env, **more})
        assert done.returncode == 2 and done.stdout == "", (args, done.stderr)
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert f"pip install 'trialmirror[{extra}]'" in done.stderr


def _without(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """As if these modules were not installed (and ours that import them not yet imported)."""
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "trialmirror.schedules.tasks", raising=False)


def test_parquet_without_pyarrow_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, settings,
                                                        tmp_path: Path) -> None:
    _without(monkeypatch, "pyarrow")
    folder = tmp_path / "tables"
    result = CliRunner().invoke(main, ["export", "--format", "parquet", "-o", str(folder)],
                                env={"TRIALMIRROR_DATABASE_URL": settings.database_url})
    assert result.exit_code == 2
    assert result.stderr == ("error: export --format parquet needs pyarrow, which is not "
                             "installed: pip install 'trialmirror[parquet]'\n")
    assert not folder.exists()  # refused before anything was written


def test_sync_to_a_broker_without_celery_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch,
                                                                settings) -> None:
    _without(monkeypatch, "celery")
    env = {"TRIALMIRROR_DATABASE_URL": settings.database_url,
           "TRIALMIRROR_BROKER_URL": "redis://127.0.0.1:9/0"}
    result = CliRunner().invoke(main, ["sync", NCT], env=env)  # (worker and run: in a core install above)
    assert result.exit_code == 2, result.output
    assert result.stderr == ("error: distributed mode (TRIALMIRROR_BROKER_URL) needs celery, which is not "
                             "installed: pip install 'trialmirror[distributed]'\n")
