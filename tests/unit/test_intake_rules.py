"""Payload aliases, per-webhook paths and validation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from leadpipe.contacts.rules import Identity
from leadpipe.intake.rules.deliveries import retry_after_when_queue_full
from leadpipe.intake.rules.stats import percentile, period_stats
from leadpipe.payloads.mapping import ALIASES, canonical_field, extract, get_path
from leadpipe.payloads.rules import validate

# Every spelling named by the seeds and sibling systems, with the field it must land in.
ALIAS_TABLE = [
    ("firstname", "firstname"),
    ("first_name", "firstname"),
    ("firstName", "firstname"),
    ("FirstName", "firstname"),
    ("lastname", "lastname"),
    ("last_name", "lastname"),
    ("lastName", "lastname"),
    ("phone_number", "phone"),
    ("phone", "phone"),
    ("phoneNumber", "phone"),
    ("email", "email"),
    ("crm_id", "crm_id"),
    ("external_crm_id", "crm_id"),
    ("productid", "product"),
    ("product", "product"),
    ("product_interest", "product"),
    ("interest", "product"),
    ("lead_status", "status"),
    ("status", "status"),
    ("source", "source"),
    ("lead_source", "source"),
    ("subsource", "sub_source"),
    ("sub_source", "sub_source"),
    ("notes", "notes"),
    ("address", "address"),
    ("address1", "address"),
    ("st_address", "address"),
    ("address2", "address2"),
    ("city", "city"),
    ("state", "state"),
    ("zip", "zip_code"),
    ("zip_code", "zip_code"),
    ("zipCode", "zip_code"),
    ("utm_source", "utm_source"),
    ("utmSource", "utm_source"),
    ("utm_medium", "utm_medium"),
    ("utmMedium", "utm_medium"),
    ("utm_campaign", "utm_campaign"),
    ("utmCampaign", "utm_campaign"),
    ("utm_term", "utm_term"),
    ("utmTerm", "utm_term"),
    ("utm_content", "utm_content"),
    ("utmContent", "utm_content"),
    ("campaign_id", "campaign_id"),
    ("campaignId", "campaign_id"),
    ("landing_page_url", "landing_page_url"),
    ("adate", "appointment_date"),
    ("appointment_date", "appointment_date"),
    ("atime", "appointment_time"),
    ("appointment_status", "appointment_status"),
    ("consent_description", "consent_description"),
    ("consent_value", "consent_value"),
    ("tcpa_compliance", "tcpa_compliance"),
    ("estimated_value", "estimated_value"),
    ("name", "fullname"),
]


@pytest.mark.parametrize(("key", "field"), ALIAS_TABLE)
def test_alias(key: str, field: str) -> None:
    assert canonical_field(key) == field
    assert extract({key: "x"}, {}).fields == {field: "x"}


def test_every_canonical_field_is_its_own_alias() -> None:
    for name in ALIASES:
        assert canonical_field(name) == name


def test_unmapped_fields_are_kept() -> None:
    out = extract({"email": "a@example.com", "roofType": "tile", "blank": ""}, {})
    assert out.custom_fields == {"roofType": "tile"}


def test_first_non_blank_alias_wins() -> None:
    assert extract({"phone": "", "phone_number": "555"}, {}).fields == {"phone": "555"}


def test_nested_consent_object() -> None:
    out = extract({"consent": {"description": "I agree", "value": False}}, {})
    assert out.fields == {"consent_description": "I agree", "consent_value": False}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("customer.personal.firstName", "Ana"),
        ("$.customer.personal.firstName", "Ana"),
        ("items[1].zip", "90210"),
        ("customer.missing", None),
    ],
)
def test_paths(path: str, expected: Any) -> None:
    payload = {
        "customer": {"personal": {"firstName": "Ana"}},
        "items": [{"zip": "1"}, {"zip": "90210"}],
    }
    value = get_path(payload, path)
    assert (value if isinstance(value, str) else None) == expected


FACEBOOK_FIELD_DATA = {
    "field_data": [
        {"name": "full_name", "values": ["Ana Lopez"]},
        {"name": "email", "values": ["ana@example.com"]},
        {"name": "phone_number", "values": ["+15125550142"]},
        {"name": "zip_code", "values": ["78701"]},
    ]
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("field_data[name=email].values[0]", "ana@example.com"),
        ("field_data[name='phone_number'].values[0]", "+15125550142"),
        ('field_data[name="zip_code"].values[0]', "78701"),
        ("field_data[name=missing].values[0]", None),
        ("field_data[1].values[0]", "ana@example.com"),
        ("field_data[name=email].values[5]", None),
        ("field_data.name=email", None),
    ],
)
def test_paths_select_list_items_by_a_fields_value(path: str, expected: Any) -> None:
    value = get_path(FACEBOOK_FIELD_DATA, path)
    assert (value if isinstance(value, str) else None) == expected


def test_a_question_added_to_a_form_shifts_nothing_mapped_by_name() -> None:
    mapping = {
        "field_data[name=email].values[0]": "email",
        "field_data[name=full_name].values[0]": "fullname",
    }
    before = extract(FACEBOOK_FIELD_DATA, mapping).fields
    grown = {
        "field_data": [
            {"name": "how_soon", "values": ["this month"]},
            *FACEBOOK_FIELD_DATA["field_data"],
        ]
    }
    after = extract(grown, mapping)
    assert after.fields == before
    assert after.fields["email"] == "ana@example.com"
    assert "field_data" in after.custom_fields  # the answers are kept, never dropped


def _validate(payload: dict[str, Any], **kwargs: Any) -> Any:
    return validate(
        extract(payload, {}),
        region=kwargs.get("region", "US"),
        require_phone=kwargs.get("require_phone", False),
    )


def test_valid_payload_is_normalised() -> None:
    submission, errors = _validate(
        {
            "name": "Ana Maria Lopez",
            "phone": "(555) 123-4567",
            "email": "ANA@EXAMPLE.COM",
            "estimated_value": "1,500.5",
            "tags": "solar, urgent",
            "priority": "High",
        }
    )
    assert errors == []
    assert submission.identity == Identity(phone="+15551234567", email="ana@example.com")
    assert submission.contact == {"firstname": "Ana", "lastname": "Maria Lopez"}
    assert submission.lead == {
        "estimated_value": Decimal("1500.50"),
        "tags": ["solar", "urgent"],
        "priority": "high",
    }


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"firstname": "Only"}, {"phone_number"}),
        ({"phone": "12"}, {"phone_number"}),
        ({"email": "x@"}, {"email"}),
        ({"phone": "0412 345 678", "email": "x@"}, {"phone_number", "email"}),
        ({"crm_id": "C" * 300}, {"crm_id"}),
    ],
)
def test_only_a_missing_identity_refuses(payload: dict[str, Any], fields: set[str]) -> None:
    submission, errors = _validate(payload)
    assert submission is None
    assert {e["field"] for e in errors} == fields


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"estimated_value": "-5"}, "estimated_value"),
        ({"estimated_value": 1e308}, "estimated_value"),
        ({"estimated_value": "1e30"}, "estimated_value"),
        ({"estimated_value": "a lot"}, "estimated_value"),
        ({"temperature": "boiling"}, "temperature"),
        ({"Priority": "Hot"}, "priority"),
        ({"TCPA": "I agree"}, "tcpa_compliance"),
        ({"first_name": "A" * 100_000}, "firstname"),
        ({"utm_source": "u" * 300}, "utm_source"),
        ({"tags": ["t" * 101]}, "tags"),
        ({"phone": "0412 345 678"}, "phone"),  # the email identifies
    ],
)
def test_an_unreadable_optional_value_is_kept_as_sent_with_a_warning(
    payload: dict[str, Any], field: str
) -> None:
    submission, errors = _validate({"email": "a@example.com", **payload})
    assert errors == []
    assert submission.identity.email == "a@example.com"
    assert submission.custom_fields[field] == next(iter(payload.values()))
    (warning,) = submission.warnings
    assert warning["field"] == ("phone_number" if field == "phone" else field)
    assert warning["message"].endswith("kept as sent in custom_fields")


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("AU", "+61412345678"),
        ("au", "+61412345678"),
        ("Australia", "+61412345678"),
        ("Mars", None),  # not a country: the webhook's region (US), where it is invalid
    ],
)
def test_the_payloads_country_decides_how_its_phone_is_read(
    country: str, expected: str | None
) -> None:
    submission, errors = _validate(
        {"phone": "0412 345 678", "email": "a@example.com", "country": country}
    )
    assert errors == []
    assert submission.identity.phone == expected
    assert submission.custom_fields["country"] == country


def test_a_mexican_number_is_read_as_mexican() -> None:
    submission, _ = _validate({"phone": "55 1234 5670", "country": "MX"})
    assert submission.identity.phone == "+525512345670"


def test_a_lost_reason_is_read() -> None:
    submission, _ = _validate({"email": "a@example.com", "Lost Reason": "Went with a competitor"})
    assert submission.lost_reason == "Went with a competitor"


def test_crm_id_alone_is_an_identity_to_look_up() -> None:
    submission, errors = _validate({"crm_id": 123456, "lead_status": "Converted"})
    assert errors == []
    assert submission.identity == Identity(crm_id="123456")


def test_webhook_may_require_a_phone() -> None:
    _, errors = _validate({"email": "a@example.com"}, require_phone=True)
    assert errors == [{"field": "phone_number", "message": "is required by this webhook"}]


def test_appointment_title() -> None:
    submission, _ = _validate({"email": "a@example.com", "adate": "2025-10-20", "atime": "10:00AM"})
    assert submission.appointment.title == "Appointment: 2025-10-20 10:00AM"


@pytest.mark.parametrize(
    ("waiting", "longest_wait", "retry_after"),
    [
        (0, 0.0, None),
        (999, 4.9, None),
        (1000, 0.2, 1),  # as many waiting as allowed
        (3, 5.0, 5),  # the oldest has waited too long
        (3, 7.2, 8),
    ],
)
def test_a_full_queue_refuses_with_advice(
    waiting: int, longest_wait: float, retry_after: int | None
) -> None:
    assert (
        retry_after_when_queue_full(waiting, longest_wait, limit=1000, max_wait=5.0) == retry_after
    )


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 50, None),
        ([7.0], 99, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
        ([float(i) for i in range(1, 101)], 95, 95.0),
        ([float(i) for i in range(1, 101)], 99, 99.0),
        ([1.0, 2.0], 100, 2.0),
    ],
)
def test_percentiles_by_nearest_rank(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == expected


def test_a_periods_stats_give_shares_and_processing_times() -> None:
    stats = period_stats({"success": 6, "error": 3, "duplicate": 1}, [5.0, 1.0, 3.0, 2.0, 4.0])
    assert stats["deliveries"] == 10
    assert (stats["success_rate"], stats["error_rate"], stats["duplicate_rate"]) == (
        60.0,
        30.0,
        10.0,
    )
    assert stats["processing_ms"] == {"p50": 3.0, "p95": 5.0, "p99": 5.0}
    empty = period_stats({}, [])
    assert (empty["deliveries"], empty["success_rate"], empty["processing_ms"]["p50"]) == (
        0,
        0.0,
        None,
    )
