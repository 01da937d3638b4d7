"""How exported records are written: cells a spreadsheet would run kept as text, nested
records as columns, file names safe for a header."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from leadpipe.exports.rules import (
    csv_columns,
    csv_line,
    csv_record,
    file_name,
    json_line,
    safe_cell,
)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+15551234567", "+15551234567"),
        ("-12.5", "-12.5"),
        ("-2+3", "'-2+3"),
        ("+1 555 123", "'+1 555 123"),
        ("-1e9", "'-1e9"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Ana", "Ana"),
        ("a=b", "a=b"),
        ("", ""),
        ("nul\x00here", "nul\\u0000here"),
        (12, 12),
        (None, None),
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_kept_as_text(value: object, written: object) -> None:
    assert safe_cell(value) == written


def test_a_row_writes_none_as_an_empty_cell_and_quotes_as_csv_does() -> None:
    assert csv_line(["a,b", None, "=1+1", 3]) == '"a,b",,\'=1+1,3\r\n'


def test_a_nested_record_becomes_columns_and_json_values_become_text() -> None:
    fields = ("id", "contact", "tags", "created_at")
    nested = {"contact": ("email", "phone")}
    assert csv_columns(fields, nested) == (
        "id",
        "contact_email",
        "contact_phone",
        "tags",
        "created_at",
    )
    record_id = uuid.UUID("01a2383f-b96b-7115-9fea-cc962a27f0cd")
    at = datetime(2026, 12, 7, 14, 20, tzinfo=UTC)
    record = {
        "id": record_id,
        "contact": {"email": "a@example.com", "phone": "+1555"},
        "tags": ["x", "y"],
        "created_at": at,
    }
    assert csv_record(record, fields, nested) == (
        f'{record_id},a@example.com,+1555,"[""x"",""y""]",2026-12-07T14:20:00+00:00\r\n'
    )
    # A missing nested record leaves its cells empty.
    assert csv_record({"id": "1", "contact": None}, fields, nested) == "1,,,,\r\n"


def test_a_json_line_is_one_line() -> None:
    assert json_line({"notes": "two\nlines"}) == '{"notes":"two\\nlines"}\n'


@pytest.mark.parametrize(
    ("workspace_id", "name"),
    [
        ("39135", "leads-39135-stamp.csv"),
        ('a"b\r\nc', "leads-abc-stamp.csv"),
        ('"', "leads-workspace-stamp.csv"),
    ],
)
def test_a_file_name_holds_only_safe_characters(workspace_id: str, name: str) -> None:
    assert file_name("leads", workspace_id, "csv", "stamp") == name
