"""The error tree, by what the caller does next (Singer/dlt style)::

    TrialmirrorError                  family
    ├── ConfigError                   config        fix the settings or the command
    │   ├── InvalidIdError            invalid_id    refused before any request
    │   ├── UnknownSourceError        config        lists the valid source names
    │   ├── InvalidQueryError         config        a search that cannot run: says why
    │   │   └── InvalidPlaceError     config        a place or distance that is none (near, within)
    │   └── MissingExtraError         config        an optional dependency: names the extra
    ├── RetryLaterError               retry_later   429, 5xx, timeout, reset, truncated body
    ├── GiveUpError                   give_up       other 4xx, oversized body
    │   ├── NotFoundError             not_found     the source has no such record
    │   └── LayoutChangedError        layout_changed  the source's page or JSON changed shape
    └── ParseError                    parse         malformed payload or unexpected shape

    StorageError                      storage       the store's own disk or database: stops the command

Each error names the source, the record, the URL or field path, and what to do;
a URL's password never shows (:func:`trialmirror.urls.masked`).
A run counts these per record; none of them stops the other records.

:class:`StorageError` stands apart from the tree on purpose: every handler of one
record's failure catches :class:`TrialmirrorError` and goes on to the next record,
but a full disk, a read-only or damaged database fails every record alike, so it
must stop the command with one line (exit 2) instead of being counted per record.
"""

from __future__ import annotations

import importlib

from trialmirror.urls import masked


class TrialmirrorError(Exception):
    family = "error"
    hint = ""

    def __init__(self, reason: str, *, source: str | None = None, registry_id: str | None = None,
                 url: str | None = None, http_status: int | None = None, attempts: int | None = None):
        self.reason = reason
        self.source = source
        self.registry_id = registry_id
        self.url = url
        self.http_status = http_status
        self.attempts = attempts  # requests made before it (the fetch log's attempts)
        super().__init__(self.message())

    def message(self) -> str:
        where = " ".join(p for p in (self.source and f"[{self.source}]", self.registry_id) if p)
        text = f"{where}: {self.reason}" if where else self.reason
        if self.url:
            text += f" ({self.url})"
        return masked(f"{text}. {self.hint}" if self.hint else text)


class ConfigError(TrialmirrorError):
    family = "config"
    hint = "Check the command line and TRIALMIRROR_* settings."


class InvalidIdError(ConfigError):
    family = "invalid_id"
    hint = "ClinicalTrials.gov ids look like NCT01342250 (NCT and 8 digits)."


class UnknownSourceError(ConfigError):
    pass


class InvalidQueryError(ConfigError):
    """A search query or filter that cannot be run as given (the message says why and,
    for a filter, lists the valid values)."""

    hint = ""


class InvalidPlaceError(InvalidQueryError):
    """A search's place or distance (``near LAT,LON``, ``within KM``) that is not one, or
    one given without the other: a malformed parameter (the API answers 422)."""


class MissingExtraError(ConfigError):
    """A way of running needs an optional dependency that is not installed; the core
    install is the CLI on SQLite, the extras add the rest."""

    hint = ""

    def __init__(self, module: str, extra: str, needed_for: str):
        self.module = module
        self.extra = extra
        super().__init__(f"{needed_for} needs {module}, which is not installed: "
                         f"pip install 'trialmirror[{extra}]'")


def require_extra(extra: str, *modules: str, needed_for: str) -> None:
    """Import optional dependencies now, or raise MissingExtraError naming the extra."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] != module.partition(".")[0]:
                raise  # installed, but something it needs is not: not ours to name
            raise MissingExtraError(module, extra, needed_for) from exc


class RetryLaterError(TrialmirrorError):
    family = "retry_later"
    hint = "Transient: the next run retries it."


class GiveUpError(TrialmirrorError):
    family = "give_up"
    hint = "Retrying will not help until the source or the request changes."


class NotFoundError(GiveUpError):
    family = "not_found"
    hint = "Check the id; a withdrawn or merged record may live on under another id."


class LayoutChangedError(GiveUpError):
    family = "layout_changed"
    hint = ("The source changed what it sends; nothing was stored. The code that reads it "
            "needs an update.")


class ParseError(TrialmirrorError):
    family = "parse"
    hint = "The raw payload is archived; report it with this message, or run reparse after a fix."

    def __init__(self, reason: str, *, field_path: str | None = None, **kwargs: object):
        self.field_path = field_path
        self.detail = reason  # the reason without the path, to rebuild the error elsewhere
        if field_path:
            reason = f"{reason} at {field_path}"
        super().__init__(reason, **kwargs)  # type: ignore[arg-type]


class StorageError(Exception):
    """The store's own disk or database failed: full, read-only, damaged, missing or
    unreadable; or an export's file cannot be written. The message names the file and
    what to do. ``kind``: ``full``, ``read_only``, ``damaged``, ``missing``, ``cannot_open``,
    ``io``."""

    family = "storage"

    def __init__(self, message: str, *, kind: str, path: str | None = None):
        self.kind, self.path = kind, path
        super().__init__(message)
