"""``python -m trialmirror.store.migrations SUBCOMMAND ...``: Alembic's own command line on
the store's migrations, configured as the store configures them (for developers: no
alembic.ini). ``-x url=...`` names the database, else TRIALMIRROR_DATABASE_URL."""

from __future__ import annotations

import sys

from alembic.config import CommandLine

from trialmirror.store import schema


def main(argv: list[str] | None = None) -> None:
    line = CommandLine(prog="python -m trialmirror.store.migrations")
    options = line.parser.parse_args(argv if argv is not None else sys.argv[1:])
    if not hasattr(options, "cmd"):
        line.parser.error("too few arguments")
    cfg = schema.config()
    cfg.cmd_opts = options
    cfg.stdout = sys.stdout  # Config's default is the sys.stdout of when alembic was imported
    line.run_cmd(cfg, options)


if __name__ == "__main__":
    main()
