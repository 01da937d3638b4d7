"""Vertical fields typed on the lead, and TCPA consent proof stored, shown and exported."""

from __future__ import annotations

import csv
import io

import httpx

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead
from tests.conftest import Tenant, make_tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.helpers import one
from tests.integration.test_lead_api import auth


async def test_solar_fields_are_typed_on_the_lead_and_a_bad_one_is_kept_as_sent(
    client: httpx.AsyncClient, db: Database
) -> None:
    solar = make_tenant(db, lead_type="solar")
    answer = await client.post(
        solar.url,
        json={
            "firstname": "Sunny",
            "email": "sunny@example.com",
            "product": "Solar",
            "monthlyElectricBill": "180",
            "roofCondition": "Good",
            "roof_age": "300",
            "Shade Coverage": "partial",
            "favourite_colour": "teal",
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["warnings"] == [
        {"field": "roof_age", "message": "must be from 0 to 100; kept as sent in custom_fields"}
    ]
    lead = one(db, Lead, id=answer.json()["lead_id"])
    assert lead["custom_fields"] == {
        "monthly_electric_bill": 180,
        "roof_condition": "good",
        "shade_coverage": "partial",
    }
    contact = one(db, Contact, id=answer.json()["contact_id"])
    assert contact["custom_fields"] == {"roof_age": "300", "favourite_colour": "teal"}
    shown = await client.get(f"/api/v3/leads/{lead['id']}", headers=auth(solar))
    assert shown.json()["data"]["custom_fields"]["monthly_electric_bill"] == 180


async def test_hvac_and_insurance_fields_are_checked_by_their_allowed_values(
    client: httpx.AsyncClient, db: Database
) -> None:
    hvac = make_tenant(db, lead_type="hvac")
    answer = await client.post(
        hvac.url,
        json={
            "email": "cold@example.com",
            "product": "AC",
            "system_type": "Heat Pump",
            "system_age": 12,
            "urgency": "yesterday",
            "square_feet": "2400",
        },
    )
    lead = one(db, Lead, id=answer.json()["lead_id"])
    assert lead["custom_fields"] == {
        "system_type": "heat_pump",
        "system_age": 12,
        "property_size": 2400,
    }
    assert [w["field"] for w in answer.json()["warnings"]] == ["urgency"]
    insurance = make_tenant(db, workspace_id="ins", lead_type="insurance")
    policy = await client.post(
        insurance.url,
        json={
            "email": "p@example.com",
            "product": "Home",
            "policy_type": "home",
            "coverage_amount": "350000",
        },
    )
    assert one(db, Lead, id=policy.json()["lead_id"])["custom_fields"] == {
        "policy_type": "home",
        "coverage_amount": 350000,
    }


CONSENTING = {
    "firstname": "Tia",
    "lastname": "Consent",
    "phone": "5125550190",
    "product": "Solar",
    "landing_page_url": "https://solar.example.com/quote",
    "consent": {"description": "I agree to be contacted by phone and text.", "value": True},
    "xxTrustedFormCertUrl": "https://cert.trustedform.com/2b8a1f0c9d7e6f5a4b3c",
    "universal_leadid": "3F2504E0-4F89-11D3-9A0C-0305E82C3301",
    "ip_address": "203.0.113.45",
    "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
}


async def test_consent_proof_is_stored_shown_and_exported_with_the_lead(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    answer = await client.post(tenant.url, json=CONSENTING)
    assert answer.status_code == 200, answer.text
    lead = one(db, Lead, id=answer.json()["lead_id"])
    proof = lead["consent_proof"]
    assert proof["text"] == "I agree to be contacted by phone and text."
    assert proof["value"] is True
    assert (proof["ip_address"], proof["page_url"]) == (
        "203.0.113.45",
        "https://solar.example.com/quote",
    )
    assert proof["trustedform_cert_url"] == "https://cert.trustedform.com/2b8a1f0c9d7e6f5a4b3c"
    assert proof["jornaya_lead_id"] == "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
    assert proof["user_agent"].startswith("Mozilla/5.0 (iPhone")
    assert proof["at"]
    assert (
        "xxTrustedFormCertUrl"
        not in one(db, Contact, id=answer.json()["contact_id"])["custom_fields"]
    )

    api = await client.get(f"/api/v3/leads/{lead['id']}", headers=auth(tenant))
    assert api.json()["data"]["consent_proof"]["jornaya_lead_id"] == proof["jornaya_lead_id"]

    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    sidebar = await client.get(f"/app/leads/{lead['id']}")
    assert "Consent (TCPA)" in sidebar.text
    assert "cert.trustedform.com" in sidebar.text
    export = await client.post(
        "/app/export.csv", data={"csrf_token": csrf, "lead_ids": [str(lead["id"])], "filter": ""}
    )
    (row,) = list(csv.DictReader(io.StringIO(export.text)))
    assert (row["consent_value"], row["trustedform_cert_url"]) == (
        "True",
        proof["trustedform_cert_url"],
    )
    assert row["jornaya_lead_id"] == proof["jornaya_lead_id"]


async def test_a_lead_without_consent_has_no_proof(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    answer = await client.post(tenant.url, json={"email": "x@example.com", "product": "Solar"})
    assert one(db, Lead, id=answer.json()["lead_id"])["consent_proof"] is None
