"""The pure parts of refusing input at the edge: where a URL holds a NUL character, and a
signature timestamp that is not ASCII digits."""

from __future__ import annotations

import pytest

from leadpipe.errors import Unauthorized
from leadpipe.intake.rules.signatures import sign_standard, verify
from leadpipe.middleware import nul_in_url

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


@pytest.mark.parametrize(
    ("path", "query", "fields"),
    [
        ("/api/v3/leads", b"q=ana&stage=new", []),
        ("/webhooks/wh\x00x", b"", ["path"]),
        ("/api/v3/leads", b"q=%00", ["q"]),
        ("/api/v3/leads", b"q=a&stage=new%00&source=%00x", ["stage", "source"]),
        ("/api/v3/leads", b"a%00b=1", ["a\\u0000b"]),
        ("/api/v3/leads", b"q=a\x00", ["q"]),
        ("/api/v3/leads", b"q=%2500", []),  # the text "%00", not a NUL
        ("/x\x00", b"q=%00", ["path", "q"]),
    ],
)
def test_nul_in_url(path: str, query: bytes, fields: list[str]) -> None:
    assert nul_in_url(path, query) == fields


@pytest.mark.parametrize("stamp", ["17²", "¹²³", "\u0661\u0667\u0660\u0660", "9" * 5000, ""])
def test_a_timestamp_that_is_not_ascii_digits_is_a_bad_signature(stamp: str) -> None:
    body = b"{}"
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": stamp,
        "webhook-signature": sign_standard(SECRET, "msg_1", 1_700_000_000, body),
    }
    with pytest.raises(Unauthorized, match="webhook-timestamp"):
        verify("required", [SECRET], headers, body, 1_700_000_000)


def test_a_timestamp_in_ascii_digits_still_verifies() -> None:
    body = b"{}"
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": sign_standard(SECRET, "msg_1", 1_700_000_000, body),
    }
    verified = verify("required", [SECRET], headers, body, 1_700_000_000)
    assert verified is not None
    assert verified.signed_at == 1_700_000_000
