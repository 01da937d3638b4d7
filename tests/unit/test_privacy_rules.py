"""What of a person is found and erased in a stored delivery."""

from __future__ import annotations

import json
from typing import Any

import pytest

from leadpipe.privacy.rules import (
    ERASED,
    holds_identity,
    person_of,
    redact_bytes,
    redact_json,
    redact_text,
)

JANE: dict[str, Any] = {
    "crm_id": None,
    "firstname": "Jane",
    "lastname": "Smith",
    "email": "jane.smith@example.com",
    "phone_number": "+15551234567",
    "address": "12 Elm Street",
    "address2": None,
    "city": "Miami",
    "state": "FL",
    "zip_code": "33101",
    "notes": None,
    "custom_fields": {"roof": "slate tiles", "sizes": [1200, "xl"], "ok": True},
}
PERSON = person_of(JANE)


def test_a_person_is_their_values_of_three_characters_or_more() -> None:
    assert PERSON.emails == ("jane.smith@example.com",)
    assert [(p.country_code, p.national) for p in PERSON.phones] == [("1", "5551234567")]
    assert set(PERSON.values) == {
        "Jane",
        "Smith",
        "jane.smith@example.com",
        "12 Elm Street",
        "Miami",
        "33101",
        "slate tiles",
        "1200",
    }  # FL, xl and True are too short or not values; the phone is matched by digits


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ('{"email": "Jane.Smith@Example.COM"}', True),
        ("email=jane.smith%40example.com&x=1", True),
        ('{"phone": "(555) 123-4567"}', True),
        ('{"phone": 5551234567}', True),
        ("phone=%2B1+555+123+4567", True),
        ("phone=1-555-123-4567", True),
        ('{"phone": "+1 555 123 4568"}', False),
        ('{"firstname": "Jane", "lastname": "Smith"}', False),  # a name is not an identity
        ('{"email": "john@example.com"}', False),
        ("", False),
    ],
)
def test_a_delivery_names_a_person_by_email_or_phone(text: str, holds: bool) -> None:
    assert holds_identity(text, PERSON) is holds


@pytest.mark.parametrize(
    ("text", "expected", "count"),
    [
        ("Jane.SMITH@example.com", ERASED, 1),
        ("jane.smith%40example.com", ERASED, 1),
        ("call (555) 123-4567 today", f"call ({ERASED} today", 1),
        ("+1 555 123 4567", f"+{ERASED}", 1),
        ("15551234567", ERASED, 1),
        ("first_name=Jane&last_name=Smith", f"first_name={ERASED}&last_name={ERASED}", 2),
        ("12+Elm+Street, miami", f"{ERASED}, {ERASED}", 2),
        ("zip 33101, state FL", f"zip {ERASED}, state FL", 1),
        ("John Doe, 5559876543", "John Doe, 5559876543", 0),
    ],
)
def test_redacting_text_replaces_each_value_in_any_form(
    text: str, expected: str, count: int
) -> None:
    assert redact_text(text, PERSON) == (expected, count)


def test_a_json_body_stays_json_with_a_phone_sent_as_a_number() -> None:
    body = json.dumps({"phone": 5551234567, "name": "Jane Smith", "product": "Roof"}).encode()
    redacted, count = redact_bytes(body, PERSON)
    assert json.loads(redacted) == {
        "phone": ERASED,
        "name": f"{ERASED} {ERASED}",
        "product": "Roof",
    }
    assert count == 3


def test_a_body_that_is_not_utf8_keeps_its_other_bytes() -> None:
    body = b"email=jane.smith%40example.com&blob=\xff\xfe"
    assert redact_bytes(body, PERSON) == (f"email={ERASED}&blob=".encode() + b"\xff\xfe", 1)


def test_a_body_without_the_person_is_returned_as_it_was() -> None:
    body = b'{"email":  "john@example.com"}'
    assert redact_bytes(body, PERSON) == (body, 0)


def test_headers_and_warnings_are_redacted_value_by_value() -> None:
    headers = {"x-lead-email": "JANE.SMITH@example.com", "content-type": "application/json"}
    assert redact_json(headers, PERSON) == (
        {"x-lead-email": ERASED, "content-type": "application/json"},
        1,
    )
    warnings = [{"field": "zip_code", "value": 33101}]
    assert redact_json(warnings, PERSON) == ([{"field": "zip_code", "value": ERASED}], 1)


def test_a_contact_without_phone_or_email_is_found_by_nothing() -> None:
    nobody = person_of({"phone_number": None, "email": None, "crm_id": "crm-1"})
    assert not holds_identity("crm-1 5551234567", nobody)
    assert redact_text("crm-1", nobody) == (ERASED, 1)
