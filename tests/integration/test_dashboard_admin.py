"""The dashboard's other pages over HTTP: bulk actions, the CSV export, the contact page,
webhooks with their deliveries, settings and members."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from sqlalchemy import select

from leadpipe.accounts.repository import MEMBERS
from leadpipe.storage.engine import Database
from leadpipe.storage.models import (
    Lead,
    LeadActivity,
    Membership,
    PipelineStage,
    User,
    Webhook,
    Workspace,
)
from leadpipe.webhooks.service import webhook
from tests.conftest import Tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.helpers import count, one, rows
from tests.integration.test_lead_api import deliver


async def _people(client: httpx.AsyncClient, tenant: Tenant, n: int) -> list[str]:
    answers = [
        await deliver(
            client,
            tenant,
            firstname=f"Person{i}",
            lastname="Bulk",
            email=f"p{i}@example.com",
            productid="Roofing" if i % 2 else "Solar Panels",
            source="Website",
        )
        for i in range(n)
    ]
    return [str(a["lead_id"]) for a in answers]


def _role(db: Database, user_id: object) -> str | None:
    with db.transaction(write=False) as conn:
        found = conn.execute(select(MEMBERS.c.role).where(MEMBERS.c.user_id == user_id)).scalar()
    return str(found) if found is not None else None


def _hx(csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf, "HX-Request": "true"}


async def test_bulk_stage_change_on_the_selected_leads(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _people(client, tenant, 4)
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    answer = await client.post(
        "/app/bulk",
        data={"action": "stage", "stage": "qualified", "lead_ids": ids[:2]},
        headers=_hx(csrf),
    )
    assert answer.status_code == 204
    assert answer.headers["X-Leads-Changed"] == "2"
    stages = {str(r["id"]): r["stage"] for r in rows(db, Lead)}
    assert [stages[i] for i in ids] == ["qualified", "qualified", "new", "new"]
    # Through the lifecycle: each move is on its lead's timeline.
    assert count(db, LeadActivity, activity_type="status_updated") == 2


async def test_bulk_actions_on_every_lead_of_the_filter(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _people(client, tenant, 5)
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    me = one(db, User, email="admin@example.com")["id"]
    answer = await client.post(
        "/app/bulk",
        data={
            "action": "assign",
            "assigned_user_id": str(me),
            "all_matching": "1",
            "filter": "product=Roofing",
        },
        headers=_hx(csrf),
    )
    assert answer.headers["X-Leads-Changed"] == "2"
    assigned = {r["product_interest"]: r["assigned_user_id"] for r in rows(db, Lead)}
    assert assigned == {"Roofing": me, "Solar Panels": None}

    await client.post(
        "/app/bulk",
        data={"action": "tag", "tags": "spring, promo", "all_matching": "1", "filter": ""},
        headers=_hx(csrf),
    )
    assert {tuple(r["tags"]) for r in rows(db, Lead)} == {("spring", "promo")}


async def test_bulk_delete_is_for_admins_and_deletes_only_what_was_chosen(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _people(client, tenant, 3)
    agent = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with agent:
        csrf = await sign_in(agent, add_member(db, tenant.workspace_id, "agent"))
        refused = await agent.post(
            "/app/bulk", data={"action": "delete", "lead_ids": ids}, headers=_hx(csrf)
        )
        assert refused.status_code == 403
    assert count(db, Lead) == 3
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    await client.post(
        "/app/bulk", data={"action": "delete", "lead_ids": ids[:1]}, headers=_hx(csrf)
    )
    assert sorted(str(r["id"]) for r in rows(db, Lead)) == sorted(ids[1:])
    assert count(db, LeadActivity, lead_id=ids[0]) == 0


async def test_a_bulk_change_from_a_viewer_is_refused(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _people(client, tenant, 1)
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    answer = await client.post(
        "/app/bulk", data={"action": "stage", "stage": "won", "lead_ids": ids}, headers=_hx(csrf)
    )
    assert answer.status_code == 403
    assert one(db, Lead)["stage"] == "new"


async def test_the_csv_export_has_every_matching_lead(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _people(client, tenant, 5)
    await deliver(client, tenant, firstname="=HYPERLINK(1)", email="f@example.com", productid="X")
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    answer = await client.get("/app/export.csv", params={"product": "Roofing"})
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(answer.text)))
    assert sorted(r["first_name"] for r in table) == ["Person1", "Person3"]
    assert {r["stage"] for r in table} == {"New"}
    everything = list(csv.DictReader(io.StringIO((await client.get("/app/export.csv")).text)))
    assert len(everything) == 6
    # A name a spreadsheet would run as a formula stays text.
    assert "'=HYPERLINK(1)" in {r["first_name"] for r in everything}


async def test_the_csv_export_of_the_checked_leads(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _people(client, tenant, 3)
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    answer = await client.post(
        "/app/export.csv", data={"lead_ids": ids[1:], "csrf_token": csrf, "filter": ""}
    )
    assert sorted(r["lead_id"] for r in csv.DictReader(io.StringIO(answer.text))) == sorted(ids[1:])


async def test_the_contact_page_shows_all_its_leads_and_creates_one(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    first = await deliver(client, tenant, firstname="Cy", email="cy@example.com", productid="HVAC")
    await deliver(client, tenant, email="cy@example.com", productid="Windows")
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    path = f"/app/contacts/{first['contact_id']}"
    text = (await client.get(path)).text
    assert "HVAC" in text
    assert "Windows" in text
    created = await client.post(
        f"{path}/leads",
        data={"product_interest": "Roofing", "estimated_value": "12000", "csrf_token": csrf},
    )
    assert created.status_code == 303
    assert count(db, Lead, contact_id=first["contact_id"]) == 3
    assert "Roofing" in (await client.get(path)).text
    only_notes = (await client.get(path, params={"type": "note"})).text
    assert "No activity matches" in only_notes


async def test_webhooks_page_creates_disables_and_lists_deliveries(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    made = await client.post("/app/webhooks", data={"name": "Angi HVAC", "csrf_token": csrf})
    assert made.status_code == 303
    hook = one(db, Webhook, name="Angi HVAC")
    page = (await client.get(made.headers["location"])).text
    assert f"/webhooks/{hook['id']}" in page
    assert "curl -X POST" in page

    refused = await client.post(f"/webhooks/{hook['id']}", json={"firstname": "No identity"})
    assert refused.status_code == 400
    page = (await client.get(f"/app/webhooks/{hook['id']}", params={"status": "error"})).text
    assert "400 error" in page

    await client.post(
        f"/app/webhooks/{hook['id']}/status", data={"enabled": "false", "csrf_token": csrf}
    )
    assert one(db, Webhook, name="Angi HVAC")["is_active"] is False
    assert (
        await client.post(f"/webhooks/{hook['id']}", json={"email": "a@b.co"})
    ).status_code == 404


async def test_a_refused_delivery_is_replayed_from_its_page(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    refused = await client.post(
        tenant.url,
        json={"firstname": "Dee", "contact_address": "dee@example.com", "productid": "HVAC"},
    )
    assert refused.status_code == 400
    page = await client.get(f"/app/webhooks/{tenant.webhook_id}", params={"status": "error"})
    delivery_id = page.text.split("/deliveries/")[1].split('"')[0]
    detail = (await client.get(f"/app/webhooks/{tenant.webhook_id}/deliveries/{delivery_id}")).text
    assert "dee@example.com" in detail  # the raw payload
    assert "Replay this delivery" in detail
    # Fix the mapping, then replay: the lead is written this time.
    with db.transaction() as conn:
        webhook.update(
            conn,
            tenant.workspace_id,
            tenant.webhook_id,
            {"field_mapping": {"contact_address": "email"}},
        )
    replayed = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/deliveries/{delivery_id}/replay",
        data={"csrf_token": csrf},
    )
    assert replayed.status_code == 303
    assert count(db, Lead) == 1
    assert "200 success" in (await client.get(replayed.headers["location"])).text


async def test_settings_change_the_workspace(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    data = {
        "name": "Sunny Solar",
        "default_region": "ca",
        "time_zone": "America/Toronto",
        "lead_window_days": "45",
        "csrf_token": csrf,
    }
    assert (await client.post("/app/settings", data=data)).status_code == 303
    saved = one(db, Workspace, id=tenant.workspace_id)
    assert (saved["name"], saved["default_region"], saved["lead_window_days"]) == (
        "Sunny Solar",
        "CA",
        45,
    )
    assert saved["settings"]["time_zone"] == "America/Toronto"
    bad = await client.post(
        "/app/settings", data={**data, "time_zone": "Mars/Olympus", "lead_window_days": "0"}
    )
    assert bad.status_code == 400
    assert one(db, Workspace, id=tenant.workspace_id)["lead_window_days"] == 45


@pytest.mark.parametrize("role", ["admin", "agent", "viewer"])
async def test_only_owners_manage_members(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, role: str
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, role))
    answer = await client.post(
        "/app/settings/members",
        data={"email": "new@example.com", "role": "admin", "csrf_token": csrf},
    )
    assert answer.status_code == 403
    assert count(db, User, email="new@example.com") == 0


async def test_an_owner_adds_a_member_with_a_password_shown_once(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "owner"))
    answer = await client.post(
        "/app/settings/members",
        data={
            "email": "Newbie@Example.com",
            "name": "New Bee",
            "role": "agent",
            "csrf_token": csrf,
        },
    )
    assert answer.status_code == 200
    assert "Password (shown once)" in answer.text
    created = one(db, User, email="newbie@example.com")
    assert _role(db, created["id"]) == "agent"
    assert "shown once" not in (await client.get("/app/settings")).text

    await client.post(
        f"/app/settings/members/{created['id']}", data={"role": "admin", "csrf_token": csrf}
    )
    assert _role(db, created["id"]) == "admin"
    await client.post(
        f"/app/settings/members/{created['id']}", data={"remove": "1", "csrf_token": csrf}
    )
    assert count(db, Membership, user_id=created["id"]) == 0


async def test_the_last_owner_cannot_step_down(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "owner"))
    me = one(db, User, email="owner@example.com")["id"]
    answer = await client.post(
        f"/app/settings/members/{me}",
        data={"role": "agent", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 409
    assert _role(db, me) == "owner"


async def test_the_api_assigns_leads_to_users_of_the_workspace_and_filters_by_them(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _people(client, tenant, 2)
    add_member(db, tenant.workspace_id, "agent")
    agent = one(db, User, email="agent@example.com")["id"]
    headers = {"X-API-Key": tenant.api_key}
    answer = await client.put(
        f"/api/v3/leads/{ids[0]}", json={"assigned_user_id": str(agent)}, headers=headers
    )
    assert answer.status_code == 200
    assert answer.json()["data"]["assigned_user_id"] == str(agent)
    listed = await client.get(
        "/api/v3/leads", params={"assigned_user_id": str(agent)}, headers=headers
    )
    assert [lead["id"] for lead in listed.json()["data"]] == [ids[0]]
    stranger = await client.put(
        f"/api/v3/leads/{ids[1]}",
        json={"assigned_user_id": "0199b5a4-3c1e-7e4b-9a51-3f0c2a6b1d22"},
        headers=headers,
    )
    assert stranger.status_code == 400
    assert stranger.json()["details"][0]["field"] == "assigned_user_id"


async def test_admins_add_rename_reorder_and_deactivate_stages(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    hx = _hx(csrf)
    added = await client.post(
        "/app/pipeline/stages",
        data={"stage_name": "Site visit", "color": "#0EA5E9", "conversion_probability": "40"},
        headers=hx,
    )
    assert added.status_code == 200
    assert "Site visit" in added.text
    renamed = await client.post(
        "/app/pipeline/stages/site_visit",
        data={"stage_name": "Home visit", "color": "#0EA5E9", "is_active": "false"},
        headers=hx,
    )
    assert renamed.status_code == 200
    stage = one(db, PipelineStage, workspace_id=tenant.workspace_id, stage_slug="site_visit")
    assert (stage["stage_name"], stage["is_active"]) == ("Home visit", False)
    slugs = [
        r["stage_slug"]
        for r in sorted(
            rows(db, PipelineStage, workspace_id=tenant.workspace_id),
            key=lambda r: r["stage_order"],
        )
    ]
    reordered = await client.post(
        "/app/pipeline/stages/order", data={"order": ",".join(reversed(slugs))}, headers=hx
    )
    assert reordered.status_code == 200
    first = min(
        rows(db, PipelineStage, workspace_id=tenant.workspace_id), key=lambda r: r["stage_order"]
    )
    assert first["stage_slug"] == slugs[-1]
    bad = await client.post("/app/pipeline/stages/order", data={"order": "new"}, headers=hx)
    assert bad.status_code == 400


@pytest.mark.parametrize("role", ["owner", "admin", "agent", "viewer"])
async def test_managing_the_workspace_is_for_admins_and_owners(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, role: str
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, role))
    hx = _hx(csrf)
    answers = {
        "settings page": await client.get("/app/settings", headers=hx),
        "add a stage": await client.post(
            "/app/pipeline/stages", data={"stage_name": f"By {role}"}, headers=hx
        ),
        "create a webhook": await client.post(
            "/app/webhooks", data={"name": f"By {role}"}, headers=hx
        ),
        "disable a webhook": await client.post(
            f"/app/webhooks/{tenant.webhook_id}/status", data={"enabled": "false"}, headers=hx
        ),
    }
    manages = role in ("owner", "admin")
    for action, answer in answers.items():
        assert (answer.status_code < 400) is manages, (role, action, answer.status_code)
        if not manages:
            assert answer.status_code == 403
    assert count(db, Webhook, name=f"By {role}") == (1 if manages else 0)
    assert one(db, Webhook, id=tenant.webhook_id)["is_active"] is not manages


async def test_a_webhook_deleted_on_the_dashboard_can_be_restored_there(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    deleted = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/delete", data={"csrf_token": csrf}
    )
    assert deleted.status_code == 303
    assert one(db, Webhook, id=tenant.webhook_id)["deleted_at"] is not None
    listing = (await client.get("/app/webhooks")).text
    assert "restorable until" in listing
    page = (await client.get(f"/app/webhooks/{tenant.webhook_id}")).text
    assert "Deleted" in page
    restored = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/restore", data={"csrf_token": csrf}
    )
    assert restored.status_code == 303
    hook = one(db, Webhook, id=tenant.webhook_id)
    assert (hook["deleted_at"], hook["is_active"]) == (None, True)
