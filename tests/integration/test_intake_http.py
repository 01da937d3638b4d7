"""The webhook intake through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.leads.repository import LeadRepository
from leadpipe.storage.engine import Database
from leadpipe.storage.models import (
    Contact,
    Lead,
    LeadStatusHistory,
    Webhook,
    WebhookDelivery,
    Workspace,
)
from leadpipe.webhooks.examples import SEED_NEW_LEAD, SEED_STATUS_UPDATE
from tests.conftest import Tenant, make_tenant
from tests.integration.helpers import (
    activities,
    age_lead,
    assert_answered_as_duplicate,
    backdate,
    count,
    counts,
    inbound_log,
    one,
    refusing_inserts,
    rows,
)
from tests.integration.test_lead_counts import assert_counts_kept


async def post(
    client: httpx.AsyncClient, tenant: Tenant, payload: dict[str, Any], **headers: str
) -> httpx.Response:
    return await client.post(tenant.url, json=payload, headers=headers)


class TestNewLead:
    async def test_seed_payload_creates_contact_lead_and_timeline(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await post(client, tenant, SEED_NEW_LEAD, **{"x-workspace-id": "39135"})

        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True
        assert body["message"] == "Contact and lead created successfully"
        assert body["is_new_contact"] is True
        assert body["match_type"] == "new"
        assert body["lead_action"] == "created"
        assert body["processing_time"].endswith("ms")
        assert body["request_id"] == response.headers["x-request-id"]

        contact = one(db, Contact, id=body["contact_id"])
        assert contact["phone_number"] == "+13055551234"
        assert contact["email"] == "carlos@example.com"
        assert contact["crm_id"] == "CRM123456"
        assert (contact["firstname"], contact["lastname"]) == ("Carlos", "Rodriguez")
        assert contact["workspace_id"] == "39135"
        assert contact["lead_source"] == "Facebook Ads"

        lead = one(db, Lead, id=body["lead_id"])
        assert lead["product_interest"] == "Pool Installation"
        assert lead["stage"] == "new"
        assert lead["probability"] == 10
        assert lead["is_active"] is True
        assert lead["is_converted"] is False
        assert lead["raw_payload"] == SEED_NEW_LEAD
        assert lead["ip_address"] == "198.51.100.7"
        assert lead["user_agent"].startswith("python-httpx")

        timeline = activities(db, body["lead_id"])
        assert [a["activity_type"] for a in timeline] == ["lead_created", "appointment_scheduled"]
        assert timeline[1]["title"] == "Appointment: 2025-09-30 2:00 PM"
        for activity in timeline:
            assert activity["is_automated"] is True
            assert activity["metadata"]["webhook"]["id"] == tenant.webhook_id
            assert activity["metadata"]["webhook"]["source"] == "Facebook Ads"
            assert activity["metadata"]["webhook"]["timestamp"]
            assert activity["metadata"]["decision"]["rule"] == "no_matching_lead"

    async def test_attribution_consent_and_extras_are_kept(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        payload = {
            "firstName": "Ana",
            "lastName": "Lopez",
            "phoneNumber": "(555) 123-4567",
            "product": "Solar",
            "utmSource": "facebook",
            "utm_medium": "cpc",
            "utm_campaign": "spring",
            "landing_page_url": "https://ex.com/solar",
            "campaignId": "C-9",
            "consent": {"description": "I agree", "value": True},
            "tcpa_compliance": "yes",
            "estimated_value": "$25,000",
            "roofAge": 12,
            "monthlyElectricBill": 240,
            "notes": "Call after 5pm",
        }
        body = (await post(client, tenant, payload)).json()

        lead = one(db, Lead, id=body["lead_id"])
        assert (lead["utm_source"], lead["utm_medium"], lead["utm_campaign"]) == (
            "facebook",
            "cpc",
            "spring",
        )
        assert lead["landing_page_url"] == "https://ex.com/solar"
        assert lead["campaign_id"] == "C-9"
        assert lead["consent_description"] == "I agree"
        assert lead["consent_value"] is True
        assert lead["tcpa_compliance"] is True
        assert lead["estimated_value"] == Decimal("25000.00")
        assert lead["initial_inquiry"] == "Call after 5pm"
        contact = one(db, Contact, id=body["contact_id"])
        assert contact["phone_number"] == "+15551234567"
        assert contact["custom_fields"] == {"roofAge": 12, "monthlyElectricBill": 240}
        assert contact["notes"] == "Call after 5pm"

    async def test_contact_without_lead_data_opens_no_lead(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        body = (await post(client, tenant, {"firstname": "Al", "email": "al@example.com"})).json()

        assert body["lead_id"] is None
        assert body["lead_action"] == "none"
        assert body["message"] == "Contact created successfully"
        assert count(db, Contact) == 1
        assert count(db, Lead) == 0

    async def test_always_create_lead_webhook_opens_one_anyway(
        self, client: httpx.AsyncClient, db: Database
    ) -> None:
        tenant = make_tenant(db, always_create_lead=True)
        body = (await post(client, tenant, {"email": "al@example.com"})).json()

        assert body["lead_action"] == "created"
        assert one(db, Lead, id=body["lead_id"])["stage"] == "new"

    async def test_won_status_on_a_new_lead_converts_it(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        body = (
            await post(
                client,
                tenant,
                {"email": "w@example.com", "product": "Roof", "lead_status": "Closed Won"},
            )
        ).json()

        lead = one(db, Lead, id=body["lead_id"])
        assert (lead["stage"], lead["is_converted"], lead["probability"]) == ("won", True, 100)
        assert lead["converted_at"] is not None
        assert [a["activity_type"] for a in activities(db, body["lead_id"])] == [
            "lead_created",
            "lead_converted",
        ]


class TestStatusUpdate:
    async def test_seed_status_update_by_crm_id_converts_the_lead(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        first = (await post(client, tenant, SEED_NEW_LEAD)).json()
        second = (await post(client, tenant, SEED_STATUS_UPDATE)).json()

        assert second["match_type"] == "crm_id"
        assert second["lead_action"] == "updated"
        assert second["lead_id"] == first["lead_id"]
        assert second["contact_id"] == first["contact_id"]
        assert second["message"] == "Contact updated via crm_id match; lead updated"
        lead = one(db, Lead, id=first["lead_id"])
        assert (lead["stage"], lead["is_converted"], lead["is_active"]) == ("won", True, True)
        assert lead["converted_at"] is not None
        assert lead["previous_stage"] == "new"
        assert count(db, Lead) == 1

        timeline = activities(db, first["lead_id"])
        status = next(a for a in timeline if a["activity_type"] == "status_updated")
        assert status["title"] == "Status: new → won"
        assert status["metadata"]["previous_stage"] == "new"
        assert status["metadata"]["new_stage"] == "won"
        assert status["metadata"]["decision"]["rule"] == "status_progression"
        converted = next(a for a in timeline if a["activity_type"] == "lead_converted")
        assert converted["outcome"] == "converted"
        history = rows(db, LeadStatusHistory, lead_id=first["lead_id"])
        assert [(h["old_stage"], h["new_stage"]) for h in history] == [
            (None, "new"),
            ("new", "won"),
        ]

    async def test_update_keeps_fields_the_payload_does_not_send(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        first = (await post(client, tenant, SEED_NEW_LEAD)).json()
        await post(
            client,
            tenant,
            {"crm_id": "CRM123456", "city": "Miami", "lastname": "", "extra": "kept"},
        )

        contact = one(db, Contact, id=first["contact_id"])
        assert contact["city"] == "Miami"
        assert contact["lastname"] == "Rodriguez"
        assert contact["email"] == "carlos@example.com"
        assert contact["phone_number"] == "+13055551234"
        assert contact["custom_fields"] == {"extra": "kept"}

    @pytest.mark.parametrize(
        ("status", "stage", "active"),
        [
            ("Qualified", "qualified", True),
            ("proposal_sent", "proposal", True),
            ("In Negotiation", "negotiation", True),
            ("Closed Lost", "lost", False),
            ("lost", "lost", False),
        ],
    )
    async def test_status_words_move_the_lead_to_their_stage(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        status: str,
        stage: str,
        active: bool,
    ) -> None:
        first = (await post(client, tenant, {"phone": "5551234567", "product": "HVAC"})).json()
        second = (
            await post(
                client, tenant, {"phone": "555.123.4567", "product": "hvac", "status": status}
            )
        ).json()

        assert second["lead_id"] == first["lead_id"]
        lead = one(db, Lead, id=first["lead_id"])
        assert (lead["stage"], lead["is_active"]) == (stage, active)
        assert (lead["lost_at"] is not None) == (stage == "lost")

    async def test_lead_older_than_the_window_gets_a_new_lead(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        first = (await post(client, tenant, SEED_NEW_LEAD)).json()
        age_lead(db, first["lead_id"], days=31)
        second = (
            await post(client, tenant, {**SEED_STATUS_UPDATE, "lead_status": "Qualified"})
        ).json()

        assert second["lead_action"] == "created"
        assert second["lead_id"] != first["lead_id"]
        assert second["decision"]["rule"] == "outside_window"
        assert one(db, Lead, id=second["lead_id"])["stage"] == "qualified"
        assert one(db, Lead, id=first["lead_id"])["stage"] == "new"

    async def test_different_product_and_no_keyword_get_new_leads(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        kitchen = (
            await post(client, tenant, {"email": "k@example.com", "product": "Kitchen"})
        ).json()
        solar = (
            await post(
                client,
                tenant,
                {"email": "k@example.com", "product": "Solar", "status": "qualified"},
            )
        ).json()
        again = (
            await post(
                client, tenant, {"email": "k@example.com", "product": "Kitchen", "status": "New"}
            )
        ).json()

        assert solar["decision"]["rule"] == "no_matching_lead"
        assert again["decision"]["rule"] == "no_status_keyword"
        assert len({kitchen["lead_id"], solar["lead_id"], again["lead_id"]}) == 3
        assert count(db, Contact) == 1

    async def test_won_lead_with_a_new_inquiry_gets_a_new_lead(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        await post(client, tenant, SEED_NEW_LEAD)
        await post(client, tenant, SEED_STATUS_UPDATE)
        third = (
            await post(client, tenant, {**SEED_STATUS_UPDATE, "lead_status": "Qualified"})
        ).json()

        assert third["lead_action"] == "created"
        assert third["decision"]["rule"] == "already_converted"
        assert count(db, Lead) == 2


class TestBodies:
    async def test_form_urlencoded_body(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await client.post(
            tenant.url,
            data={
                "first_name": "Form",
                "phone": "+61 412 345 678",
                "product": "Solar",
                "tags": ["a", "b"],
                "tcpa": "on",
            },
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert one(db, Contact, id=body["contact_id"])["phone_number"] == "+61412345678"
        lead = one(db, Lead, id=body["lead_id"])
        assert lead["tags"] == ["a", "b"]
        assert lead["tcpa_compliance"] is True

    async def test_multipart_body(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await client.post(
            tenant.url,
            data={"email": "MP@Example.com", "interest": "Roofing"},
            files={"photo": ("roof.jpg", b"\xff\xd8\xff", "image/jpeg")},
        )

        assert response.status_code == 200, response.text
        body = response.json()
        contact = one(db, Contact, id=body["contact_id"])
        assert contact["email"] == "mp@example.com"
        assert contact["custom_fields"] == {"photo": "roof.jpg"}
        assert one(db, Lead, id=body["lead_id"])["product_interest"] == "Roofing"

    async def test_nested_field_mapping(self, client: httpx.AsyncClient, db: Database) -> None:
        tenant = make_tenant(
            db,
            field_mapping={
                "customer.personal.firstName": "firstname",
                "$.customer.contact.mobile": "phone_number",
                "job.kind": "product",
                "job.budget": "budget_note",
            },
        )
        payload = {
            "customer": {
                "personal": {"firstName": "Nia", "age": 40},
                "contact": {"mobile": "5559876543"},
            },
            "job": {"kind": "Bath Remodel", "budget": "10k"},
        }
        body = (await post(client, tenant, payload)).json()

        contact = one(db, Contact, id=body["contact_id"])
        assert contact["firstname"] == "Nia"
        assert contact["phone_number"] == "+15559876543"
        assert contact["custom_fields"] == {
            "budget_note": "10k",
            "customer": {"personal": {"age": 40}},
        }
        assert one(db, Lead, id=body["lead_id"])["product_interest"] == "Bath Remodel"


class TestErrorsWriteNothing:
    async def _assert_error(self, response: httpx.Response, status: int, code: str) -> None:
        assert response.status_code == status, response.text
        body = response.json()
        assert body["success"] is False
        assert body["code"] == code
        assert body["error"]
        assert body["request_id"] == response.headers["x-request-id"]
        assert isinstance(body["details"], list)

    async def test_other_methods_and_paths_under_webhooks_are_refused_in_the_envelope(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        await self._assert_error(await client.get(tenant.url), 405, "METHOD_NOT_ALLOWED")
        await self._assert_error(
            await client.post(f"{tenant.url}/extra", json={"email": "a@example.com"}),
            404,
            "NOT_FOUND",
        )
        assert counts(db) == dict.fromkeys(counts(db), 0)

    async def test_text_with_a_nul_character_is_refused_naming_its_field(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        sent = {"firstname": "Jo\u0000hn", "phone": "5550710001", "roof": {"type": "tile\u0000"}}
        response = await post(client, tenant, sent)
        await self._assert_error(response, 400, "VALIDATION_ERROR")
        assert [d["field"] for d in response.json()["details"]] == ["firstname", "roof.type"]

        form = await client.post(
            tenant.url,
            content=b"phone=5550710002&notes=a%00b",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        await self._assert_error(form, 400, "VALIDATION_ERROR")
        assert [d["field"] for d in form.json()["details"]] == ["notes"]
        assert counts(db) == dict.fromkeys(counts(db), 0)
        # A backslash before "u0000" is text like any other.
        fine = await client.post(
            tenant.url,
            content=b'{"phone": "5550710003", "notes": "C:\\\\u0000"}',
            headers={"content-type": "application/json"},
        )
        assert fine.status_code == 200, fine.text

    async def test_unsupported_content_type(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await client.post(
            tenant.url, content=b"<lead/>", headers={"content-type": "application/xml"}
        )
        await self._assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
        assert counts(db) == dict.fromkeys(counts(db), 0)

    async def test_body_over_one_mebibyte(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        big = {"email": "big@example.com", "notes": "x" * (1024 * 1024)}
        await self._assert_error(await post(client, tenant, big), 413, "PAYLOAD_TOO_LARGE")

        async def chunks() -> Any:  # no Content-Length: the limit holds while streaming
            yield b'{"email": "big@example.com", "notes": "'
            for _ in range(9):
                yield b"x" * (128 * 1024)
            yield b'"}'

        response = await client.post(
            tenant.url, content=chunks(), headers={"content-type": "application/json"}
        )
        await self._assert_error(response, 413, "PAYLOAD_TOO_LARGE")
        assert count(db, Contact) == 0

    async def test_malformed_json(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await client.post(
            tenant.url, content=b'{"email": ', headers={"content-type": "application/json"}
        )
        await self._assert_error(response, 400, "VALIDATION_ERROR")
        response = await client.post(tenant.url, json=[{"email": "a@example.com"}])
        await self._assert_error(response, 400, "VALIDATION_ERROR")
        assert count(db, Contact) == 0

    async def test_an_unusable_identity_names_each_of_its_fields(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await post(
            client,
            tenant,
            {
                "phone": "555-12",
                "email": "not-an-email",
                "estimated_value": "lots",
                "priority": "P1",
            },
        )
        await self._assert_error(response, 400, "VALIDATION_ERROR")
        fields = {d["field"] for d in response.json()["details"]}
        assert fields == {"phone_number", "email"}
        assert counts(db) == dict.fromkeys(counts(db), 0)

    async def test_identity_is_required(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await post(client, tenant, {"firstname": "Nobody", "product": "Solar"})
        await self._assert_error(response, 400, "VALIDATION_ERROR")
        assert response.json()["details"][0]["field"] == "phone_number"

        response = await post(client, tenant, {"crm_id": "UNKNOWN", "lead_status": "won"})
        await self._assert_error(response, 400, "VALIDATION_ERROR")
        assert "matches no contact" in response.json()["details"][0]["message"]
        assert counts(db) == dict.fromkeys(counts(db), 0)

    async def test_webhook_that_requires_a_phone(
        self, client: httpx.AsyncClient, db: Database
    ) -> None:
        tenant = make_tenant(db, require_phone=True)
        response = await post(client, tenant, {"email": "nophone@example.com"})
        await self._assert_error(response, 400, "VALIDATION_ERROR")
        assert count(db, Contact) == 0

    async def test_unknown_and_disabled_webhooks(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await client.post("/webhooks/wh_missing", json={"email": "a@example.com"})
        await self._assert_error(response, 404, "NOT_FOUND")
        with db.transaction() as conn:
            conn.execute(Webhook.__table__.update().values(is_active=False))
        response = await post(client, tenant, {"email": "a@example.com"})
        await self._assert_error(response, 404, "NOT_FOUND")
        assert count(db, Contact) == 0

    async def test_workspace_header_must_match(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await post(
            client, tenant, {"email": "a@example.com"}, **{"x-workspace-id": "someone-else"}
        )
        await self._assert_error(response, 403, "FORBIDDEN")
        assert count(db, Contact) == 0

    async def test_errors_are_logged_and_counters_untouched(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        await post(client, tenant, {"phone": "12"})
        await client.post(tenant.url, content=b"{", headers={"content-type": "application/json"})

        log = inbound_log(db, tenant.webhook_id)
        assert [(e["status"], e["http_status"], e["error_code"]) for e in log] == [
            ("error", 400, "VALIDATION_ERROR"),
            ("error", 400, "VALIDATION_ERROR"),
        ]
        assert "phone_number" in log[0]["error_message"]
        hook = one(db, Webhook, id=tenant.webhook_id)
        assert (hook["total_leads"], hook["last_lead_at"]) == (0, None)


class TestBookkeeping:
    async def test_counters_and_log_follow_each_delivery(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        first = (await post(client, tenant, SEED_NEW_LEAD)).json()
        await post(client, tenant, SEED_STATUS_UPDATE)

        hook = one(db, Webhook, id=tenant.webhook_id)
        assert hook["total_leads"] == 1  # its leads: the update of the first adds none
        assert hook["last_lead_at"] is not None
        log = inbound_log(db, tenant.webhook_id)
        assert [
            (e["status"], e["match_type"], e["lead_action"], e["decision_rule"]) for e in log
        ] == [
            ("success", "new", "created", "no_matching_lead"),
            ("success", "crm_id", "updated", "status_progression"),
        ]
        assert str(log[0]["lead_id"]) == first["lead_id"]
        assert log[0]["processing_ms"] > 0

    async def test_alias_route_and_per_webhook_dedup_scope(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        scoped = make_tenant(db, dedup_scope="webhook")
        a = (await post(client, tenant, {"phone": "5551112222"})).json()
        b = await client.post(f"/webhook/{scoped.webhook_id}", json={"phone": "5551112222"})
        c = await client.post(f"/webhook/{scoped.webhook_id}", json={"phone": "5551112222"})

        assert b.json()["contact_id"] != a["contact_id"]
        assert c.json()["contact_id"] == b.json()["contact_id"]
        assert count(db, Contact) == 2


class TestWebhookChanges:
    """Each worker remembers the webhooks it has seen, and confirms them with each batch:
    a change applies to the very next delivery."""

    async def test_disabling_and_enabling_a_webhook_applies_at_once(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        assert (await post(client, tenant, {"phone": "5551110001"})).status_code == 200

        _set_webhook(db, tenant, is_active=False)
        refused = await post(client, tenant, {"phone": "5551110002"})
        _set_webhook(db, tenant, is_active=True)
        accepted = await post(client, tenant, {"phone": "5551110003"})

        assert (refused.status_code, accepted.status_code) == (404, 200)
        phones = {c["phone_number"] for c in rows(db, Contact)}
        assert phones == {"+15551110001", "+15551110003"}

    async def test_a_new_region_and_mapping_apply_to_the_next_delivery(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        before = await post(client, tenant, {"phone": "0412 345 678"})

        with db.transaction() as conn:
            conn.execute(Workspace.__table__.update().values(default_region="AU"))
        _set_webhook(db, tenant, field_mapping={"mobile": "phone_number"})
        after = (await post(client, tenant, {"mobile": "0412 345 678"})).json()

        assert before.status_code == 400  # no American number starts with 0
        assert one(db, Contact, id=after["contact_id"])["phone_number"] == "+61412345678"

    async def test_deliveries_to_a_disabled_workspace_are_refused(
        self, client: httpx.AsyncClient, db: Database
    ) -> None:
        tenant = make_tenant(db, workspace_id="gone")
        assert (await post(client, tenant, {"phone": "5551110004"})).status_code == 200
        with db.transaction() as conn:
            conn.execute(Workspace.__table__.update().values(is_active=False))

        response = await post(client, tenant, {"phone": "5551110005"})

        assert response.status_code == 404
        assert count(db, Contact, workspace_id="gone") == 1


def _set_webhook(db: Database, tenant: Tenant, **values: Any) -> None:
    with db.transaction() as conn:
        conn.execute(
            Webhook.__table__.update().where(Webhook.id == tenant.webhook_id).values(**values)
        )


class TestIdempotency:
    async def test_replayed_delivery_returns_the_first_response_and_writes_nothing(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        first = await post(client, tenant, SEED_NEW_LEAD, **{"Idempotency-Key": "evt-1"})
        before = counts(db)
        again = await post(
            client,
            tenant,
            {**SEED_NEW_LEAD, "lead_status": "Qualified"},
            **{"Idempotency-Key": "evt-1"},
        )

        assert again.status_code == 200
        assert_answered_as_duplicate(again.json(), first.json())
        assert again.headers["idempotent-replayed"] == "true"
        assert counts(db) == before
        assert one(db, Webhook, id=tenant.webhook_id)["total_leads"] == 1
        assert [e["status"] for e in inbound_log(db, tenant.webhook_id)] == ["success", "duplicate"]

    async def test_standard_webhooks_id_and_other_keys(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        await post(
            client, tenant, {"email": "a@example.com", "product": "X"}, **{"webhook-id": "msg_1"}
        )
        await post(
            client, tenant, {"email": "a@example.com", "product": "X"}, **{"webhook-id": "msg_1"}
        )
        await post(
            client, tenant, {"email": "a@example.com", "product": "X"}, **{"webhook-id": "msg_2"}
        )

        assert count(db, Lead) == 2

    async def test_key_older_than_seven_days_is_processed_again(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        await post(
            client, tenant, {"email": "a@example.com", "product": "X"}, **{"Idempotency-Key": "old"}
        )
        backdate(db, WebhookDelivery, days=8)
        again = await post(
            client, tenant, {"email": "a@example.com", "product": "X"}, **{"Idempotency-Key": "old"}
        )

        assert "idempotent-replayed" not in again.headers
        assert count(db, Lead) == 2

    async def test_failed_delivery_can_be_retried_with_the_same_key(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        bad = await post(client, tenant, {"email": "nope"}, **{"Idempotency-Key": "k"})
        good = await post(client, tenant, {"email": "yes@example.com"}, **{"Idempotency-Key": "k"})

        assert bad.status_code == 400
        assert good.status_code == 200
        assert count(db, Contact) == 1

    async def test_concurrent_duplicates_are_processed_once(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        responses = await asyncio.gather(
            *[
                post(
                    client,
                    tenant,
                    {"email": "same@example.com", "product": "Solar"},
                    **{"Idempotency-Key": "burst"},
                )
                for _ in range(8)
            ]
        )

        assert {r.status_code for r in responses} == {200}
        assert len({r.json()["lead_id"] for r in responses}) == 1
        assert count(db, Lead) == 1


class TestConcurrency:
    async def test_parallel_posts_with_one_new_phone_create_one_contact(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        payloads = [
            {
                "phone_number": "(555) 010-9999",
                "firstname": f"P{i}",
                "email": f"p{i}@example.com",
                "product": "Solar",  # no status: each opens a lead
            }
            for i in range(10)
        ]
        responses = await asyncio.gather(*[post(client, tenant, p) for p in payloads])

        assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
        assert len({r.json()["contact_id"] for r in responses}) == 1
        assert sorted(r.json()["match_type"] for r in responses).count("new") == 1
        assert count(db, Contact) == 1
        assert one(db, Webhook, id=tenant.webhook_id)["total_leads"] == 10
        assert len(inbound_log(db, tenant.webhook_id)) == 10

    async def test_parallel_posts_across_identities_do_not_duplicate(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        payloads = [
            {"email": "shared@example.com"},
            {"phone": "5550101010"},
            {"crm_id": "C1", "email": "shared@example.com"},
            {"phone": "5550101010", "email": "shared@example.com"},
        ] * 3
        responses = await asyncio.gather(*[post(client, tenant, p) for p in payloads])

        assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
        emails = [c["email"] for c in rows(db, Contact) if c["email"]]
        phones = [c["phone_number"] for c in rows(db, Contact) if c["phone_number"]]
        assert emails == ["shared@example.com"]
        assert phones == ["+15550101010"]


class TestDeliveriesProcessedTogether:
    """Deliveries that arrive together share a transaction (group commit), and each one
    still succeeds or fails on its own."""

    async def test_a_repeat_of_a_contact_in_the_same_batch_sees_the_first_ones_lead(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        first = {"phone": "5550207777", "product": "Solar", "status": "new"}
        then = {"phone": "(555) 020-7777", "product": "Solar", "status": "qualified"}
        others = [{"phone": f"555022{i:04d}", "product": "HVAC"} for i in range(4)]
        responses = await asyncio.gather(
            *[post(client, tenant, p) for p in [others[0], first, others[1], then, *others[2:]]]
        )

        assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
        mine = [responses[1].json(), responses[3].json()]
        assert mine[0]["contact_id"] == mine[1]["contact_id"]
        assert sorted(b["lead_action"] for b in mine) == ["created", "updated"]
        assert mine[0]["lead_id"] == mine[1]["lead_id"]
        assert count(db, Contact) == 5
        assert count(db, Lead) == 5
        assert one(db, Lead, id=mine[0]["lead_id"])["stage"] in ("qualified", "new")
        assert one(db, Webhook, id=tenant.webhook_id)["total_leads"] == 5  # the update: none

    async def test_an_update_and_new_leads_in_one_batch_commit_together(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """The update's history and timeline rows are held back beside the new leads':
        each lead must still be written before the rows that refer to it."""
        known = await post(client, tenant, {"phone": "5550206666", "product": "Solar"})
        lead_id = known.json()["lead_id"]
        payloads: list[dict[str, Any]] = [
            {"phone": f"555023{i:04d}", "product": "HVAC"} for i in range(3)
        ]
        payloads.insert(1, {"phone": "5550206666", "product": "Solar", "status": "proposal"})
        responses = await asyncio.gather(*[post(client, tenant, p) for p in payloads])

        assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
        assert [r.json()["lead_action"] for r in responses] == ["created", "updated"] + [
            "created"
        ] * 2
        assert not [r for r in caplog.records if r.name == "leadpipe.intake"]
        assert one(db, Lead, id=lead_id)["stage"] == "proposal"
        assert [a["activity_type"] for a in activities(db, lead_id)].count("status_updated") == 1
        assert count(db, Lead) == 4

    async def test_a_bad_delivery_among_good_ones_fails_alone(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        payloads: list[dict[str, Any]] = [
            {"phone": f"555020{i:04d}", "product": "Solar"} for i in range(6)
        ]
        payloads[2] = {"phone": "12", "email": "not-an-email"}
        payloads[4] = {"firstname": "No identity"}
        responses = await asyncio.gather(*[post(client, tenant, p) for p in payloads])

        assert [r.status_code for r in responses] == [200, 200, 400, 200, 400, 200]
        assert count(db, Contact) == count(db, Lead) == 4
        assert one(db, Webhook, id=tenant.webhook_id)["total_leads"] == 4
        log = inbound_log(db, tenant.webhook_id)
        assert sorted(entry["status"] for entry in log) == ["error"] * 2 + ["success"] * 4
        assert {e["error_code"] for e in log if e["status"] == "error"} == {"VALIDATION_ERROR"}

    async def test_good_deliveries_commit_even_when_a_refusal_cannot_be_logged(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        payloads: list[dict[str, Any]] = [{"phone": f"555021{i:04d}"} for i in range(4)]
        payloads[1] = {"phone": "12"}
        with _log_refusing_errors(db):
            responses = await asyncio.gather(*[post(client, tenant, p) for p in payloads])

        assert [r.status_code for r in responses] == [200, 400, 200, 200]
        assert count(db, Contact) == 3
        assert [e["status"] for e in inbound_log(db, tenant.webhook_id)] == ["success"] * 3

    async def test_repeats_of_one_delivery_arriving_together_are_processed_once(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        headers = {"Idempotency-Key": "same-delivery"}
        responses = await asyncio.gather(
            *[
                client.post(
                    tenant.url, json={"phone": "5550209999", "product": "Solar"}, headers=headers
                )
                for _ in range(5)
            ]
        )

        assert all(r.status_code in (200, 409) for r in responses), [r.text for r in responses]
        assert len({r.json()["contact_id"] for r in responses if r.status_code == 200}) == 1
        assert count(db, Contact) == 1
        assert one(db, Webhook, id=tenant.webhook_id)["total_leads"] == 1


@contextmanager
def _log_refusing_errors(db: Database) -> Iterator[None]:
    """The intake log's storage fails for error entries (a full disk, say), for a while."""
    with refusing_inserts(db, "inbound_requests", "NEW.status = 'error'"):
        yield


class TestBackpressure:
    """A worker whose database is far behind answers new deliveries with 429 at once,
    writing nothing, instead of holding them until the provider times out and retries."""

    @staticmethod
    def _lead(i: int) -> dict[str, Any]:
        return {"phone": f"555024{i:04d}", "product": "Solar"}

    async def _while_the_database_is_busy(
        self, settings: Settings, db: Database, tenant: Tenant, queued: int, **limits: float
    ) -> tuple[list[httpx.Response], httpx.Response]:
        """One delivery's batch waits for a lock; ``queued`` more wait behind it; then one
        more is posted. The answers of the first ones, once the lock is gone, and the last."""
        if db.dialect != "postgresql":
            pytest.skip("On SQLite a batch holds the worker's event loop: nothing queues")
        app = create_app(settings.model_copy(update=limits), db)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            with db.transaction() as conn:
                LeadRepository(conn).serialize_count_writers(tenant.workspace_id)
                first = [asyncio.ensure_future(post(client, tenant, self._lead(0)))]
                await asyncio.sleep(0.3)  # its batch now waits for the lock
                first += [
                    asyncio.ensure_future(post(client, tenant, self._lead(i)))
                    for i in range(1, queued + 1)
                ]
                await asyncio.sleep(0.3)
                # Answered at once, or never while the lock is held: fail, don't hang.
                last = await asyncio.wait_for(post(client, tenant, self._lead(99)), 5)
                assert not any(f.done() for f in first)
            return list(await asyncio.gather(*first)), last

    @pytest.mark.parametrize(
        ("limits", "queued"),
        [({"intake_queue_limit": 2}, 2), ({"intake_queue_wait_seconds": 0.2}, 1)],
        ids=["as many waiting as allowed", "the oldest waited too long"],
    )
    async def test_refused_at_once_and_not_written(
        self,
        settings: Settings,
        db: Database,
        tenant: Tenant,
        limits: dict[str, float],
        queued: int,
    ) -> None:
        accepted, refused = await self._while_the_database_is_busy(
            settings, db, tenant, queued, **limits
        )

        assert refused.status_code == 429
        body = refused.json()
        assert (body["success"], body["code"]) == (False, "RATE_LIMITED")
        assert body["request_id"] == refused.headers["x-request-id"]
        assert int(refused.headers["retry-after"]) >= 1
        assert [r.status_code for r in accepted] == [200] * (queued + 1)
        assert "+15550240099" not in {c["phone_number"] for c in rows(db, Contact)}
        assert count(db, Contact) == count(db, Lead) == queued + 1
        assert len(inbound_log(db, tenant.webhook_id)) == queued + 1


class TestSeveralWorkers:
    """Four apps on one database, as four workers: their batches run side by side."""

    @pytest.fixture
    async def workers(self, settings: Settings, db: Database) -> Any:
        clients = [
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=create_app(settings, db)), base_url="http://t"
            )
            for _ in range(4)
        ]
        yield clients
        for c in clients:
            await c.aclose()

    async def test_new_people_posted_to_both_at_once_are_created_once(
        self, workers: list[httpx.AsyncClient], tenant: Tenant, db: Database
    ) -> None:
        """A batch that inserts a person another worker's batch inserted first fails, and
        its deliveries are processed again one by one: nothing is lost or doubled."""
        payloads = [{"phone": f"555041{i % 20:04d}", "product": "Solar", "n": i} for i in range(80)]
        responses = await asyncio.gather(
            *[post(workers[i % 4], tenant, p) for i, p in enumerate(payloads)]
        )

        assert {r.status_code for r in responses} == {200}, {r.text for r in responses}
        assert count(db, Contact) == 20
        assert sorted(r.json()["match_type"] for r in responses).count("new") == 20
        assert one(db, Webhook, id=tenant.webhook_id)["total_leads"] == 80
        assert len(inbound_log(db, tenant.webhook_id)) == 80
        assert_counts_kept(db)

    async def test_batches_writing_the_same_leads_neither_deadlock_nor_lose_updates(
        self,
        workers: list[httpx.AsyncClient],
        tenant: Tenant,
        db: Database,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Batches of all workers write many leads of different people, and so the same
        kept counts, in every order. Each worker's deliveries come through a webhook of
        its own (the webhook's counter row would otherwise make the batches take turns)."""
        hooks = [tenant, *(make_tenant(db, tenant.workspace_id) for _ in range(3))]
        people = [f"555040{i:04d}" for i in range(200)]
        for phone in people:  # known people: no batch can fail for inserting one twice
            assert (await post(workers[0], tenant, {"phone": phone})).status_code == 200
        statuses = ["new", "contacted", "qualified", "proposal", "negotiation", "won", "lost"]
        products = ["Solar", "HVAC", "Roofing"]
        payloads = [
            {
                "phone": people[i % 200],
                "product": products[i % 3],
                "status": statuses[i % 7],
                "estimated_value": 1000 + i,
            }
            for i in range(600)
        ]
        responses = await asyncio.gather(
            *[post(workers[i % 4], hooks[i % 4], p) for i, p in enumerate(payloads)]
        )

        assert {r.status_code for r in responses} == {200}, {r.text for r in responses}
        # No batch failed and fell back to one delivery at a time (a deadlock would).
        assert not [r for r in caplog.records if r.name == "leadpipe.intake"]
        assert count(db, Contact) == 200
        # Each lead counted once, by the webhook whose delivery created it.
        counted = [one(db, Webhook, id=h.webhook_id)["total_leads"] for h in hooks]
        assert sum(counted) == count(db, Lead)
        assert len(inbound_log(db, hooks[3].webhook_id)) == 150
        assert_counts_kept(db)

    async def test_batches_writing_leads_take_turns_on_their_workspace_counts(
        self, workers: list[httpx.AsyncClient], tenant: Tenant, db: Database
    ) -> None:
        """On PostgreSQL, batches that write leads of a workspace take turns on its counts
        (their statements could deadlock with another writer's on them otherwise); a
        delivery that writes no lead does not wait."""
        if db.dialect != "postgresql":
            pytest.skip("SQLite has one writer at a time anyway")
        with db.transaction() as conn:
            LeadRepository(conn).serialize_count_writers(tenant.workspace_id)
            several = asyncio.gather(
                post(workers[0], tenant, {"phone": "5550420099", "product": "Solar"}),
                post(workers[0], tenant, {"phone": "5550420098", "product": "HVAC"}),
            )
            one_lead = post(workers[1], tenant, {"phone": "5550420097", "product": "Roof"})
            waiting = [asyncio.ensure_future(several), asyncio.ensure_future(one_lead)]
            done, _ = await asyncio.wait(waiting, timeout=0.5)
            assert not done  # both wait for this transaction
            no_lead = await post(workers[2], tenant, {"phone": "5550420096"})
            assert no_lead.status_code == 200
        await asyncio.wait(waiting)
        assert {r.status_code for r in [*waiting[0].result(), waiting[1].result()]} == {200}
        assert count(db, Lead) == 3


class TestFailedWrites:
    """A write that fails after the delivery's reads (on PostgreSQL it surfaces only at the
    commit, which carries the delivery's last writes) undoes the whole delivery, and is
    retried like any conflict with a concurrent writer."""

    @pytest.fixture
    async def server(self, settings: Settings, db: Database) -> Any:
        """Answers unexpected errors with a 500, as a real server does, instead of raising
        them into the test."""
        transport = httpx.ASGITransport(app=create_app(settings, db), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c

    async def test_a_refused_lead_write_undoes_its_delivery_and_spares_the_rest(
        self, server: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        client = server
        payloads: list[dict[str, Any]] = [
            {"phone": f"555030{i:04d}", "product": "Solar"} for i in range(30)
        ]
        for i in (3, 17):
            payloads[i] = {"phone": f"555031{i:04d}", "product": "Refused"}
        with refusing_inserts(db, "leads", "NEW.product_interest = 'Refused'"):
            responses = await asyncio.gather(*[post(client, tenant, p) for p in payloads])
            later = await asyncio.gather(
                *[post(client, tenant, {"phone": f"555032{i:04d}"}) for i in range(20)]
            )

        # Retried as a conflict with a concurrent writer, then refused as one.
        statuses = [r.status_code for r in responses]
        assert statuses == [409 if i in (3, 17) else 200 for i in range(30)]
        assert responses[3].json()["code"] == "CONFLICT"
        assert {r.status_code for r in later} == {200}, [r.text for r in later]
        assert count(db, Contact) == count(db, Lead) + 20 == 48
        assert "Refused" not in {lead["product_interest"] for lead in rows(db, Lead)}
        assert one(db, Webhook, id=tenant.webhook_id)["total_leads"] == 28  # the leads made
        log = inbound_log(db, tenant.webhook_id)
        assert sorted(e["status"] for e in log) == ["error"] * 2 + ["success"] * 48

    async def test_an_unexpected_failure_answers_500_in_the_envelope_and_writes_nothing(
        self,
        server: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        with refusing_inserts(db, "leads", "1 = 1", as_conflict=False):
            response = await post(server, tenant, {"phone": "5550330001", "product": "Solar"})

        assert response.status_code == 500
        body = response.json()
        assert (body["success"], body["code"]) == (False, "INTERNAL_ERROR")
        assert body["request_id"] == response.headers["x-request-id"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert set(counts(db).values()) == {0}
        assert [e["status"] for e in inbound_log(db, tenant.webhook_id)] == ["error"]
        # The traceback in the log can be found by the id the caller was given.
        logged = [r for r in caplog.records if r.exc_info and body["request_id"] in r.getMessage()]
        assert len(logged) == 1


class TestClientAddress:
    async def _lead_ip(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database, email: str
    ) -> str:
        body = (
            await post(
                client,
                tenant,
                {"email": email, "product": "X"},
                **{"x-forwarded-for": "203.0.113.9"},
            )
        ).json()
        return str(one(db, Lead, id=body["lead_id"])["ip_address"])

    async def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database, settings: Settings
    ) -> None:
        assert await self._lead_ip(client, tenant, db, "a@example.com") == "198.51.100.7"

        behind_proxy = create_app(
            settings.model_copy(update={"trusted_proxies": ["198.51.100.0/24"]}), db
        )
        transport = httpx.ASGITransport(app=behind_proxy, client=("198.51.100.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            assert await self._lead_ip(c, tenant, db, "b@example.com") == "203.0.113.9"


async def test_starting_the_server_forgets_expired_delivery_ids(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, settings: Settings
) -> None:
    from leadpipe.bootstrap import prepare

    await post(client, tenant, {"email": "a@example.com"}, **{"Idempotency-Key": "old"})
    await post(client, tenant, {"email": "b@example.com"}, **{"Idempotency-Key": "fresh"})
    backdate(db, WebhookDelivery, days=8, delivery_key="old")

    prepare(db, settings)

    assert [r["delivery_key"] for r in rows(db, WebhookDelivery)] == ["fresh"]


async def test_a_running_server_forgets_expired_delivery_ids_in_chunks(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    from leadpipe.intake.line import (
        forget_expired_deliveries,
        forget_expired_deliveries_periodically,
    )

    for key in ("old-1", "old-2", "old-3", "fresh"):
        await post(client, tenant, {"email": f"{key}@example.com"}, **{"Idempotency-Key": key})
    backdate(db, WebhookDelivery, days=8, delivery_key="old-1")
    backdate(db, WebhookDelivery, days=9, delivery_key="old-2")

    assert forget_expired_deliveries(db, idempotency_days=7, chunk=1) == 2
    assert sorted(r["delivery_key"] for r in rows(db, WebhookDelivery)) == ["fresh", "old-3"]

    # The sweep the app runs every hour, here every few milliseconds.
    backdate(db, WebhookDelivery, days=8, delivery_key="old-3")
    sweeper = asyncio.create_task(
        forget_expired_deliveries_periodically(db, idempotency_days=7, every_seconds=0.01)
    )
    try:
        for _ in range(200):
            if len(rows(db, WebhookDelivery)) == 1:
                break
            await asyncio.sleep(0.01)
    finally:
        sweeper.cancel()
    assert [r["delivery_key"] for r in rows(db, WebhookDelivery)] == ["fresh"]


async def test_a_form_posted_as_field_data_is_mapped_by_question_name(
    client: httpx.AsyncClient, db: Database
) -> None:
    """Facebook Lead Ads' ``field_data`` as Zapier or a page's own code posts it: mapped by
    each answer's name, so a question added to the form shifts nothing."""
    tenant = make_tenant(
        db,
        field_mapping={
            "field_data[name=full_name].values[0]": "fullname",
            "field_data[name=email].values[0]": "email",
            "field_data[name=phone_number].values[0]": "phone",
            "field_data[name=product].values[0]": "productid",
        },
    )
    answers = [
        {"name": "how_soon", "values": ["this month"]},  # added to the form later
        {"name": "full_name", "values": ["Ana Lopez"]},
        {"name": "phone_number", "values": ["(512) 555-0142"]},
        {"name": "email", "values": ["Ana@Example.com"]},
        {"name": "product", "values": ["Solar Panels"]},
    ]
    answer = await client.post(tenant.url, json={"field_data": answers})
    assert answer.status_code == 200, answer.text
    assert answer.json()["lead_action"] == "created"
    contact = one(db, Contact)
    assert (contact["firstname"], contact["lastname"]) == ("Ana", "Lopez")
    assert (contact["email"], contact["phone_number"]) == ("ana@example.com", "+15125550142")
    assert one(db, Lead)["product_interest"] == "Solar Panels"
