"""Three intake defects, through HTTP on both databases: an identical body written
another way is the same delivery (DESIGN §2.14); of concurrent replays of one refused
delivery one runs and the others are told which one did; and a failure of ours reaches
the intake log and the sender as a reason code, never as the exception's text."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead
from tests.conftest import Tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.helpers import assert_answered_as_duplicate, count

# Field by field the same as SAME_REORDERED, written another way.
SAME = (
    b'{"phone": "5552000001", "firstname": "Ada", "product": "Solar",\n'
    b'  "extra": {"a": 1, "b": [1, 2]}}'
)
SAME_REORDERED = (
    b'{"extra":{"b":[1,2],"a":1},"product":"Solar","firstname":"Ada","phone":"5552000001"}'
)
# A provider that nests its fields: refused until the webhook maps them.
NESTED = {"lead": {"mobile": "5552000002", "first": "Ada"}, "product": "Solar"}
# In the exception of the internal failure below: it must reach the server log only.
SECRET_TEXT = "boom-internal-detail"


def _api(tenant: Tenant) -> dict[str, str]:
    return {"X-API-Key": tenant.api_key}


async def _deliveries(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v3/webhooks/{tenant.webhook_id}/deliveries", headers=_api(tenant)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]
    return items


async def _send(
    client: httpx.AsyncClient, tenant: Tenant, body: bytes, content_type: str
) -> httpx.Response:
    return await client.post(tenant.url, content=body, headers={"Content-Type": content_type})


async def test_the_same_json_with_its_keys_reordered_is_the_same_delivery(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    first = await _send(client, tenant, SAME, "application/json")
    second = await _send(client, tenant, SAME_REORDERED, "application/json")

    assert first.status_code == second.status_code == 200, second.text
    assert_answered_as_duplicate(second.json(), first.json())
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert (count(db, Contact), count(db, Lead)) == (1, 1)
    assert [d["status"] for d in await _deliveries(client, tenant)] == ["duplicate", "success"]


async def test_the_same_form_pairs_in_another_order_are_the_same_delivery(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    form = "application/x-www-form-urlencoded"
    first = await _send(client, tenant, b"phone=5552000003&firstname=Ada&product=Solar", form)
    second = await _send(client, tenant, b"product=Solar&firstname=Ada&phone=5552000003", form)

    assert first.status_code == second.status_code == 200, second.text
    assert_answered_as_duplicate(second.json(), first.json())
    assert count(db, Lead) == 1


async def test_a_body_that_differs_in_a_value_is_a_delivery_of_its_own(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await _send(client, tenant, SAME, "application/json")
    other = SAME_REORDERED.replace(b"Solar", b"Roofing")

    response = await _send(client, tenant, other, "application/json")

    assert response.status_code == 200
    assert "Idempotent-Replayed" not in response.headers
    assert count(db, Lead) == 2


async def test_of_ten_concurrent_replays_one_runs_and_nine_are_told_which(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    refused = await client.post(tenant.url, json=NESTED)
    assert refused.status_code == 400
    (entry,) = await _deliveries(client, tenant)
    fixed = await client.patch(
        f"/api/v3/webhooks/{tenant.webhook_id}",
        json={"field_mapping": {"lead.mobile": "phone", "lead.first": "firstname"}},
        headers=_api(tenant),
    )
    assert fixed.status_code == 200, fixed.text
    url = f"/api/v3/webhooks/{tenant.webhook_id}/deliveries/{entry['id']}/replay"

    answers = await asyncio.gather(*(client.post(url, headers=_api(tenant)) for _ in range(10)))

    assert sorted(a.status_code for a in answers) == [200] + [409] * 9
    (won,) = [a.json()["data"] for a in answers if a.status_code == 200]
    assert won["http_status"] == 200
    lead_id = won["response"]["lead_id"]
    for lost in (a.json() for a in answers if a.status_code == 409):
        assert lost["code"] == "CONFLICT"
        assert won["replayed_as"] in lost["error"]
        assert lead_id in lost["error"]
        named = {d["field"]: d["message"] for d in lost["details"]}
        assert named["replayed_as"] == won["replayed_as"]
        assert named["lead_id"] == lead_id
        assert named["lead_action"] == "created"
        assert named["replayed_at"]
    assert (count(db, Contact), count(db, Lead)) == (1, 1)
    listed = await _deliveries(client, tenant)
    assert [d["status"] for d in listed] == ["success", "error"]
    assert listed[1]["replayed_as"] == listed[0]["id"] == won["replayed_as"]


async def test_the_dashboard_names_the_replay_that_came_first(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await client.post(tenant.url, json=NESTED)
    (entry,) = await _deliveries(client, tenant)
    await client.patch(
        f"/api/v3/webhooks/{tenant.webhook_id}",
        json={"field_mapping": {"lead.mobile": "phone", "lead.first": "firstname"}},
        headers=_api(tenant),
    )
    first = await client.post(
        f"/api/v3/webhooks/{tenant.webhook_id}/deliveries/{entry['id']}/replay",
        headers=_api(tenant),
    )
    won = first.json()["data"]
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))

    page = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/deliveries/{entry['id']}/replay",
        data={"csrf_token": csrf},
    )

    assert page.status_code == 409
    assert "This delivery was replayed already" in page.text
    assert won["replayed_as"] in page.text
    assert won["response"]["lead_id"] in page.text
    assert count(db, Lead) == 1


@contextmanager
def _failing_new_contacts(db: Database) -> Iterator[None]:
    """The database fails every new contact with an error that is none of ours, as a bug
    or a broken database would: its text holds SECRET_TEXT. Undone after: PostgreSQL's
    test database lives for the session."""
    _fail_new_contacts(db)
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("DROP TRIGGER IF EXISTS fail_contact ON contacts"))
                conn.execute(text("DROP FUNCTION IF EXISTS fail_contact()"))
            else:
                conn.execute(text("DROP TRIGGER IF EXISTS fail_contact"))


def _fail_new_contacts(db: Database) -> None:
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    "CREATE FUNCTION fail_contact() RETURNS trigger LANGUAGE plpgsql AS "
                    f"$$ BEGIN RAISE EXCEPTION '{SECRET_TEXT}'; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER fail_contact BEFORE INSERT ON contacts "
                    "FOR EACH ROW EXECUTE FUNCTION fail_contact()"
                )
            )
        else:
            # A trigger's RAISE() is a constraint error (retried as a conflict); a failing
            # function call is an operational one. Its text names the function.
            conn.execute(
                text(
                    f"CREATE TRIGGER fail_contact BEFORE INSERT ON contacts BEGIN "
                    f"SELECT {SECRET_TEXT.replace('-', '_')}(); END"
                )
            )


async def test_an_internal_failure_shows_a_reason_code_and_no_exception_text(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = SECRET_TEXT if db.engine.dialect.name == "postgresql" else "boom_internal_detail"
    caplog.set_level(logging.INFO, logger="leadpipe")

    with _failing_new_contacts(db):
        response = await client.post(
            tenant.url, json={"phone": "5552000009"}, headers={"X-Request-ID": "req-internal-1"}
        )

    assert response.status_code == 500
    answer = response.json()
    assert (answer["code"], answer["request_id"]) == ("INTERNAL_ERROR", "req-internal-1")
    assert secret not in response.text
    assert "contacts" not in response.text.lower()  # no SQL either
    (entry,) = await _deliveries(client, tenant)
    assert (entry["status"], entry["http_status"]) == ("error", 500)
    assert (entry["error_code"], entry["error_reason"]) == ("INTERNAL_ERROR", "internal_error")
    assert "req-internal-1" in entry["error_message"]
    detail = await client.get(
        f"/api/v3/webhooks/{tenant.webhook_id}/deliveries/{entry['id']}", headers=_api(tenant)
    )
    shown = detail.json()["data"]
    assert secret not in (shown["error_message"] or "")
    assert secret not in detail.text.replace(shown["body"] or "", "")
    failures = [r for r in caplog.records if "req-internal-1" in r.getMessage()]
    assert failures, "the server log names the request"
    assert any(r.exc_info and secret in str(r.exc_info[1]) for r in failures)
    assert count(db, Contact) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b'{"phone": "5552000010",}', "application/json", "invalid_json"),
        (b'["5552000010"]', "application/json", "json_not_object"),
        (b'{"firstname": "Ada", "product": "Solar"}', "application/json", "missing_identity"),
        (b"phone=5552000010", "text/plain", "unsupported_media_type"),
    ],
)
async def test_a_refusal_is_logged_with_its_reason_code(
    client: httpx.AsyncClient, tenant: Tenant, body: bytes, content_type: str, reason: str
) -> None:
    response = await _send(client, tenant, body, content_type)

    assert 400 <= response.status_code < 500
    (entry,) = await _deliveries(client, tenant)
    assert entry["error_reason"] == reason
    assert entry["error_message"]
    assert "char " not in response.json()["error"]  # the parser's own words stay with it
