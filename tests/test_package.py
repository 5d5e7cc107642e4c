"""The package root: its version, and the guard against a compiled module older than its source."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import trialmirror
from trialmirror import _refuse_stale_builds


def _package(root: Path, *, checkout: bool) -> Path:
    """A package folder like trialmirror/ with one compiled module beside its source,
    the build older than the source (as an edit after `pip install -e .` leaves it)."""
    if checkout:
        (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    package, parsing = root / "trialmirror", root / "trialmirror" / "ingest"
    parsing.mkdir(parents=True)
    built, source = parsing / "text.cpython-311-x86_64-linux-gnu.so", parsing / "text.py"
    built.write_bytes(b"")
    source.write_text("")
    os.utime(built, (1_000_000, 1_000_000))
    os.utime(source, (2_000_000, 2_000_000))
    return package


def test_a_checkout_refuses_a_build_older_than_its_source(tmp_path: Path) -> None:
    with pytest.raises(ImportError, match=r"text\.cpython-311-x86_64-linux-gnu\.so is older than .*text\.py: "
                                          r"rebuild it with `pip install -e \.`"):
        _refuse_stale_builds(_package(tmp_path, checkout=True))


def test_an_installed_package_is_never_refused_whatever_the_file_times(tmp_path: Path) -> None:
    # pip unpacks a wheel's files in any order: a .so may well be older than its .py there.
    _refuse_stale_builds(_package(tmp_path, checkout=False))


def test_the_version_is_the_distribution_s() -> None:
    from importlib.metadata import version

    assert trialmirror.__version__ == version("trialmirror")
    done = subprocess.run([sys.executable, "-m", "trialmirror", "--version"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"trialmirror, version {trialmirror.__version__}"
