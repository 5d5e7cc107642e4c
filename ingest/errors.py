"""The error tree, by what the caller does next (Singer/dlt style)::

    TrialmirrorError                  family
    ├── ConfigError                   config        fix the settings or the command
    │   ├── InvalidIdError            invalid_id    refused before any request
    │   └── UnknownSourceError        config        lists the valid source names
    ├── RetryLaterError               retry_later   429, 5xx, timeout, reset, truncated body
    ├── GiveUpError                   give_up       other 4xx, oversized body
    │   ├── NotFoundError             not_found     the source has no such record
    │   └── LayoutChangedError        layout_changed  the source's page or JSON changed shape
    └── ParseError                    parse         malformed payload or unexpected shape

Each error names the source, the record, the URL or field path, and what to do.
A run counts these per record; none of them stops the other records.
"""

from __future__ import annotations


class TrialmirrorError(Exception):
    family = "error"
    hint = ""

    def __init__(self, reason: str, *, source: str | None = None, registry_id: str | None = None,
                 url: str | None = None, http_status: int | None = None):
        self.reason = reason
        self.source = source
        self.registry_id = registry_id
        self.url = url
        self.http_status = http_status
        super().__init__(self.message())

    def message(self) -> str:
        where = " ".join(p for p in (self.source and f"[{self.source}]", self.registry_id) if p)
        text = f"{where}: {self.reason}" if where else self.reason
        if self.url:
            text += f" ({self.url})"
        return f"{text}. {self.hint}" if self.hint else text


class ConfigError(TrialmirrorError):
    family = "config"
    hint = "Check the command line and TRIALMIRROR_* settings."


class InvalidIdError(ConfigError):
    family = "invalid_id"
    hint = "ClinicalTrials.gov ids look like NCT01342250 (NCT and 8 digits)."


class UnknownSourceError(ConfigError):
    pass


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
