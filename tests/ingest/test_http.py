"""The shared HTTP layer against a local server on 127.0.0.1."""

import socket
import time

import pytest

from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.errors import GiveUpError, NotFoundError, RetryLaterError
from trialmirror.ingest.http import Http


@pytest.fixture
def server():
    with ScriptedServer() as s:
        yield s


def _get(http, server, path="/x", **kw):
    return http.get(server.base_url + path, source="test", registry_id="NCT01342250", **kw)


def test_retry_after_is_honoured_then_success(settings, server):
    server.play("/x", Reply(429, b"", {"Retry-After": "1"}), Reply(200, b'{"ok": true}'))
    started = time.monotonic()
    fetched = _get(Http(settings), server)
    assert fetched.body == b'{"ok": true}' and fetched.attempts == 2
    assert time.monotonic() - started >= 0.9  # waited as the server asked
    assert server.hits["/x"] == 2


def test_5xx_is_retried_then_reported_as_retry_later(settings, server):
    server.play("/x", Reply(503, b"down"))
    with pytest.raises(RetryLaterError, match="HTTP 503 after 3 attempts") as info:
        _get(Http(settings), server)
    assert server.hits["/x"] == settings.max_retries + 1
    assert info.value.family == "retry_later" and info.value.http_status == 503


def test_404_is_not_found_and_not_retried(settings, server):
    server.play("/x", Reply(404, b"{}"))
    with pytest.raises(NotFoundError):
        _get(Http(settings), server)
    assert server.hits["/x"] == 1


def test_other_4xx_gives_up(settings, server):
    server.play("/x", Reply(400, b"bad request"))
    with pytest.raises(GiveUpError, match="HTTP 400"):
        _get(Http(settings), server)


def test_response_size_cap(settings, server):
    server.play("/x", Reply(200, b"x" * 2048))
    with pytest.raises(GiveUpError, match="exceeds the cap of 1000 bytes"):
        _get(Http(settings.model_copy(update={"max_response_bytes": 1000})), server)


def test_truncated_body_is_retry_later(settings, server):
    server.play("/x", Reply(200, b'{"protocolSection": {"a": 1}}', cut_after=10))
    with pytest.raises(RetryLaterError):
        _get(Http(settings), server)


def test_read_timeout_is_retry_later(settings, server):
    server.play("/x", Reply(200, b"{}", delay=1.5))
    fast = settings.model_copy(update={"read_timeout": 0.3, "max_retries": 0})
    with pytest.raises(RetryLaterError, match="timed out|connection failed"):
        _get(Http(fast), server)


def test_connection_refused_is_retry_later(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RetryLaterError, match="connection failed"):
        Http(settings).get(f"http://127.0.0.1:{port}/x", source="test")


def test_user_agent_names_project_and_contact(settings, server):
    server.play("/x", Reply(200, b"{}"))
    _get(Http(settings), server)
    agent = server.request_headers[-1]["User-Agent"]
    assert agent.startswith("trialmirror/") and "tests@example.invalid" in agent


def test_conditional_get(settings, server):
    server.play("/x", Reply(200, b"{}", {"ETag": '"v1"'}), Reply(304, b""))
    http = Http(settings)
    first = _get(http, server)
    assert first.etag == '"v1"' and not first.not_modified
    second = _get(http, server, etag=first.etag)
    assert second.not_modified
    assert server.request_headers[-1]["If-None-Match"] == '"v1"'


def test_per_host_rate_limit(settings, server):
    server.play("/x", Reply(200, b"{}"))
    http = Http(settings.model_copy(update={"max_requests_per_second": 5}))
    started = time.monotonic()
    for _ in range(6):  # the sixth must wait for the one-second window
        _get(http, server)
    assert time.monotonic() - started >= 0.9
