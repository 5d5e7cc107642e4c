"""The one HTTP layer every source uses (sources never build a session).

- timeouts: connect and read, from settings;
- retries: urllib3's ``Retry`` on 429, 500, 502, 503, 504 and connection or read
  errors, exponential backoff with jitter, ``Retry-After`` honoured up to
  ``retry_after_max`` seconds;
- a per-host rate limit (``limits``' moving window), default 1 request/s;
- a descriptive User-Agent naming the project and the operator's contact;
- a response size cap, checked on Content-Length and while reading;
- conditional GET: callers pass the ETag / Last-Modified they saw last time and
  get a 304 back as ``not_modified``;
- an answer that came but cannot be read whole (truncated, broken off mid-body,
  an undecodable encoding, not the JSON asked for) is fetched again, with the same
  backoff, up to ``max_retries`` times: one bad answer is a transient fault;
- redirects are followed (5 at most) on the URL's own host only, unless the caller
  names other hosts: every hop takes a slot of its host's rate limit, and a hop to
  another host would not be counted there;
- only http(s) URLs with a host and a valid port are requested
  (:func:`trialmirror.urls.http_url`); anything else is a ``ConfigError``.

Errors follow :mod:`trialmirror.errors`: 429/5xx after retries, timeouts, resets
and answers still unreadable after retries are ``RetryLaterError``; 404/410
``NotFoundError``; other 4xx, oversized bodies and redirects not followed
``GiveUpError``; a URL that is not http(s) ``ConfigError``. Each carries the
``attempts`` made, for the fetch log.
"""

from __future__ import annotations

import dataclasses
import math
import socket
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urljoin, urlsplit

import orjson
import requests
from limits import RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from trialmirror.errors import (
    ConfigError,
    GiveUpError,
    NotFoundError,
    RetryLaterError,
    TrialmirrorError,
    require_extra,
)
from trialmirror.settings import PROJECT_URL, Settings
from trialmirror.urls import http_url

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
# Raises ValueError when a body cannot be read at all; returns what it read (the JSON's
# value: Fetched.parsed, so a caller that wants it does not parse a 20 MB page twice).
BodyCheck = Callable[[bytes], object]


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
    parsed: object = None  # what the body check read (a JSON body's value), else None

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
            status=settings.max_retries, other=0, redirect=False,  # redirects: Http._follow
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
            last_modified: str | None = None, check: BodyCheck | None = None,
            other_hosts: Collection[str] = ()) -> Fetched:
        """GET ``url`` politely. ``check`` says whether a 2xx body can be read at all
        (it raises ValueError when not; by default JSON when ``accept`` asks for JSON,
        markup when it asks for HTML): an unreadable, truncated or broken-off answer is
        fetched again, with the backoff. Redirects are followed on the URL's own host
        only, or to ``other_hosts`` (the rate limit is per host: a hop elsewhere would
        not be counted there)."""
        ctx: dict[str, Any] = {"source": source, "registry_id": registry_id, "url": url}
        try:
            http_url(url)
        except ValueError as exc:  # a base URL or a pinned page: nothing to retry
            raise ConfigError(str(exc), **ctx) from None
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        if check is None:
            check = _default_check(accept)
        hosts = {urlsplit(url).hostname or "", *(h.lower() for h in other_hosts)}
        attempts, problem = 0, None
        for round_ in range(1, self.settings.max_retries + 2):
            try:
                fetched = self._follow(url, headers, hosts, check, ctx, label or source)
            except _Unreadable as exc:
                attempts += exc.attempts
                problem = exc.error
                if round_ <= self.settings.max_retries:
                    self._sleep(min(self.settings.backoff_factor * 2 ** (round_ - 1),
                                    self.settings.backoff_max))
                continue
            except TrialmirrorError as exc:
                exc.attempts = attempts + (exc.attempts or 1)
                raise
            return dataclasses.replace(fetched, attempts=attempts + fetched.attempts)
        assert problem is not None  # every round ended unreadable
        raise RetryLaterError(f"{problem.reason} (after {attempts} attempt{'s' * (attempts != 1)})",
                              http_status=problem.http_status, attempts=attempts,
                              **{**ctx, "url": problem.url or url})

    def _follow(self, url: str, headers: dict[str, str], hosts: set[str], check: BodyCheck | None,
                ctx: dict[str, Any], label: str) -> Fetched:
        """One attempt: the request, and its redirects on the allowed hosts."""
        target = url
        for _ in range(MAX_REDIRECTS + 1):
            resp = self._send(target, headers, {**ctx, "url": target})
            with resp:
                location = resp.headers.get("Location") if resp.is_redirect else None
                if location is None:
                    body = self._read(resp, {**ctx, "url": target})
                    return self._judge(resp, body, {**ctx, "url": target}, label, check)
            target = self._hop(target, location, hosts, resp.status_code, ctx)
        raise GiveUpError(f"more than {MAX_REDIRECTS} redirects", **{**ctx, "url": target})

    def _hop(self, target: str, location: str, hosts: set[str], status: int, ctx: dict[str, Any]) -> str:
        """Where a redirect leads, when it may be followed."""
        where = urljoin(target, location)
        try:
            http_url(where)
        except ValueError:
            raise GiveUpError(f"HTTP {status} redirect to {where!r}, which is not an http(s) URL: "
                              "not followed", http_status=status, **ctx) from None
        if (urlsplit(where).hostname or "") not in hosts:
            raise GiveUpError(f"HTTP {status} redirect to another host ({where}): not followed, "
                              "the rate limit is kept per host; if the address moved, set the "
                              "base URL or pin the page's new address", http_status=status, **ctx)
        return where

    def _send(self, target: str, headers: dict[str, str], ctx: dict[str, Any]) -> requests.Response:
        """The request (urllib3 retries statuses and connection failures); its response
        is streamed, read by the caller."""
        self._wait_for_slot(_host_key(target))
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        tried = self.settings.max_retries + 1  # urllib3 gives up only when they are used up
        try:
            return self.session.get(target, headers=headers, timeout=timeout, stream=True,
                                    allow_redirects=False)
        except requests.Timeout as exc:
            raise RetryLaterError(f"timed out: {exc.__class__.__name__}", attempts=_tries(exc, tried),
                                  **ctx) from exc
        except requests.ConnectionError as exc:
            raise RetryLaterError(f"connection failed: {_why(exc, urlsplit(target).hostname)}",
                                  attempts=_tries(exc, tried), **ctx) from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                requests.exceptions.MissingSchema, requests.exceptions.InvalidHeader) as exc:
            raise ConfigError(f"cannot request this URL: {exc}", **ctx) from exc
        except requests.RequestException as exc:
            raise GiveUpError(f"request failed: {exc.__class__.__name__}: {exc}", **ctx) from exc

    def _read(self, resp: requests.Response, ctx: dict) -> bytes:
        cap = self.settings.max_response_bytes
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise GiveUpError(f"response of {declared} bytes exceeds the cap of {cap} bytes "
                              "(setting TRIALMIRROR_MAX_RESPONSE_BYTES)",
                              http_status=resp.status_code, **ctx)
        chunks, size = [], 0
        try:
            for chunk in resp.iter_content(_CHUNK):
                size += len(chunk)
                if size > cap:
                    raise GiveUpError(f"response exceeds the cap of {cap} bytes "
                                      "(setting TRIALMIRROR_MAX_RESPONSE_BYTES)",
                                      http_status=resp.status_code, **ctx)
                chunks.append(chunk)
        except requests.exceptions.ContentDecodingError as exc:
            raise _Unreadable(resp, f"undecodable body ({resp.headers.get('Content-Encoding')}: "
                                    f"{exc.__class__.__name__})", ctx) from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Unreadable(resp, f"connection failed mid-body: "
                                    f"{_why(exc, urlsplit(ctx['url']).hostname)}", ctx) from exc
        body = b"".join(chunks)
        encoded = resp.headers.get("Content-Encoding", "identity").lower() != "identity"
        if declared and declared.isdigit() and not encoded and len(body) < int(declared):
            raise _Unreadable(resp, f"truncated body: {len(body)} of {declared} bytes", ctx)
        return body

    def _judge(self, resp: requests.Response, body: bytes, ctx: dict, label: str,
               check: BodyCheck | None) -> Fetched:
        status = resp.status_code
        attempts = _attempts(resp)
        if status in RETRY_STATUSES:
            raise RetryLaterError(f"HTTP {status} after {attempts} attempts",
                                  http_status=status, attempts=attempts, **ctx)
        if status in (404, 410):
            raise NotFoundError(f"not found at {label} (HTTP {status})", http_status=status,
                                attempts=attempts, **ctx)
        if status >= 300 and status != 304:  # 3xx: a redirect without a Location, or 300/305
            raise GiveUpError(f"HTTP {status}", http_status=status, attempts=attempts, **ctx)
        parsed = None
        if check is not None and status not in (204, 304):
            try:
                parsed = check(body)
            except ValueError as exc:  # a garbled answer: the same request may well heal it
                raise _Unreadable(resp, str(exc)[:200], ctx) from exc
        headers = {k.lower(): v for k, v in resp.headers.items()}
        return Fetched(url=resp.url or ctx["url"], status=status, body=body, headers=headers,
                       attempts=attempts, parsed=parsed)


class _Unreadable(Exception):
    """An answer that came, but could not be read whole (truncated, broken off, garbled):
    fetched again by :meth:`Http.get`, a RetryLaterError when it stays so."""

    def __init__(self, resp: requests.Response, reason: str, ctx: dict[str, Any]):
        self.attempts = _attempts(resp)
        self.error = RetryLaterError(reason, http_status=resp.status_code, **ctx)
        super().__init__(reason)


def _attempts(resp: requests.Response) -> int:
    """Requests urllib3 made for this response (its retries' history, plus the one)."""
    retries = getattr(resp.raw, "retries", None)
    return 1 + (len(retries.history) if retries is not None else 0)


def _tries(exc: requests.RequestException, exhausted: int) -> int:
    """Requests made before a connection failure: all of them once urllib3 gave up."""
    return exhausted if isinstance(exc.args[0] if exc.args else None, MaxRetryError) else 1


def _default_check(accept: str) -> BodyCheck | None:
    """What a body must be to be read at all, by what was asked for (its first type)."""
    first = accept.split(",", 1)[0]
    if "json" in first:
        return _json
    if "html" in first:
        return _markup
    return None


def _json(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON ({exc})") from None


def _markup(body: bytes) -> None:
    if b"<" not in body:  # an empty page, or text that is no page at all
        raise ValueError(f"no HTML page: no markup in {len(body)} bytes")


def _host_key(url: str) -> str:
    """The rate limit's key: host and port, without any user:password."""
    return urlsplit(url).netloc.rpartition("@")[2].lower()


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
