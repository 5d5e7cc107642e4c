"""``python -m trialmirror``: the ``trialmirror`` command."""

from trialmirror.cli.main import main

main(prog_name="trialmirror")
