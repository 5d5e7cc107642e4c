"""ClinicalTrials.gov record history (internal, undocumented endpoints).

- ``GET {base}/api/int/studies/{nctId}/history``: the version list. Each entry
  has ``version`` (from 0), ``date`` (when that version was posted), ``status``
  and ``moduleLabels``; more keys may come. Seen wrapped as
  ``{"history": {"changes": [...]}}`` (with ``?history=true``) and as a bare
  list or ``{"changes": [...]}``; all three are read.
- ``GET {base}/api/int/studies/{nctId}/history/{n}``: one version,
  ``{"studyVersion": n, "study": {...}}``, the study in the API v2 shape but its
  text fields in HTML with entities (``<p>``, ``<ul><li>``, ``&#x2F;``), which
  trialmirror.ingest.parsing.text turns into the same canonical text as API v2's Markdown.

Quirks: search parameters make the site wrap matching words in
``<mark class="hl-term">``, so none are sent (the markup is dropped anyway).
The endpoints can change without notice: every key this code reads is checked,
and a missing one is a LayoutChangedError naming the key and the URL; no
version is written from a payload that fails the check (the canary).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from trialmirror.ingest.errors import LayoutChangedError, ParseError
from trialmirror.ingest.http import Fetched, Http
from trialmirror.ingest.settings import Settings
from trialmirror.ingest.sources import ctgov
from trialmirror.ingest.sources.base import Known, source_of
from trialmirror.models.record import Record

NAME = "ctgov_history"
LABEL = "ClinicalTrials.gov record history"
PARSER_VERSION = ctgov.PARSER_VERSION  # the study inside is read by the ctgov parser
validate_id = ctgov.validate_id


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    date: str  # ISO date the version was posted: the version's valid_from
    status: str | None
    module_labels: tuple[str, ...]


def url(settings: Settings, registry_id: str, known: Known | None = None) -> str:
    return f"{settings.ctgov_history_base_url}/api/int/studies/{registry_id}/history"


def version_url(settings: Settings, registry_id: str, number: int) -> str:
    return f"{url(settings, registry_id)}/{number}"


def _get(http: Http, target: str, registry_id: str, etag: str | None = None,
         last_modified: str | None = None) -> Fetched:
    return http.get(target, source=NAME, registry_id=registry_id, label=LABEL, etag=etag,
                    last_modified=last_modified)


def fetch(http: Http, settings: Settings, registry_id: str, *, target: str | None = None,
          etag: str | None = None, last_modified: str | None = None) -> Fetched:
    """The version list."""
    return _get(http, target or url(settings, registry_id), registry_id, etag=etag,
                last_modified=last_modified)


def fetch_version(http: Http, settings: Settings, registry_id: str, number: int) -> Fetched:
    return _get(http, version_url(settings, registry_id, number), registry_id)


def _shape(reason: str, registry_id: str, target: str | None) -> LayoutChangedError:
    return LayoutChangedError(f"the history endpoint's JSON no longer has the shape this code "
                              f"reads: {reason}", source=NAME, registry_id=registry_id, url=target)


def _decode(raw: bytes, registry_id: str, target: str | None) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"malformed JSON ({exc})", field_path="$", source=NAME,
                         registry_id=registry_id, url=target) from exc


def parse_list(raw: bytes, registry_id: str, *, url: str | None = None) -> list[HistoryEntry]:
    """Pure: the version-list payload -> its entries, oldest first (checked shape)."""
    doc = _decode(raw, registry_id, url)
    changes = doc
    if isinstance(doc, dict):
        history = doc.get("history", doc)
        changes = history.get("changes") if isinstance(history, dict) else None
        if changes is None:
            raise _shape("no key 'changes' (nor 'history.changes')", registry_id, url)
    if not isinstance(changes, list):
        raise _shape(f"'changes' is {type(changes).__name__}, not a list", registry_id, url)
    entries = []
    for i, change in enumerate(changes):
        if not isinstance(change, dict):
            raise _shape(f"changes[{i}] is {type(change).__name__}, not an object", registry_id, url)
        for key, kind in (("version", int), ("date", str)):
            if not isinstance(change.get(key), kind) or isinstance(change.get(key), bool):
                raise _shape(f"changes[{i}] has no {kind.__name__} '{key}'", registry_id, url)
        labels = change.get("moduleLabels") or []
        entries.append(HistoryEntry(change["version"], change["date"], change.get("status"),
                                    tuple(str(label) for label in labels)))
    entries.sort(key=lambda e: e.version)
    if [e.version for e in entries] != list(range(len(entries))):
        raise _shape(f"versions are {[e.version for e in entries]}, not 0..{len(entries) - 1}",
                     registry_id, url)
    return entries


def parse(raw: bytes, registry_id: str, *, url: str | None = None) -> Record:
    """Pure: one version payload ``{studyVersion, study}`` -> the normalized record."""
    doc = _decode(raw, registry_id, url)
    if not isinstance(doc, dict):
        raise _shape(f"the payload is {type(doc).__name__}, not an object", registry_id, url)
    if not isinstance(doc.get("studyVersion"), int):
        raise _shape("no integer 'studyVersion'", registry_id, url)
    study = doc.get("study")
    if not isinstance(study, dict) or not isinstance(study.get("protocolSection"), dict):
        raise _shape("no 'study.protocolSection' object", registry_id, url)
    return ctgov.parse_document(study, registry_id, url=url, source=NAME, markup="html")


SOURCE = source_of(globals())
