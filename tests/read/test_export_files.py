"""An export that cannot be written is one line naming the file and what to do, exit 2,
and leaves nothing half-written: no partial file, no older export overwritten.

Real refusals from the system, no file system of our own: ``/dev/full`` (a device that
answers every write "No space left on device"), a folder that does not exist, and a
file-size limit (``RLIMIT_FSIZE``, with SIGXFSZ ignored: a write past it fails with
"File too large") that stops an export half-way through, as a full disk would.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.storage import cli_stores_closed, fill, fill_many, one_line, run

__all__ = ["cli_stores_closed"]
ROOT = Path(__file__).resolve().parents[2]
LIMIT = 40_000  # bytes a file may have in the limited process (SQLite's -shm needs 32 KiB)
pytestmark = pytest.mark.usefixtures("cli_stores_closed")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = (f"sqlite:///{tmp_path / 'db' / 'store.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("postgres_url")))
    (tmp_path / "db").mkdir()
    fill(url)
    return url


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("fmt", ["ndjson", "es-bulk"])
def test_an_export_into_a_folder_that_does_not_exist_is_one_line(url, tmp_path, fmt):
    target = tmp_path / "no" / "such" / "x.nd"
    result = run(url, "export", "--format", fmt, "-o", str(target))
    assert result.exit_code == 2
    line = one_line(result)
    assert f"the folder {target.parent} does not exist" in line
    assert not (tmp_path / "no").exists()


def test_tables_onto_a_file_are_one_line_and_leave_the_file_alone(url, tmp_path):
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    result = run(url, "export", "--format", "csv", "-o", str(passwd))
    assert result.exit_code == 2
    assert "it is a file" in one_line(result) and "give a folder" in one_line(result)
    assert passwd.read_text() == "root:x:0:0:root:/root:/bin/bash\n"
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("fmt", ["ndjson", "es-bulk"])
def test_an_export_onto_a_full_device_is_one_line(url, fmt):
    result = run(url, "export", "--format", fmt, "-o", "/dev/full")
    assert result.exit_code == 2
    line = one_line(result)
    assert "cannot write /dev/full: the disk is full (No space left on device)" in line


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_an_export_to_a_full_standard_output_is_one_line(url):
    with open("/dev/full", "wb") as full:
        result = subprocess.run([sys.executable, "-m", "trialmirror", "export", "--format", "ndjson"],
                                env={**_env(url)}, cwd=ROOT, stdout=full, stderr=subprocess.PIPE,
                                text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot write standard output: the disk is full")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIALMIRROR_")}
    return {**env, "TRIALMIRROR_DATABASE_URL": url, "COLUMNS": "200"}


def _limited() -> None:
    """In the child: files stop at LIMIT bytes, and a write past it fails (EFBIG)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _export_limited(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trialmirror", "export", *args], env=_env(url), cwd=ROOT,
                          capture_output=True, text=True, timeout=120, preexec_fn=_limited)


def test_an_export_stopped_half_way_leaves_the_older_file_whole(url, tmp_path):
    fill_many(url, 40)  # ~200 kB of NDJSON: the limit stops it after a few records
    older = tmp_path / "trials.nd"
    older.write_text('{"an": "older export"}\n')
    result = _export_limited(url, "--format", "ndjson", "-o", str(older))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: cannot write {older}: the file would be larger than allowed")
    assert "nothing was written" in result.stderr and "Traceback" not in result.stderr
    assert older.read_text() == '{"an": "older export"}\n'
    assert _leftovers(tmp_path) == []
    complete = run(url, "export", "--format", "ndjson", "-o", str(older))  # no limit: the whole export
    assert complete.exit_code == 0
    assert len([json.loads(line) for line in older.read_text().splitlines()]) == 41


def test_tables_stopped_half_way_leave_no_table_behind(url, tmp_path):
    fill_many(url, 40)  # study.csv outgrows the limit
    folder = tmp_path / "tables"
    result = _export_limited(url, "--format", "csv", "-o", str(folder))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: cannot write {folder}: the file would be larger than allowed")
    assert not folder.exists()  # made for the export, removed with it
    folder.mkdir()
    (folder / "study.csv").write_text("an,older,table\n")
    again = _export_limited(url, "--format", "csv", "-o", str(folder))
    assert again.returncode == 2
    assert sorted(p.name for p in folder.iterdir()) == ["study.csv"]  # no partial table, no temp file
    assert (folder / "study.csv").read_text() == "an,older,table\n"


def test_an_export_replaces_a_file_whole_with_its_permissions(url, tmp_path):
    target = tmp_path / "trials.nd"
    target.write_text("old\n")
    target.chmod(0o640)
    assert run(url, "export", "--format", "ndjson", "-o", str(target)).exit_code == 0
    assert json.loads(target.read_text())["registry_id"] == "NCT01342250"
    assert target.stat().st_mode & 0o777 == 0o640
    assert _leftovers(tmp_path) == []
