"""From the wire to the store: HTTP, sources, parsing helpers, diff, store, pipeline."""

from pathlib import Path

# Modules setup.py may compile with mypyc. A compiled module is imported in
# preference to its source, so after an edit an old build would run silently:
# refuse that instead.
_COMPILED = ("text.py", "criteria.py", "sources/ctgov.py", "abbrev.py")


def _refuse_stale_builds() -> None:
    here = Path(__file__).parent
    for name in _COMPILED:
        source = here / name
        for built in source.parent.glob(f"{source.stem}.*.so"):
            if built.stat().st_mtime < source.stat().st_mtime:
                raise ImportError(
                    f"{built} is older than {source}: rebuild it with `pip install -e .`, or "
                    f"delete the compiled modules (ingest/**/*.so) to run the pure-Python source")


_refuse_stale_builds()
