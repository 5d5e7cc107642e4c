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

A sync of this source is a backfill: ``captures`` yields the version list, then
each version not stored yet, oldest first, with its date as ``valid_from`` and
``produced_by="backfill"``. The pipeline stops a record at its first failure, so
the chain of diffs never skips a version; the next run starts there, and a run
over a complete record fetches the list and nothing else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from trialmirror.errors import LayoutChangedError, ParseError, TrialmirrorError
from trialmirror.ingest.http import Fetched, Http
from trialmirror.ingest.sources import ctgov
from trialmirror.ingest.sources.base import Capture, Known, source_of
from trialmirror.models.record import Record
from trialmirror.settings import Settings

NAME = "ctgov_history"
LABEL = "ClinicalTrials.gov record history"
ROLE = "registry"
RANK = 0  # the record's past: on the same day the live record (ctgov) is newer
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


def _get(http: Http, target: str, registry_id: str) -> Fetched:
    return http.get(target, source=NAME, registry_id=registry_id, label=LABEL)


def captures(http: Http, settings: Settings, known: Known) -> Iterator[Capture]:
    """The version list, then each version not stored yet, oldest first."""
    registry_id = known.registry_id
    listed = _get(http, url(settings, registry_id, known), registry_id)
    listing = Capture.of(listed)
    try:
        entries = parse_list(listed.body, registry_id, url=listed.url)
    except TrialmirrorError as exc:  # archived and logged with the error; nothing follows
        yield dataclasses.replace(listing, listing=True, error=exc)
        return
    todo = [e for e in entries if e.version not in known.stored_versions]
    yield dataclasses.replace(listing, listing=True, follow=len(todo))
    for entry in todo:
        fetched = _get(http, version_url(settings, registry_id, entry.version), registry_id)
        yield Capture.of(fetched, valid_from=entry.date, upstream_version=entry.version,
                         produced_by="backfill")


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
