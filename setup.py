"""Optional compiled modules: a speed-up, never a requirement.

mypyc compiles the parser's hot pure-Python modules to C extensions (measured:
a fifth fewer instructions per parse). Everything else comes from
pyproject.toml. If mypyc or a C compiler is missing, or the build fails, the
package installs as pure Python and behaves the same. Set
TRIALMIRROR_PURE_PYTHON=1 to skip compiling.
"""

from __future__ import annotations

import os

from setuptools import setup
from setuptools.command.build_ext import build_ext

# Paths through trialmirror/, so that mypyc names the modules trialmirror.ingest.… .
COMPILED = ["trialmirror/ingest/parsing/text.py", "trialmirror/ingest/parsing/criteria.py",
            "trialmirror/ingest/sources/ctgov/parser.py", "trialmirror/store/abbrev.py"]
# The shared library mypyc builds for them lives inside the package too.
GROUP = "trialmirror._native"


class OptionalBuildExt(build_ext):
    """Builds the compiled modules, or none of them: a partial set would not import."""

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


def _extensions() -> list:
    if os.environ.get("TRIALMIRROR_PURE_PYTHON"):
        return []
    try:
        from mypyc.build import mypycify

        return mypycify(COMPILED, opt_level="3", group_name=GROUP)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - mypyc missing, or it refuses the code
        print(f"trialmirror: mypyc unavailable ({exc}); installing pure Python")
        return []


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
