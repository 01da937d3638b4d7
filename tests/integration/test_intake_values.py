"""A paid lead is never refused for an optional field, a wrong phone is never stored as
right, and bodies are read the same whatever their encoding (DESIGN §2.12)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead
from tests.conftest import Tenant
from tests.integration.helpers import counts, inbound_log, one
from tests.integration.test_intake_http import post

UNREADABLE_OPTIONAL_VALUES = [
    ({"TCPA": "I agree"}, "tcpa_compliance", "TCPA"),
    ({"Priority": "Hot"}, "priority", "Priority"),
    ({"estimated_value": 1e308}, "estimated_value", "estimated_value"),
    ({"estimated_value": "1e30"}, "estimated_value", "estimated_value"),
    ({"first_name": "A" * 100_000}, "firstname", "first_name"),
]


class TestOptionalValues:
    @pytest.mark.parametrize(("extra", "field", "sent_as"), UNREADABLE_OPTIONAL_VALUES)
    async def test_an_unreadable_optional_value_keeps_the_lead(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        extra: dict[str, Any],
        field: str,
        sent_as: str,
    ) -> None:
        response = await post(client, tenant, {"phone": "5550800001", "product": "Solar", **extra})

        assert response.status_code == 200, response.text
        body = response.json()
        (warning,) = body["warnings"]
        assert warning["field"] == field
        assert "kept as sent in custom_fields" in warning["message"]
        contact = one(db, Contact, id=body["contact_id"])
        assert contact["custom_fields"][field] == extra[sent_as]
        assert one(db, Lead, id=body["lead_id"])["product_interest"] == "Solar"
        (logged,) = inbound_log(db, tenant.webhook_id)
        assert logged["status"] == "success"
        assert logged["warnings"] == body["warnings"]

    async def test_a_readable_payload_has_no_warnings(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await post(client, tenant, {"phone": "5550800002", "priority": "High"})
        assert response.json()["warnings"] == []
        assert inbound_log(db, tenant.webhook_id)[0]["warnings"] is None


class TestPhones:
    async def test_the_payloads_country_reads_an_australian_mobile(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await post(client, tenant, {"phone": "0412 345 678", "country": "AU"})
        contact = one(db, Contact, id=response.json()["contact_id"])
        assert contact["phone_number"] == "+61412345678"
        assert contact["custom_fields"]["country"] == "AU"

    async def test_a_mexican_number_stays_mexican(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await post(client, tenant, {"phone": "55 1234 5670", "country": "Mexico"})
        contact = one(db, Contact, id=response.json()["contact_id"])
        assert contact["phone_number"] == "+525512345670"

    async def test_an_invalid_number_is_kept_as_sent_not_stored_as_right(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await post(client, tenant, {"phone": "0412 345 678", "email": "ana@example.com"})

        assert response.status_code == 200
        assert response.json()["warnings"][0]["field"] == "phone_number"
        contact = one(db, Contact, id=response.json()["contact_id"])
        assert contact["phone_number"] is None
        assert contact["email"] == "ana@example.com"
        assert contact["custom_fields"]["phone"] == "0412 345 678"

    async def test_an_invalid_number_and_nothing_else_is_refused(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await post(client, tenant, {"phone": "0412 345 678", "firstname": "Ana"})

        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "phone_number"
        assert set(counts(db).values()) == {0}


class TestBodies:
    async def test_json_after_a_byte_order_mark_is_read(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await client.post(
            tenant.url,
            content=b'\xef\xbb\xbf{"phone": "5550800003"}',
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 200, response.text
        assert one(db, Contact)["phone_number"] == "+15550800003"

    @pytest.mark.parametrize(
        ("content_type", "body"),
        [
            ("application/json", b'{"phone": "5550800004", "firstname": "\xff"}'),
            ("application/x-www-form-urlencoded", b"phone=5550800004&firstname=%FF"),
            ("application/x-www-form-urlencoded", b"phone=5550800004&firstname=\xff"),
        ],
    )
    async def test_text_that_is_not_utf8_is_refused_alike(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        content_type: str,
        body: bytes,
    ) -> None:
        response = await client.post(
            tenant.url, content=body, headers={"content-type": content_type}
        )
        assert response.status_code == 400
        assert response.json()["code"] == "VALIDATION_ERROR"
        assert set(counts(db).values()) == {0}

    @pytest.mark.parametrize("depth", [33, 255, 1024])
    async def test_json_nested_too_deep_is_refused(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database, depth: int
    ) -> None:
        nested = "[" * depth + "]" * depth
        body = f'{{"phone": "5550800005", "extra": {nested}}}'.encode()
        response = await client.post(
            tenant.url, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert set(counts(db).values()) == {0}

    async def test_json_nested_within_the_limit_is_kept(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        nested: Any = "deep"
        for _ in range(30):
            nested = {"level": nested}
        response = await post(client, tenant, {"phone": "5550800006", "extra": nested})
        assert response.status_code == 200
        assert one(db, Contact)["custom_fields"]["extra"] == nested
