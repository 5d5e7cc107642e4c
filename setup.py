"""Optional compiled modules: a speed-up, never a requirement.

mypyc compiles the parser's hot pure-Python modules to C extensions (measured:
a fifth fewer instructions per parse). Everything else comes from
pyproject.toml. If mypyc or a C compiler is missing, or the build fails, the
package installs as pure Python and behaves the same. Set
TRIALMIRROR_PURE_PYTHON=1 to skip compiling.
"""

from __future__ import annotations

import importlib.util
import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# Paths through trialmirror/, so that mypyc names the modules trialmirror.ingest.… .
COMPILED = ["trialmirror/ingest/parsing/text.py", "trialmirror/ingest/parsing/criteria.py",
            "trialmirror/ingest/parsing/fields.py", "trialmirror/ingest/parsing/dates.py",
            "trialmirror/models/vocab.py",
            "trialmirror/ingest/sources/ctgov/parser.py", "trialmirror/ingest/sources/ctgov/doc.py",
            "trialmirror/ingest/sources/ctgov/sections.py", "trialmirror/ingest/sources/ctgov/results.py",
            "trialmirror/ingest/parsing/numbers.py", "trialmirror/store/abbrev.py",
            "trialmirror/store/canonical.py"]
# The shared library mypyc builds for them lives inside the package too.
GROUP = "trialmirror._native"
# Stands in for the compiled modules until build_ext runs mypyc (see OptionalBuildExt).
STAND_IN = Extension(f"{GROUP}__mypyc", sources=[])
# The commands that build extensions; an sdist or the metadata only asks build_ext its sources.
BUILDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}


class OptionalBuildExt(build_ext):
    """Builds the compiled modules, or none of them: a partial set would not import.

    mypyc runs only when a command builds the extensions, not whenever setup.py is
    loaded: a wheel build loads it three times (requirements, metadata, wheel), an
    sdist once, and mypyc type-checks the modules each time it runs (about 10 s).
    """

    def finalize_options(self) -> None:
        if self.distribution.ext_modules == [STAND_IN]:
            building = BUILDS.intersection(self.distribution.commands)
            self.distribution.ext_modules = _mypycify() if building else []
        super().finalize_options()

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any failure means: pure Python
            print(f"trialmirror: compiled modules skipped ({exc.__class__.__name__}: {exc}); "
                  "installing pure Python")
            for path in self.get_outputs():
                if os.path.exists(path):
                    os.remove(path)
            self.extensions = []


def _mypycify() -> list[Extension]:
    try:
        from mypyc.build import mypycify

        # The modules it follows are checked by the project's own mypy run; here only the
        # compiled ones may stop the build.
        return mypycify(["--follow-imports=silent", *COMPILED], opt_level="3", group_name=GROUP)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - mypyc refuses the code: pure Python
        print(f"trialmirror: mypyc failed ({exc}); installing pure Python")
        return []


def _extensions() -> list[Extension]:
    """A stand-in that makes setuptools run build_ext (and tag the wheel for this
    platform); OptionalBuildExt replaces it with what mypyc makes."""
    if os.environ.get("TRIALMIRROR_PURE_PYTHON") or importlib.util.find_spec("mypyc") is None:
        return []
    return [STAND_IN]


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
