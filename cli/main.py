"""The ``trialmirror`` command: the shared group of :mod:`trialmirror.cli.app` with every
command family registered on it (importing a family registers its commands)."""

from trialmirror.cli import (  # noqa: F401
    check_cmds,
    db_cmds,
    read_cmds,
    record_cmds,
    reporting_cmds,
    service_cmds,
    sync_cmds,
)
from trialmirror.cli.app import app as main

__all__ = ["main"]
