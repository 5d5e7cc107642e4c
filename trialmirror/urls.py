"""The URLs a user gives: checked when given, and never shown with their secrets.

- :func:`http_url`: an address trialmirror fetches or posts to (a base URL, the
  webhook) must be ``http://`` or ``https://`` with a host and a valid port; anything
  else is a ``ValueError`` of one line saying what is wrong and what to write.
- :func:`page_url`: a pinned page is such a URL, or a path on the source's base URL.
- :func:`masked`: a text with the password of every URL in it replaced by ``***``
  (``postgresql://nobody:***@127.0.0.1/x``), and password-like query parameters
  too. Every message, log line and table that shows a URL goes through it.

Checked here once so that the settings, ``watch add`` and the shared HTTP layer
apply one rule (issue 14: ``gopher://``, ``http://``, ``http://[::1``, a port of
99999 or a base URL without a scheme each got as far as a traceback mid-run).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_BARE_HOST = re.compile(r"^[\w.-]+(?::\d*)?(?:[/?#]|$)")  # "127.0.0.1:35497", "example.org/x"
# user:password@ right after a scheme's "//": the password is anything but "@" and space
# (a raw "/" in it is still a password: SQLAlchemy reads such URLs so).
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*):(?P<secret>[^\s@]+)@")
_SECRET_PARAM = re.compile(r"(?P<head>[?&](?:password|passwd|pwd|secret|sslpassword)=)[^&#\s'\"]+", re.I)


def masked(text: str) -> str:
    """``text`` with every URL's password (and password-like query values) as ``***``."""
    text = _USERINFO.sub(r"\g<head>:***@", text)
    return _SECRET_PARAM.sub(r"\g<head>***", text)


def http_url(value: str, what: str = "the URL") -> str:
    """``value`` when it is an http(s) URL with a host and a valid port; else ValueError.
    ``what`` names where it came from (``TRIALMIRROR_WEBHOOK_URL``, ``--url``)."""
    shown = masked(value)
    if not value or any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError(f"{what} {shown!r} is empty or has spaces or control characters")
    if not _SCHEME.match(value) or (_BARE_HOST.match(value) and "://" not in value):
        raise ValueError(f"{what} {shown!r} has no scheme: write http://{shown} or https://{shown}")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises for a port that is not a number from 0 to 65535
    except ValueError as exc:
        raise ValueError(f"{what} {shown!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in SCHEMES:
        raise ValueError(f"{what} {shown!r}: only http:// and https:// URLs are supported, "
                         f"not {parts.scheme}://")
    if not parts.hostname:
        raise ValueError(f"{what} {shown!r} names no host (write http://HOST/...)")
    if port == 0:
        raise ValueError(f"{what} {shown!r} has no valid port (1 to 65535)")
    return value


def page_url(value: str, what: str = "the pinned URL") -> str:
    """A pinned page: an http(s) URL (checked as :func:`http_url`), or a path on the
    source's base URL (``/study/x`` or ``study/x``; never ``//host``, another host)."""
    if _SCHEME.match(value) or (_BARE_HOST.match(value) and ":" in value.split("/", 1)[0]):
        return http_url(value, what)
    if not value.strip() or any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError(f"{what} {masked(value)!r} is empty or has spaces or control characters")
    if value.startswith("//"):
        raise ValueError(f"{what} {masked(value)!r} names another host without a scheme: "
                         "write https://HOST/... in full, or a path on the source's base URL")
    return value
