"""A webhook's intake rules and default status, through HTTP: the first matching rule, a
lower priority number first, sets the new lead's stage, tags, assignee, priority, temperature or
source, and is recorded on the lead."""

from __future__ import annotations

from typing import Any

import httpx

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead, User, Webhook
from tests.conftest import Tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.helpers import one
from tests.integration.test_lead_api import auth

RULES: list[dict[str, Any]] = [
    {
        "name": "Texas solar to Sam",
        "priority": 10,
        "conditions": [
            {"field": "state", "operator": "in", "value": ["TX", "tx"]},
            {"field": "product", "operator": "contains", "value": "solar"},
        ],
        "actions": {
            "stage": "qualified",
            "tags": ["texas"],
            "assignee": "agent@example.com",
            "priority": "high",
        },
    },
    {
        "name": "Paid campaigns are hot",
        "priority": 50,
        "conditions": [
            {"field": "payload.campaign.kind", "operator": "equals", "value": "paid"},
        ],
        "actions": {"temperature": "hot", "source": "Paid social"},
    },
    {
        "name": "Any solar",
        "priority": 20,
        "conditions": [{"field": "product", "operator": "starts_with", "value": "Solar"}],
        "actions": {"tags": ["solar"]},
    },
]


async def set_rules(client: httpx.AsyncClient, tenant: Tenant, **changes: Any) -> httpx.Response:
    return await client.patch(
        f"/api/v3/webhooks/{tenant.webhook_id}", json=changes, headers=auth(tenant)
    )


async def test_the_lowest_numbered_matching_rule_sets_the_new_lead(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    add_member(db, tenant.workspace_id, "agent")
    saved = await set_rules(client, tenant, intake_rules=RULES)
    assert saved.status_code == 200, saved.text
    assert saved.json()["data"]["intake_rules"][0]["actions"]["assignee"] == "agent@example.com"

    texan = await client.post(
        tenant.url,
        json={
            "email": "tex@example.com",
            "state": "TX",
            "product": "Solar panels",
            "tags": "referral",
        },
    )
    # "Any solar" (20) matches too: the lower number, 10, is matched first.
    assert texan.json()["rule_applied"] == "Texas solar to Sam"
    lead = one(db, Lead, id=texan.json()["lead_id"])
    agent = one(db, User, email="agent@example.com")
    assert (lead["stage"], lead["priority"], lead["assigned_user_id"]) == (
        "qualified",
        "high",
        agent["id"],
    )
    assert lead["tags"] == ["referral", "texas"]
    assert lead["metadata"]["intake_rule"] == {"name": "Texas solar to Sam", "priority": 10}

    ohioan = await client.post(
        tenant.url, json={"email": "oh@example.com", "state": "OH", "product": "Solar"}
    )
    assert ohioan.json()["rule_applied"] == "Any solar"
    assert one(db, Lead, id=ohioan.json()["lead_id"])["tags"] == ["solar"]

    paid = await client.post(
        tenant.url,
        json={"email": "ad@example.com", "product": "HVAC", "campaign": {"kind": "paid"}},
    )
    lead = one(db, Lead, id=paid.json()["lead_id"])
    assert (lead["temperature"], lead["lead_source"], lead["stage"]) == (
        "hot",
        "Paid social",
        "new",
    )

    nothing = await client.post(
        tenant.url, json={"email": "none@example.com", "product": "Roofing"}
    )
    assert nothing.json()["rule_applied"] is None


async def test_the_dashboard_lists_rules_in_the_order_they_are_tried(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    assert (await set_rules(client, tenant, intake_rules=RULES)).status_code == 200
    page = (await client.get(f"/app/webhooks/{tenant.webhook_id}")).text
    listed = page.split('id="rules-title"')[1]
    names = ["Texas solar to Sam", "Any solar", "Paid campaigns are hot"]
    assert sorted(names, key=listed.index) == names
    assert "a lower priority number first" in listed


async def test_numbers_and_zip_codes_route_new_leads(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    rules = [
        {
            "name": "Big bills in Dallas",
            "priority": 1,
            "conditions": [
                {"field": "zip_code", "operator": "zip3_in", "value": ["752", "753"]},
                {"field": "payload.bill", "operator": "gte", "value": 200},
            ],
            "actions": {"temperature": "hot"},
        },
        {
            "name": "Dallas",
            "conditions": [{"field": "zip_code", "operator": "zip_in", "value": ["75201"]}],
            "actions": {"temperature": "warm"},
        },
    ]
    saved = await set_rules(client, tenant, intake_rules=rules)
    assert saved.status_code == 200, saved.text
    assert saved.json()["data"]["intake_rules"][1]["priority"] == 100  # none: the last
    sent = [("75201", "250.00", "Big bills in Dallas"), ("75201-0001", 90, "Dallas")]
    for n, (zip_code, bill, fired) in enumerate(sent):
        answer = await client.post(
            tenant.url,
            json={"email": f"d{n}@example.com", "product": "Solar", "zip": zip_code, "bill": bill},
        )
        assert answer.json()["rule_applied"] == fired
    elsewhere = await client.post(
        tenant.url, json={"email": "ny@example.com", "product": "Solar", "zip": "10001"}
    )
    assert elsewhere.json()["rule_applied"] is None

    bad = await set_rules(
        client,
        tenant,
        intake_rules=[
            {
                "name": "Broken",
                "conditions": [
                    {"field": "zip_code", "operator": "zip_in", "value": [75201]},
                    {"field": "payload.bill", "operator": "gt", "value": "lots"},
                ],
                "actions": {"temperature": "hot"},
            }
        ],
    )
    assert bad.status_code == 400
    assert {d["field"] for d in bad.json()["details"]} == {
        "rules[0].conditions[0].value",
        "rules[0].conditions[1].value",
    }
    assert len(one(db, Webhook, id=tenant.webhook_id)["intake_rules"]) == 2


async def test_the_default_status_applies_to_new_contacts_and_rules_override_it(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    rule = {
        "name": "Referrals qualify",
        "conditions": [{"field": "source", "operator": "equals", "value": "Referral"}],
        "actions": {"stage": "qualified"},
    }
    assert (
        await set_rules(client, tenant, default_status="proposal", intake_rules=[rule])
    ).status_code == 200
    first = await client.post(tenant.url, json={"email": "a@example.com", "product": "Solar"})
    assert one(db, Lead, id=first.json()["lead_id"])["stage"] == "proposal"
    referred = await client.post(
        tenant.url, json={"email": "b@example.com", "product": "Solar", "source": "Referral"}
    )
    assert one(db, Lead, id=referred.json()["lead_id"])["stage"] == "qualified"
    # A known contact's new lead opens in the pipeline's first stage.
    again = await client.post(tenant.url, json={"email": "a@example.com", "product": "Roofing"})
    assert one(db, Lead, id=again.json()["lead_id"])["stage"] == "new"


async def test_invalid_rules_are_refused_naming_their_place(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    bad = await set_rules(
        client,
        tenant,
        intake_rules=[
            {
                "name": "Broken",
                "conditions": [{"field": "state", "operator": "in", "value": "TX"}],
                "actions": {"stage": "nowhere", "assignee": "stranger@example.com"},
            }
        ],
    )
    assert bad.status_code == 400
    fields = {d["field"] for d in bad.json()["details"]}
    assert fields == {
        "rules[0].conditions[0].value",
        "rules[0].actions.stage",
        "rules[0].actions.assignee",
    }
    unknown_operator = await set_rules(
        client,
        tenant,
        intake_rules=[
            {
                "name": "x",
                "conditions": [{"field": "a", "operator": "like"}],
                "actions": {"tags": ["x"]},
            }
        ],
    )
    assert unknown_operator.status_code == 400
    status = await set_rules(client, tenant, default_status="limbo")
    assert status.status_code == 400
    shown = (await client.get(f"/api/v3/webhooks/{tenant.webhook_id}", headers=auth(tenant))).json()
    assert (shown["data"]["intake_rules"], shown["data"]["default_status"]) == ([], None)
