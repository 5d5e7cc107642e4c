"""The layout is the architecture: layers point one way and nothing imports in a circle.

The contracts live in pyproject.toml ([tool.importlinter]); import-linter reads the
imports of the installed package the way Python resolves them.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_layers_point_one_way_and_nothing_imports_in_a_circle():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
