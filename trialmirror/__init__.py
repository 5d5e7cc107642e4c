"""trialmirror: clinical-trial registry records, fetched politely, normalized, versioned, diffed.

The one import name of the distribution. The repository keeps the design card's folders
(``ingest/``, ``models/``, ``schedules/``, ...) at its top; this folder links them in, so
``trialmirror.ingest`` is ``ingest/`` (see the README's layout section). What every layer
shares sits here: :mod:`trialmirror.settings` (the one validated settings object) and
:mod:`trialmirror.errors` (the error tree).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("trialmirror")
except PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"


def _refuse_stale_builds(package: Path) -> None:
    """In a source checkout, refuse a compiled module older than its source.

    A compiled module is imported in preference to its source, so after an edit an old
    build would run silently. Only an editable install can be stale: pip unpacks a wheel's
    files in any order, so there the times mean nothing, and nobody edits them.
    """
    if not (package.resolve().parent / "pyproject.toml").is_file():
        return
    folders = [child.resolve() for child in package.iterdir() if child.is_dir()]
    for built in (so for folder in folders for so in folder.glob("**/*.so")):
        source = built.with_name(built.name.split(".", 1)[0] + ".py")
        if source.is_file() and built.stat().st_mtime < source.stat().st_mtime:
            raise ImportError(
                f"{built} is older than {source}: rebuild it with `pip install -e .`, or delete "
                "the compiled modules (`find . -name '*.so' -not -path './.venv/*' -delete`) to "
                "run the pure-Python source")


_refuse_stale_builds(Path(__file__).parent)
