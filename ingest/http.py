"""The one HTTP layer every source uses (sources never build a session).

- timeouts: connect and read, from settings;
- retries: urllib3's ``Retry`` on 429, 500, 502, 503, 504 and connection or read
  errors, exponential backoff with jitter, ``Retry-After`` honoured up to
  ``retry_after_max`` seconds;
- a per-host rate limit (``limits``' moving window), default 1 request/s;
- a descriptive User-Agent naming the project and the operator's contact;
- a response size cap, checked on Content-Length and while reading;
- conditional GET: callers pass the ETag / Last-Modified they saw last time and
  get a 304 back as ``not_modified``.

Errors follow :mod:`trialmirror.errors`: 429/5xx after retries, timeouts, resets
and truncated bodies are ``RetryLaterError``; 404/410 ``NotFoundError``; other
4xx and oversized bodies ``GiveUpError``.
"""

from __future__ import annotations

import math
import socket
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

import requests
from limits import RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from trialmirror.errors import GiveUpError, NotFoundError, RetryLaterError, require_extra
from trialmirror.settings import PROJECT_URL, Settings

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CHUNK = 64 * 1024


def _version() -> str:
    try:
        return version("trialmirror")
    except PackageNotFoundError:  # running from a source tree
        return "0"


def user_agent(contact: str) -> str:
    tail = f"; {contact}" if contact else ""
    return f"trialmirror/{_version()} (+{PROJECT_URL}{tail})"


@dataclass(frozen=True)
class Fetched:
    url: str
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    attempts: int = 1

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


def rate_item(per_second: float) -> RateLimitItemPerSecond:
    """``limits`` counts whole requests per whole seconds: 0.5/s is 1 per 2 s."""
    if per_second >= 1:
        return RateLimitItemPerSecond(max(1, math.floor(per_second)), 1)
    return RateLimitItemPerSecond(1, max(1, round(1 / per_second)))


class Http:
    """A polite GET for the sources. Pass one instance down; it is thread-safe enough
    for one scheduler job per source (requests sessions share a connection pool)."""

    def __init__(self, settings: Settings, *, limiter_storage: Storage | None = None,
                 sleep=time.sleep):
        self.settings = settings
        self._sleep = sleep
        # memory:// per process; redis://... shares the per-host limit across processes
        # and machines (distributed workers).
        if limiter_storage is None and settings.rate_limit_storage.startswith("redis"):
            require_extra("distributed", "redis", needed_for="a redis:// rate limit storage")
        self._limiter = MovingWindowRateLimiter(
            limiter_storage or storage_from_string(settings.rate_limit_storage))
        self._rate = rate_item(settings.max_requests_per_second)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent(settings.contact)
        self.session.headers["Accept-Encoding"] = "gzip, deflate"
        retry = Retry(
            total=settings.max_retries, connect=settings.max_retries, read=settings.max_retries,
            status=settings.max_retries, other=0, redirect=5,
            allowed_methods=frozenset({"GET"}), status_forcelist=RETRY_STATUSES,
            backoff_factor=settings.backoff_factor, backoff_max=settings.backoff_max,
            backoff_jitter=settings.backoff_factor / 2, respect_retry_after_header=True,
            retry_after_max=settings.retry_after_max, raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def _wait_for_slot(self, host: str) -> None:
        key = f"trialmirror:{host}"
        while not self._limiter.hit(self._rate, key):
            stats = self._limiter.get_window_stats(self._rate, key)
            self._sleep(max(0.01, stats.reset_time - time.time()))

    def get(self, url: str, *, source: str, registry_id: str | None = None,
            label: str | None = None, accept: str = "application/json", etag: str | None = None,
            last_modified: str | None = None) -> Fetched:
        ctx: dict[str, Any] = {"source": source, "registry_id": registry_id, "url": url}
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        self._wait_for_slot(urlsplit(url).netloc)
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        try:
            with self.session.get(url, headers=headers, timeout=timeout, stream=True) as resp:
                body = self._read(resp, ctx)
                return self._judge(resp, body, ctx, label or source)
        except requests.Timeout as exc:
            raise RetryLaterError(f"timed out: {exc.__class__.__name__}", **ctx) from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise RetryLaterError(f"connection failed: {_why(exc, urlsplit(url).hostname)}",
                                  **ctx) from exc

    def _read(self, resp: requests.Response, ctx: dict) -> bytes:
        cap = self.settings.max_response_bytes
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise GiveUpError(f"response of {declared} bytes exceeds the cap of {cap} bytes "
                              "(setting TRIALMIRROR_MAX_RESPONSE_BYTES)",
                              http_status=resp.status_code, **ctx)
        chunks, size = [], 0
        for chunk in resp.iter_content(_CHUNK):
            size += len(chunk)
            if size > cap:
                raise GiveUpError(f"response exceeds the cap of {cap} bytes "
                                  "(setting TRIALMIRROR_MAX_RESPONSE_BYTES)",
                                  http_status=resp.status_code, **ctx)
            chunks.append(chunk)
        body = b"".join(chunks)
        encoded = resp.headers.get("Content-Encoding", "identity").lower() != "identity"
        if declared and declared.isdigit() and not encoded and len(body) < int(declared):
            raise RetryLaterError(f"truncated body: {len(body)} of {declared} bytes",
                                  http_status=resp.status_code, **ctx)
        return body

    def _judge(self, resp: requests.Response, body: bytes, ctx: dict, label: str) -> Fetched:
        status = resp.status_code
        retries = getattr(resp.raw, "retries", None)
        attempts = 1 + (len(retries.history) if retries is not None else 0)
        if status in RETRY_STATUSES:
            raise RetryLaterError(f"HTTP {status} after {attempts} attempts",
                                  http_status=status, **ctx)
        if status in (404, 410):
            raise NotFoundError(f"not found at {label} (HTTP {status})", http_status=status, **ctx)
        if status >= 400:
            raise GiveUpError(f"HTTP {status}", http_status=status, **ctx)
        headers = {k.lower(): v for k, v in resp.headers.items()}
        return Fetched(url=resp.url or ctx["url"], status=status, body=body, headers=headers,
                       attempts=attempts)



def _why(exc: BaseException, host: str | None) -> str:
    """A short reason from a requests/urllib3 connection error's chain of causes."""
    seen: list[BaseException] = []
    node: BaseException | None = exc
    while node is not None and node not in seen:
        seen.append(node)
        node = node.__cause__ or node.__context__ or getattr(node, "reason", None)
    names = {type(e).__name__ for e in seen}
    if "NameResolutionError" in names or any(isinstance(e, socket.gaierror) for e in seen):
        return f"cannot resolve {host} (no DNS answer: check the network or the base URL setting)"
    if any(isinstance(e, ConnectionRefusedError) for e in seen):
        return f"{host} refused the connection"
    if any(isinstance(e, ConnectionResetError) for e in seen):
        return f"{host} reset the connection"
    if "RemoteDisconnected" in names:
        return f"{host} closed the connection without an answer"
    if "ProtocolError" in names or "IncompleteRead" in names:
        return "the connection broke off mid-response"
    if "ReadTimeoutError" in names or any(isinstance(e, TimeoutError) for e in seen):
        return f"{host} sent no answer in time (read timeout; setting TRIALMIRROR_READ_TIMEOUT)"
    return f"{type(seen[-1]).__name__}: {str(seen[-1])[:200]}"
