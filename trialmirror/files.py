"""Files written whole or not at all: under a temporary name beside the final one, renamed
onto it when complete (readers see the old file or the new one, never half of one).

The temporary file gets the permissions an ordinary new file gets (0666 less the umask,
not mkstemp's 0600: exports and the Atom feed are for others to read), or those of the
file it replaces.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def temporary_beside(final: Path) -> tuple[Path, int]:
    """A new file beside ``final`` (same folder: the rename stays on one file system) and
    its descriptor."""
    temp = final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    if final.exists():
        os.fchmod(fd, stat.S_IMODE(final.stat().st_mode))
    return temp, fd


def finish(temp: Path, final: Path, handle: IO[bytes]) -> None:
    """The data on disk before its name is, then the rename."""
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(temp, final)


@contextmanager
def replaced(final: Path) -> Iterator[IO[bytes]]:
    """``final`` written whole when the block ends well; nothing of it when it does not."""
    temp, fd = temporary_beside(final)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            finish(temp, final, out)
    finally:
        temp.unlink(missing_ok=True)
