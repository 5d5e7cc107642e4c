"""One validated settings object, loaded once at start-up and passed down.

Every setting can be given as an environment variable ``TRIALMIRROR_<NAME>``
(``TRIALMIRROR_DATABASE_URL``, ``TRIALMIRROR_CTGOV_BASE_URL`` ...) or as a key of
an optional TOML file named by ``TRIALMIRROR_CONFIG`` (or ``--config``); the
environment wins over the file. Nothing reads the environment at import time.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from contextvars import ContextVar
from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from trialmirror.models.record import NCT_ID
from trialmirror.urls import http_url, page_url

PROJECT_URL = "https://github.com/trialmirror/trialmirror"
_CONFIG_FILE: ContextVar[Path | None] = ContextVar("trialmirror_config_file", default=None)
HOUR, DAY = 3600.0, 86400.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIALMIRROR_", extra="ignore")

    database_url: str = "sqlite:///trialmirror.db"
    search_dir: Path | None = Field(None, description=(
        "Where a PostgreSQL store's ranked search index lives (default: the user's cache "
        "folder); a SQLite store's lives beside its file"))
    watchlist: str = Field("NCT01342250", description="Comma- or space-separated registry ids")
    ctgov_base_url: str = "https://clinicaltrials.gov"
    ctgov_history_base_url: str = "https://clinicaltrials.gov"
    ctv_base_url: str = "https://ctv.veeva.com"
    ictrp_base_url: str = "https://trialsearch.who.int"
    # {"ctv": {"NCT01342250": "https://ctv.veeva.com/study/..."}}: a mirror page whose
    # address cannot be derived (a slug the site made differently), or a path on the base.
    pinned_urls: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="JSON: {source: {registry id: URL or path}}")

    # What the store keeps. Contacts are public registry data, kept as published; false
    # leaves personal contact details out of the store, its raw archive and the exports
    # (models/personal.py names the fields, ingest/parsing/personal.py the payload keys).
    personal_contacts: bool = Field(True, description="Keep names, phones and e-mails of contacts "
                                    "and the names of officials and the responsible party")

    # Politeness: one shared HTTP layer uses all of these.
    max_requests_per_second: float = Field(1.0, gt=0)
    contact: str = Field("", description="An e-mail or URL put in the User-Agent")
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(4, ge=0)
    backoff_factor: float = Field(1.0, ge=0)
    backoff_max: float = Field(120.0, ge=0)
    retry_after_max: int = Field(600, ge=0, description="Longest Retry-After honoured, seconds")
    max_response_bytes: int = Field(20_000_000, gt=0)
    rate_limit_storage: str = Field("memory://", description="Where the per-host rate limit is "
                                    "counted: memory:// (this process) or redis://host:port/db (shared)")

    # Distributed mode: with a broker, sync work is enqueued for Celery workers.
    broker_url: str | None = Field(None, description="amqp://... or redis://...; unset: in-process")
    bulk_page_size: int = Field(1000, ge=1, le=1000, description="Records per search page (sync --all)")
    writers: int = Field(2, ge=1, le=32, description="Threads that store a page's records on PostgreSQL "
                         "(SQLite has one writer)")

    # The scheduled service (trialmirror run).
    sources: str = Field("ctgov,ctgov_history,ctv,ictrp",
                         description="Sources a watched record is fetched from by default")
    ctgov_interval: float = Field(6 * HOUR, gt=0, description="Seconds between ctgov runs")
    ctgov_history_interval: float = Field(DAY, gt=0)
    ctv_interval: float = Field(DAY, gt=0)
    ictrp_interval: float = Field(DAY, gt=0)
    schedule_jitter: float = Field(60.0, ge=0, description="Up to this many seconds added to a run")
    misfire_grace_time: int = Field(3600, gt=0, description="A run this late still runs, seconds")
    lease_ttl: float = Field(900.0, gt=0, description="A fetch lease outlives a dead holder by this")
    # The canary (`trialmirror check`, and the service's daily check of every source).
    canary_id: str = Field("NCT01342250", description="The record `check` reads from every source")
    canary_interval: float = Field(DAY, ge=0, description="Seconds between the service's checks; "
                                   "0: the service does not check")
    # The database's integrity check (`trialmirror db check`).
    db_check_interval: float = Field(DAY, ge=0, description="Seconds between checks of the "
                                     "database's integrity: the service's, and on SQLite a writing "
                                     "command's; 0: never")
    stale_after: float | None = Field(None, gt=0, description="status: alarm after this many seconds "
                                      "without a success [default: 3 intervals of the source]")
    # Notifications, driven by the event log.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_max_attempts: int = Field(5, ge=1)
    atom_path: str | None = Field(None, description="File the Atom feed of notified events is written to")
    # Status changes, results posted, and the registry's FDAAA 801 / unposted-results notes:
    # the news monitors of trials act on (README "If you monitor status changes").
    notify_kinds: str = Field("status_change,results_posted,annotated,overdue", description="Event kinds that notify")
    notify_produced_by: str = Field("fetch", description="Versions made by these notify (not backfill)")
    notify_interval: float = Field(5.0, gt=0)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _CONFIG_FILE.get()
        if path is None:
            return init_settings, env_settings
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=path)

    @classmethod
    def load(cls, config_file: Path | None = None, **values: object) -> Settings:
        """The settings from the environment and, when one is named (``config_file``, else
        ``TRIALMIRROR_CONFIG``), a TOML file under it; ``values`` over both."""
        env_file = os.environ.get("TRIALMIRROR_CONFIG")
        path = config_file or (Path(env_file) if env_file else None)
        if path is None:
            return cls(**values)  # type: ignore[arg-type]
        if not path.is_file():
            raise ValueError(f"settings file {path} not found (TRIALMIRROR_CONFIG / --config)")
        cls._check_keys(path)
        token = _CONFIG_FILE.set(path)
        try:
            return cls(**values)  # type: ignore[arg-type]
        finally:
            _CONFIG_FILE.reset(token)

    @classmethod
    def _check_keys(cls, path: Path) -> None:
        """A key the settings do not know is an error naming it: a typo (``webhok_url``)
        ignored silently leaves the setting at its default, unnoticed. The environment is
        not checked so: other programs' variables share it."""
        try:
            keys = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"settings file {path}: cannot read it as TOML: {exc}") from exc
        known = sorted(cls.model_fields)
        for key in keys:
            if key not in cls.model_fields:
                guess = key.lower().removeprefix("trialmirror_")
                close = difflib.get_close_matches(guess, known, n=1, cutoff=0.75)
                hint = f"did you mean {close[0]!r}?" if close else "see docs/settings.md for every setting"
                raise ValueError(f"settings file {path}: unknown setting {key!r}; {hint}")

    def interval(self, source: str) -> float:
        return float(getattr(self, f"{source}_interval"))

    def source_names(self) -> list[str]:
        return [s for s in re.split(r"[\s,;]+", self.sources) if s]

    def notify_kind_set(self) -> frozenset[str]:
        return frozenset(k for k in re.split(r"[\s,;]+", self.notify_kinds) if k)

    def notify_produced_by_set(self) -> frozenset[str]:
        return frozenset(k for k in re.split(r"[\s,;]+", self.notify_produced_by) if k)

    @field_validator("ctgov_base_url", "ctgov_history_base_url", "ctv_base_url", "ictrp_base_url")
    @classmethod
    def _an_http_base_without_trailing_slash(cls, value: str, info: ValidationInfo) -> str:
        return http_url(value.strip(), _variable(info.field_name)).rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _an_http_webhook(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Posted to every round: a URL nothing can post to would fail every round, late.
        value = (value or "").strip()
        return http_url(value, _variable(info.field_name)) if value else None

    @field_validator("pinned_urls")
    @classmethod
    def _pinned_pages(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for source, pages in value.items():
            for registry_id, page in pages.items():
                page_url(page, f"{_variable('pinned_urls')} {source} {registry_id}")
        return value

    @field_validator("canary_id")
    @classmethod
    def _canary_is_a_registry_id(cls, value: str) -> str:
        # Every source keys its records by the registry's id; a wrong one would fail them all.
        candidate = value.strip().upper()
        if not NCT_ID.fullmatch(candidate):
            raise ValueError(f"{value!r} is not a ClinicalTrials.gov id (NCT and eight digits)")
        return candidate

    def watchlist_ids(self) -> list[str]:
        return [i for i in re.split(r"[\s,;]+", self.watchlist) if i]

    def pinned_url(self, source: str, registry_id: str) -> str | None:
        return self.pinned_urls.get(source, {}).get(registry_id)

    def base_url(self, source: str) -> str:
        value = getattr(self, f"{source}_base_url", None)
        if not isinstance(value, str):
            raise AttributeError(f"no base URL setting for source {source!r}")
        return value


def _variable(field_name: str | None) -> str:
    """The environment variable of a setting, as error messages name it."""
    return f"TRIALMIRROR_{(field_name or '').upper()}"
