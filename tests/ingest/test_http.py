"""The shared HTTP layer against a local server on 127.0.0.1."""

import socket
import time

import pytest

from tests.fixtures.server import Reply, ScriptedServer
from trialmirror.errors import ConfigError, GiveUpError, NotFoundError, RetryLaterError
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


# --- URLs, redirects, unreadable answers (issue 14) ---------------------------------------

@pytest.mark.parametrize("url", ["gopher://127.0.0.1:1/x", "http://", "http://[::1", "http://127.0.0.1:99999/x",
                                 "127.0.0.1:35497/api/v2/studies/NCT01342250", "file:///etc/passwd",
                                 "ftp://127.0.0.1/x"])
def test_a_url_that_is_no_http_url_is_a_config_error_not_a_traceback(settings, url):
    with pytest.raises(ConfigError) as info:
        Http(settings).get(url, source="ctv", registry_id="NCT01342250")
    assert info.value.family == "config" and "[ctv] NCT01342250" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_redirect_on_the_same_host_is_followed(settings, server):
    server.play("/old", Reply(301, b"", {"Location": "/new"}))
    server.play("/new", Reply(200, b'{"ok": true}'))
    fetched = _get(Http(settings), server, "/old")
    assert fetched.body == b'{"ok": true}' and fetched.url == server.base_url + "/new"


def test_a_redirect_to_another_host_is_not_followed(settings, server):
    """The rate limit is kept per host: a hop elsewhere would not be counted there."""
    with ScriptedServer() as other:
        other.play("/x", Reply(200, b"{}"))
        elsewhere = other.base_url.replace("127.0.0.1", "localhost") + "/x"
        server.play("/x", Reply(302, b"", {"Location": elsewhere}))
        with pytest.raises(GiveUpError, match="redirect to another host") as info:
            _get(Http(settings), server)
        assert other.hits == {} and info.value.http_status == 302
        assert elsewhere in str(info.value)


def test_a_source_may_allow_another_host_and_each_hop_waits_for_its_host(settings, server, monkeypatch):
    waited = []
    monkeypatch.setattr(Http, "_wait_for_slot", lambda self, host: waited.append(host))
    with ScriptedServer() as other:
        other.play("/x", Reply(200, b"{}"))
        elsewhere = other.base_url.replace("127.0.0.1", "localhost")
        server.play("/x", Reply(302, b"", {"Location": elsewhere + "/x"}))
        fetched = _get(Http(settings), server, other_hosts=["localhost"])
    assert fetched.url == elsewhere + "/x"
    assert waited == [server.base_url.removeprefix("http://"), elsewhere.removeprefix("http://")]


def test_a_redirect_to_a_non_http_url_is_not_followed(settings, server):
    server.play("/x", Reply(302, b"", {"Location": "file:///etc/passwd"}))
    with pytest.raises(GiveUpError, match="not an http"):
        _get(Http(settings), server)


def test_one_truncated_answer_is_fetched_again(settings, server):
    whole = b'{"protocolSection": {"a": 1}}'
    server.play("/x", Reply(200, whole, cut_after=10), Reply(200, whole))
    fetched = _get(Http(settings), server)
    assert fetched.body == whole and fetched.attempts == 2 and server.hits["/x"] == 2


@pytest.mark.parametrize("garbage", [
    Reply(200, b"<html><body>Service temporarily unavailable</body></html>", {"Content-Type": "text/html"}),
    Reply(200, b'{"studies": [{"protocolSection"', {"Connection": "close"}),
    Reply(200, b"not gzip at all", {"Content-Encoding": "gzip"}),
])
def test_one_garbled_answer_is_fetched_again(settings, server, garbage):
    server.play("/x", garbage, Reply(200, b'{"ok": true}'))
    fetched = _get(Http(settings), server)
    assert fetched.body == b'{"ok": true}' and fetched.attempts == 2


def test_an_answer_garbled_every_time_is_retry_later_with_its_attempts(settings, server):
    server.play("/x", Reply(200, b"<html>oops</html>", {"Content-Type": "text/html"}))
    with pytest.raises(RetryLaterError, match=r"malformed JSON.*\(after 3 attempts\)") as info:
        _get(Http(settings), server)
    assert info.value.attempts == settings.max_retries + 1 == server.hits["/x"]


def test_errors_carry_the_attempts_made(settings, server):
    server.play("/x", Reply(503, b"down"))
    with pytest.raises(RetryLaterError) as info:
        _get(Http(settings), server)
    assert info.value.attempts == settings.max_retries + 1


def test_a_page_is_not_checked_as_json(settings, server):
    server.play("/x", Reply(200, b"<html><p>a page</p></html>", {"Content-Type": "text/html"}))
    assert _get(Http(settings), server, accept="text/html").body.startswith(b"<html>")


def test_an_empty_page_is_fetched_again(settings, server):
    server.play("/x", Reply(200, b"", {"Content-Type": "text/html"}),
                Reply(200, b"<html><p>a page</p></html>", {"Content-Type": "text/html"}))
    fetched = _get(Http(settings), server, accept="text/html,application/xhtml+xml;q=0.9")
    assert fetched.body.startswith(b"<html>") and fetched.attempts == 2
