"""The pure parts of refusing input at the edge: where a URL holds a NUL character, and
numbers written in other digits than ASCII's (a signature's timestamp, the dashboard's
query, a mapping's list index), which ``str.isdigit`` takes and ``int`` may refuse."""

from __future__ import annotations

import pytest

from leadpipe.errors import Unauthorized
from leadpipe.middleware import nul_in_url
from leadpipe.payloads.mapping import extract
from leadpipe.web.rules import TableQuery, parse_table_query
from leadpipe.webhooks.signatures import sign_standard, verify

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


@pytest.mark.parametrize(
    ("raw", "ignored"),
    [
        ({"page": "²"}, ["page: a whole number from 1 to 1000000"]),
        ({"idle_days": "1" * 5000}, ["idle_days: a whole number from 1 to 3650"]),
        ({"size": "²⁵"}, ["size: one of 25, 50, 100"]),
    ],
)
def test_a_dashboard_query_number_in_other_digits_is_ignored_and_said(
    raw: dict[str, str], ignored: list[str]
) -> None:
    assert parse_table_query(raw) == (TableQuery(), ignored)


@pytest.mark.parametrize("index", ["²", "\u0661", "1" * 5000])
def test_a_mapping_index_in_other_digits_matches_nothing(index: str) -> None:
    payload = {"answers": ["a@example.com"], "email": "b@example.com"}
    out = extract(payload, {f"answers.{index}": "email"})
    assert out.fields["email"] == "b@example.com"


def test_a_mapping_index_in_ascii_digits_picks_its_item() -> None:
    out = extract({"answers": ["x", "a@example.com"]}, {"answers.1": "email"})
    assert out.fields["email"] == "a@example.com"
