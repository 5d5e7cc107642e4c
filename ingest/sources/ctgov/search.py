"""ClinicalTrials.gov's paged search, what bulk sync reads (see trialmirror.ingest.runs.bulk).

``GET {base}/api/v2/studies?pageSize=1000&countTotal=true&sort=LastUpdatePostDate:asc``
with ``query.term`` for a search and ``filter.advanced=AREA[LastUpdatePostDate]RANGE[<since>,<until>]``
for a date window (both ends inclusive); later pages repeat the first page's
parameters plus ``pageToken``. Quirks: tokens do not last (a refused one is HTTP
400, 404 or 410: go on by date instead); a page that is exactly full still has a
``nextPageToken`` leading to an empty page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from trialmirror.errors import GiveUpError, TrialmirrorError
from trialmirror.ingest.http import Http
from trialmirror.ingest.parsing.dates import is_iso
from trialmirror.ingest.sources.ctgov import LABEL, NAME
from trialmirror.models.record import NCT_ID
from trialmirror.settings import Settings

_REFUSED_TOKEN = (400, 404, 410)


@dataclass
class Page:
    url: str
    http_status: int
    studies: list[Any]
    total_count: int | None
    next_token: str | None
    attempts: int = 1


def page_url(settings: Settings, *, page_size: int, query: str | None = None, since: str | None = None,
             until: str | None = None, token: str | None = None) -> str:
    """A page of the search: ``since``/``until`` bound LastUpdatePostDate (None: open)."""
    params: dict[str, Any] = {"format": "json", "pageSize": page_size, "countTotal": "true",
                              "sort": "LastUpdatePostDate:asc"}
    if query:
        params["query.term"] = query
    if since or until:
        params["filter.advanced"] = f"AREA[LastUpdatePostDate]RANGE[{since or 'MIN'},{until or 'MAX'}]"
    if token:
        params["pageToken"] = token
    return f"{settings.ctgov_base_url}/api/v2/studies?{urlencode(params)}"


def fetch_page(http: Http, url: str) -> Page:
    fetched = http.get(url, source=NAME, registry_id=None, label=LABEL)  # JSON: or fetched again
    page = fetched.parsed  # read once, by the JSON check
    if page is None:
        try:
            page = orjson.loads(fetched.body)
        except orjson.JSONDecodeError as exc:
            raise GiveUpError(f"the search page is not JSON ({exc})", source=NAME, url=url) from exc
    if not isinstance(page, dict):
        raise GiveUpError("the search page is not a JSON object", source=NAME, url=url)
    total = page.get("totalCount")
    return Page(url, fetched.status, page.get("studies") or [], total if isinstance(total, int) else None,
                page.get("nextPageToken"), fetched.attempts)


def token_refused(exc: TrialmirrorError) -> bool:
    """Whether a failed page request means its page token expired (not the registry)."""
    return isinstance(exc, GiveUpError) and exc.http_status in _REFUSED_TOKEN


def _module(study: Any, name: str) -> dict[str, Any]:
    """A module of a page's study, or {} whatever shape the registry gave it."""
    proto = study.get("protocolSection") if isinstance(study, dict) else None
    module = proto.get(name) if isinstance(proto, dict) else None
    return module if isinstance(module, dict) else {}


def study_id(study: Any) -> str | None:
    """The study's id, when it is one (a page's word is not trusted to key the store)."""
    rid = _module(study, "identificationModule").get("nctId")
    return rid if isinstance(rid, str) and NCT_ID.fullmatch(rid) else None


def aliases(study: Any) -> list[str]:
    """Ids the study was registered under before (merged into it)."""
    found = _module(study, "identificationModule").get("nctIdAliases")
    found = [found] if isinstance(found, str) else found
    return [a for a in found if isinstance(a, str) and NCT_ID.fullmatch(a)] if isinstance(found, list) else []


def last_update(study: Any) -> str | None:
    struct = _module(study, "statusModule").get("lastUpdatePostDateStruct")
    date = struct.get("date") if isinstance(struct, dict) else struct
    return date if isinstance(date, str) and is_iso(date) else None


def study_bytes(study: Any) -> bytes:
    """One study of a page as the bytes its single-record capture would be parsed from."""
    return orjson.dumps(study)
