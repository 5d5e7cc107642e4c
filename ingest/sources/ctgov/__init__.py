"""ClinicalTrials.gov API v2: ``GET {base}/api/v2/studies/{nctId}``, the registry's live record.

The parser is :mod:`.parser` (pure, compiled by mypyc when available); the paged
search that bulk sync reads is :mod:`.search`.
"""

from __future__ import annotations

from trialmirror.errors import InvalidIdError
from trialmirror.ingest.http import Fetched, Http
from trialmirror.ingest.sources.base import Known, source_of
from trialmirror.ingest.sources.ctgov.parser import NAME, PARSER_VERSION, parse, parse_document
from trialmirror.models.record import NCT_ID
from trialmirror.settings import Settings

__all__ = ["LABEL", "NAME", "PARSER_VERSION", "RANK", "ROLE", "SOURCE", "fetch", "parse", "parse_document",
           "url", "validate_id"]

LABEL = "ClinicalTrials.gov"
ROLE = "registry"
RANK = 1  # the live record: newer than the history's version of the same day


def validate_id(registry_id: str) -> str:
    candidate = registry_id.strip().upper()
    if not NCT_ID.fullmatch(candidate):
        raise InvalidIdError(f"{registry_id!r} is not a ClinicalTrials.gov id", source=NAME,
                             registry_id=registry_id)
    return candidate


def url(settings: Settings, registry_id: str, known: Known | None = None) -> str:
    return f"{settings.ctgov_base_url}/api/v2/studies/{registry_id}"


def fetch(http: Http, settings: Settings, registry_id: str, *, target: str | None = None,
          etag: str | None = None, last_modified: str | None = None) -> Fetched:
    return http.get(target or url(settings, registry_id), source=NAME, registry_id=registry_id,
                    label=LABEL, etag=etag, last_modified=last_modified)


SOURCE = source_of(globals())
