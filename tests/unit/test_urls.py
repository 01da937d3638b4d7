"""Which URLs may be followed or linked (kit.urls)."""

from __future__ import annotations

import pytest

from leadpipe.kit.urls import is_web_url, same_site_path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://cert.trustedform.com/abc", True),
        ("HTTP://example.com/thanks?x=1", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,hi", False),
        ("https://", False),
        ("/relative/path", False),
        ("https://exa mple.com", False),
        ("https://example.com/\r\nX: y", False),
        ("http://[::1", False),
        (None, False),
        (42, False),
    ],
)
def test_only_http_urls_with_a_host_are_web_urls(value: object, expected: bool) -> None:
    assert is_web_url(value) is expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/app/pipeline?stage=won", "/app/pipeline?stage=won"),
        ("/app", "/app"),
        ("", "/app"),
        (None, "/app"),
        ("//evil.example", "/app"),
        ("/\\evil.example", "/app"),
        ("/%2F%2Fevil.example", "/app"),
        ("/%5Cevil.example", "/app"),
        ("/\t/evil.example", "/app"),
        ("/x\r\nSet-Cookie: a=b", "/app"),
        ("https://evil.example", "/app"),
        ("evil.example", "/app"),
        ("/caf\u00e9", "/app"),
    ],
)
def test_only_paths_of_this_site_are_followed_after_sign_in(
    target: str | None, expected: str
) -> None:
    assert same_site_path(target) == expected
