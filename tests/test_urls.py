"""The URLs a user gives: one rule where they are given (settings, ``watch add``) and
passwords masked wherever a URL is shown (issue 14)."""

import pytest
from pydantic import ValidationError

from trialmirror.errors import ConfigError
from trialmirror.settings import Settings
from trialmirror.urls import http_url, masked, page_url

# Each reached a requests traceback mid-run on main (issue 14).
BAD = ["gopher://127.0.0.1:1/x", "http://", "http://[::1", "http://127.0.0.1:99999/x", "127.0.0.1:35497",
       "file:///etc/passwd", "ftp://127.0.0.1/x", "localhost:8080", "http://127.0.0.1:0/", "http://a b/"]


@pytest.mark.parametrize("url", BAD)
def test_an_address_that_is_no_http_url_is_refused_in_one_line(url):
    with pytest.raises(ValueError) as info:
        http_url(url, "TRIALMIRROR_CTGOV_BASE_URL")
    message = str(info.value)
    assert message.startswith("TRIALMIRROR_CTGOV_BASE_URL ") and "\n" not in message


def test_a_bare_host_and_port_is_told_the_scheme_to_write():
    with pytest.raises(ValueError, match="no scheme: write http://127.0.0.1:35497 or https://"):
        http_url("127.0.0.1:35497")


@pytest.mark.parametrize("url", ["https://registry.example.org", "http://127.0.0.1:35497", "http://[::1]:80/x",
                                 "https://user:pw@mirror.example.org:8443/base"])
def test_http_urls_pass(url):
    assert http_url(url) == url


@pytest.mark.parametrize("pin", ["/study/x", "study/x", "https://mirror.example.org/study/x"])
def test_a_pin_is_an_http_url_or_a_path_on_the_base(pin):
    assert page_url(pin) == pin


@pytest.mark.parametrize("pin", [*BAD, "//elsewhere.example.org/x", ""])
def test_a_pin_that_is_neither_is_refused(pin):
    with pytest.raises(ValueError):
        page_url(pin, "--url")


@pytest.mark.parametrize(("shown", "secret"), [
    ("postgresql://nobody:bad@127.0.0.1/x", "bad"),
    ("cannot open 'postgresql+psycopg://u:s3cr/et@db:5432/x' now", "s3cr/et"),
    ("postgresql://u@h/db?sslmode=require&password=hunter2", "hunter2"),
    ("redis://:tok3n@cache:6379/0", "tok3n"),
])
def test_masked_hides_every_password(shown, secret):
    assert secret not in masked(shown) and "***" in masked(shown)


def test_masked_leaves_urls_without_secrets_alone():
    text = "https://registry.example.org/api/v2/studies?pageToken=abc&x=1 and http://127.0.0.1:8000/x"
    assert masked(text) == text


def test_errors_never_show_a_password():
    error = ConfigError("refused", source="ctv", url="https://me:pa55@mirror.example.org/x")
    assert "pa55" not in str(error) and "me:***@mirror.example.org" in str(error)


@pytest.mark.parametrize("field", ["ctgov_base_url", "ctgov_history_base_url", "ctv_base_url",
                                   "ictrp_base_url", "webhook_url"])
@pytest.mark.parametrize("url", ["127.0.0.1:35497", "file:///etc/passwd", "ftp://example.org/x",
                                 "http://127.0.0.1:99999/x"])
def test_settings_refuse_a_url_nothing_can_be_fetched_from(monkeypatch, field, url):
    monkeypatch.setenv(f"TRIALMIRROR_{field.upper()}", url)
    with pytest.raises(ValidationError, match=f"TRIALMIRROR_{field.upper()}"):
        Settings(_env_file=None)


def test_settings_refuse_a_bad_pinned_page(monkeypatch):
    monkeypatch.setenv("TRIALMIRROR_PINNED_URLS", '{"ctv": {"NCT01342250": "gopher://127.0.0.1:1/x"}}')
    with pytest.raises(ValidationError, match="TRIALMIRROR_PINNED_URLS ctv NCT01342250"):
        Settings(_env_file=None)


def test_settings_keep_good_urls_and_an_empty_webhook_is_none(monkeypatch):
    monkeypatch.setenv("TRIALMIRROR_CTGOV_BASE_URL", "http://127.0.0.1:35497/")
    monkeypatch.setenv("TRIALMIRROR_WEBHOOK_URL", "")
    monkeypatch.setenv("TRIALMIRROR_PINNED_URLS", '{"ctv": {"NCT01342250": "/study/x"}}')
    settings = Settings(_env_file=None)
    assert settings.ctgov_base_url == "http://127.0.0.1:35497" and settings.webhook_url is None
    assert settings.pinned_url("ctv", "NCT01342250") == "/study/x"
