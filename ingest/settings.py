"""One validated settings object, loaded once at start-up and passed down.

Every setting can be given as an environment variable ``TRIALMIRROR_<NAME>``
(``TRIALMIRROR_DATABASE_URL``, ``TRIALMIRROR_CTGOV_BASE_URL`` ...). Nothing
reads the environment at import time.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_URL = "https://github.com/trialmirror/trialmirror"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIALMIRROR_", extra="ignore")

    database_url: str = "sqlite:///trialmirror.db"
    watchlist: str = Field("NCT01342250", description="Comma- or space-separated registry ids")
    ctgov_base_url: str = "https://clinicaltrials.gov"
    ctgov_history_base_url: str = "https://clinicaltrials.gov"
    ctv_base_url: str = "https://ctv.veeva.com"
    ictrp_base_url: str = "https://trialsearch.who.int"
    # {"ctv": {"NCT01342250": "https://ctv.veeva.com/study/..."}}: a mirror page whose
    # address cannot be derived (a slug the site made differently), or a path on the base.
    pinned_urls: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="JSON: {source: {registry id: URL or path}}")

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

    @field_validator("ctgov_base_url", "ctgov_history_base_url", "ctv_base_url", "ictrp_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def watchlist_ids(self) -> list[str]:
        return [i for i in re.split(r"[\s,;]+", self.watchlist) if i]

    def pinned_url(self, source: str, registry_id: str) -> str | None:
        return self.pinned_urls.get(source, {}).get(registry_id)

    def base_url(self, source: str) -> str:
        value = getattr(self, f"{source}_base_url", None)
        if not isinstance(value, str):
            raise AttributeError(f"no base URL setting for source {source!r}")
        return value
