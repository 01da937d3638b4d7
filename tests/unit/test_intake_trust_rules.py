"""Pure rules of intake's trust and set-up: signatures, provider credentials, presets and
intake rules, table-driven."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from limits import RateLimitItemPerSecond

from leadpipe.conditions.rules import condition_holds
from leadpipe.errors import Forbidden, Unauthorized, ValidationFailed
from leadpipe.intake.limits import LocalWindows
from leadpipe.payloads.intake_rules import DeliveryFacts, opening_stage, rule_that_fires
from leadpipe.providers.rules import check_provider, provider_key
from leadpipe.webhooks import signatures
from leadpipe.webhooks.presets import (
    flattened,
    leadgen_changes,
    merged_settings,
    verification_answer,
)
from leadpipe.webhooks.signatures import sign_base64, sign_hex, sign_standard, verify

NOW = 1_800_000_000
BODY = b'{"email": "a@example.com"}'
SECRET = signatures.new_secret()


def standard(secret: str = SECRET, body: bytes = BODY, at: int = NOW) -> dict[str, str]:
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(at),
        "webhook-signature": sign_standard(secret, "msg_1", at, body),
    }


@pytest.mark.parametrize(
    ("mode", "headers", "body", "outcome"),
    [
        ("off", {}, BODY, None),
        ("off", {"x-webhook-signature": "sha256=00"}, BODY, None),  # off: never checked
        ("optional", {}, BODY, None),
        ("required", {}, BODY, Unauthorized),
        ("required", standard(), BODY, "standard-webhooks"),
        ("required", standard(), BODY + b" ", Unauthorized),
        ("required", standard(at=NOW - 301), BODY, Unauthorized),
        ("required", standard(at=NOW + 301), BODY, Unauthorized),  # a clock far ahead
        (
            "required",
            {**standard(), "webhook-signature": "v1,AAAA " + standard()["webhook-signature"]},
            BODY,
            "standard-webhooks",
        ),
        ("required", {"x-webhook-signature": sign_hex(SECRET, BODY)}, BODY, "x-webhook-signature"),
        ("required", {"x-webhook-signature": "sha1=abc"}, BODY, Unauthorized),
        ("required", {"x-hub-signature-256": sign_hex(SECRET, BODY)}, BODY, "x-hub-signature-256"),
        ("required", {"typeform-signature": sign_base64(SECRET, BODY)}, BODY, "typeform-signature"),
        ("optional", {"typeform-signature": "sha256=not base64!"}, BODY, Unauthorized),
    ],
)
def test_signatures_are_verified_in_each_scheme(
    mode: str, headers: dict[str, str], body: bytes, outcome: Any
) -> None:
    if isinstance(outcome, type):
        with pytest.raises(outcome):
            verify(mode, [SECRET], headers, body, NOW)
        return
    verified = verify(mode, [SECRET], headers, body, NOW)
    assert (verified.scheme if verified else None) == outcome


def test_a_standard_signature_at_a_future_time_within_tolerance_verifies() -> None:
    headers = standard(at=NOW + 200)
    verified = verify("required", [SECRET], headers, BODY, NOW)
    assert verified is not None
    assert verified.signed_at == NOW + 200


def test_rotation_keeps_the_old_secrets_until_their_date_and_drops_expired_ones() -> None:
    now = datetime(2026, 12, 4, tzinfo=UTC)
    held = signatures.rotated([], "first-secret-0123456", now, now)
    held = signatures.rotated(held, "second-secret-012345", now, now + timedelta(hours=24))
    assert signatures.valid_secrets(held, now) == ["first-secret-0123456", "second-secret-012345"]
    assert signatures.valid_secrets(held, now + timedelta(hours=25)) == ["second-secret-012345"]
    later = signatures.rotated(held, "third-secret-0123456", now + timedelta(hours=25), now)
    assert [s["secret"] for s in later] == ["second-secret-012345", "third-secret-0123456"]
    assert all("secret" not in d for d in signatures.described(later, now))


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("short", True),
        ("whsec_!!!not-base64!!!", True),
        ("long-enough-secret-1", False),
        (SECRET, False),
    ],
)
def test_a_given_secret_must_be_long_enough_and_well_formed(secret: str, problem: bool) -> None:
    assert (signatures.secret_problem(secret) is not None) == problem


@pytest.mark.parametrize(
    ("headers", "key"),
    [
        ({"x-provider-key": " lpp_abc "}, "lpp_abc"),
        ({"authorization": "Bearer lpp_abc"}, "lpp_abc"),
        ({"authorization": "bearer lpp_abc"}, "lpp_abc"),
        ({"authorization": "Bearer sk_live_other_service"}, None),
        ({"authorization": "Basic dXNlcjpwYXNz"}, None),
        ({}, None),
    ],
)
def test_a_provider_credential_is_ours_only_in_our_format(
    headers: dict[str, str], key: str | None
) -> None:
    assert provider_key(headers) == key


ACTIVE = {"is_active": True, "allowed_webhooks": ["wh_a"]}


@pytest.mark.parametrize(
    ("provider", "sent", "required", "webhook", "refusal"),
    [
        (None, False, False, "wh_a", None),
        (None, False, True, "wh_a", Unauthorized),
        (None, True, False, "wh_a", Unauthorized),
        ({**ACTIVE, "is_active": False}, True, False, "wh_a", Unauthorized),
        (ACTIVE, True, True, "wh_b", Forbidden),
        (ACTIVE, True, True, "wh_a", None),
        ({**ACTIVE, "allowed_webhooks": None}, True, True, "wh_b", None),
    ],
)
def test_providers_are_refused_by_credential_and_allowed_webhooks(
    provider: dict[str, Any] | None, sent: bool, required: bool, webhook: str, refusal: Any
) -> None:
    if refusal is None:
        check_provider(provider, sent=sent, required=required, webhook_id=webhook)
    else:
        with pytest.raises(refusal):
            check_provider(provider, sent=sent, required=required, webhook_id=webhook)


def test_presets_flatten_their_senders_payloads() -> None:
    fb = flattened(
        "facebook", {"id": "9", "field_data": [{"name": "email", "values": ["a@b.co"]}]}, {}
    )
    assert (fb.payload["email"], fb.payload["facebook_id"], fb.key) == ("a@b.co", "9", "facebook:9")
    google = flattened(
        "google",
        {
            "lead_id": "L1",
            "google_key": "k",
            "is_test": True,
            "user_column_data": [{"column_id": "PHONE_NUMBER", "string_value": "+15125550100"}],
        },
        {"google_key": "k"},
    )
    assert (google.payload["phone"], google.test, google.key) == ("+15125550100", True, "google:L1")
    with pytest.raises(Unauthorized):
        flattened("google", {"google_key": "x", "user_column_data": []}, {"google_key": "k"})
    unbounce = flattened(
        "unbounce", {"data.json": json.dumps({"email": ["u@b.co"], "tags": ["a", "b"]})}, {}
    )
    assert unbounce.payload == {"email": "u@b.co", "tags": "a, b"}
    with pytest.raises(ValidationFailed):
        flattened("unbounce", {"data.json": "{nope"}, {})
    assert flattened("generic", {"x": 1}, {}).payload == {"x": 1}


def test_leadgen_notifications_and_the_handshake() -> None:
    note = {
        "object": "page",
        "entry": [
            {
                "changes": [
                    {"field": "leadgen", "value": {"leadgen_id": "1"}},
                    {"field": "feed", "value": {}},
                ]
            }
        ],
    }
    assert leadgen_changes(note) == [{"leadgen_id": "1"}]
    assert leadgen_changes({"email": "a@b.co"}) == []
    query = {"hub.mode": "subscribe", "hub.verify_token": "t", "hub.challenge": "42"}
    assert verification_answer({"verify_token": "t"}, query) == "42"
    assert verification_answer({"verify_token": "other"}, query) is None
    assert verification_answer({}, {**query, "hub.verify_token": ""}) is None


def test_credentials_sent_back_as_shown_keep_their_value() -> None:
    held = {"page_token": "EAAG", "redirect_url": "https://a"}
    assert merged_settings(held, {"page_token": "[set]", "redirect_url": None}) == {
        "page_token": "EAAG"
    }


FIELDS = {
    "state": "TX",
    "product": "Solar Panels",
    "source": None,
    "custom_fields": {"roof": "tile"},
}
PAYLOAD = {"campaign": {"kind": "paid"}, "answers": [{"id": "q1", "text": "yes"}]}


@pytest.mark.parametrize(
    ("field", "operator", "value", "holds"),
    [
        ("state", "equals", "tx", True),
        ("state", "not_equals", "TX", False),
        ("product", "contains", "panel", True),
        ("product", "not_contains", "wind", True),
        ("state", "in", ["CA", "TX"], True),
        ("state", "not_in", ["CA"], True),
        ("product", "starts_with", "solar", True),
        ("product", "ends_with", "panels", True),
        ("source", "exists", None, False),
        ("source", "not_exists", None, True),
        ("source", "not_equals", "x", True),  # absent is not equal to anything
        ("source", "equals", "x", False),
        ("custom.roof", "equals", "Tile", True),
        ("payload.campaign.kind", "equals", "paid", True),
        ("payload.answers[id=q1].text", "equals", "yes", True),
        ("payload.nowhere", "exists", None, False),
    ],
)
def test_each_operator(field: str, operator: str, value: Any, holds: bool) -> None:
    condition = {"field": field, "operator": operator, "value": value}
    assert condition_holds(condition, DeliveryFacts(FIELDS, PAYLOAD)) is holds


def test_the_first_rule_by_ascending_priority_fires() -> None:
    """A lower number is matched first (DESIGN 2.6); a tie goes to the rule written first."""

    def rule(name: str, priority: int, value: str, enabled: bool = True) -> dict[str, Any]:
        return {
            "name": name,
            "priority": priority,
            "enabled": enabled,
            "conditions": [{"field": "state", "operator": "equals", "value": value}],
            "actions": {"tags": [name]},
        }

    rules = [
        rule("later", 50, "TX"),
        rule("off", 1, "TX", enabled=False),
        rule("first", 10, "TX"),
        rule("other", 2, "CA"),
    ]
    fired = rule_that_fires(rules, FIELDS, PAYLOAD)
    assert fired is not None
    assert fired["name"] == "first"
    tie = rule_that_fires([rule("tie-a", 5, "TX"), rule("tie-b", 5, "TX")], FIELDS, PAYLOAD)
    assert tie is not None
    assert tie["name"] == "tie-a"
    assert rule_that_fires([rule("other", 1, "CA")], FIELDS, PAYLOAD) is None


@pytest.mark.parametrize(
    ("rule_stage", "status_stage", "default", "new_contact", "opens_in"),
    [
        ("qualified", "won", "proposal", True, "qualified"),
        (None, "won", "proposal", True, "won"),
        (None, None, "proposal", True, "proposal"),
        (None, None, "proposal", False, None),
        (None, None, None, True, None),
    ],
)
def test_the_stage_a_new_lead_opens_in(
    rule_stage: str | None,
    status_stage: str | None,
    default: str | None,
    new_contact: bool,
    opens_in: str | None,
) -> None:
    rule = {"actions": {"stage": rule_stage}} if rule_stage else None
    assert opening_stage(rule, status_stage, default, new_contact=new_contact) == opens_in


def test_a_workers_own_windows_count_as_a_sliding_window() -> None:
    now = [6000.0]  # the start of a 60-second window
    windows = LocalWindows(clock=lambda: now[0])
    three_a_minute = RateLimitItemPerSecond(3, 60)
    assert [windows.hit(three_a_minute, "k") for _ in range(3)] == [None, None, None]
    assert windows.hit(three_a_minute, "k") == 6060.0  # full until the next window
    assert windows.hit(three_a_minute, "other") is None  # each key counts on its own
    now[0] = 6060.0 + 30  # half-way through the next window: half of the last one weighs
    assert windows.hit(three_a_minute, "k") is None  # 1.5 + 0 + 1 <= 3
    assert windows.hit(three_a_minute, "k") is not None  # 1.5 + 1 + 1 > 3
    now[0] = 6000.0 + 300  # long after: nothing weighs
    assert [windows.hit(three_a_minute, "k") for _ in range(3)] == [None, None, None]
