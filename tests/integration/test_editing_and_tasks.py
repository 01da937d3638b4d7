"""Issue 24 over HTTP: editing a lead from its panel, the reason a lost lead needs on the
dashboard, the timeline in plain words, and tasks (API, panel, My tasks, the reminder's
feed). Refusals answer the documented envelope and change nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from leadpipe.accounts.service import user
from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead, LeadActivity, LeadTask, User
from tests.conftest import Tenant, make_tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.helpers import count, one
from tests.integration.test_lead_api import auth, deliver


@pytest.fixture
async def lead_id(client: httpx.AsyncClient, tenant: Tenant) -> str:
    answer = await deliver(
        client,
        tenant,
        firstname="Ana",
        lastname="Lopez",
        phone_number="(512) 555-0142",
        productid="Solar Panels",
        source="Facebook Ads",
    )
    return str(answer["lead_id"])


async def _as(client: httpx.AsyncClient, db: Database, tenant: Tenant, role: str) -> dict[str, str]:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, role))
    return {"X-CSRF-Token": csrf, "HX-Request": "true"}


def _descriptions(db: Database, activity_type: str) -> list[str]:
    with db.transaction(write=False) as conn:
        t = table_of(LeadActivity)
        rows = conn.execute(select(t.c.description).where(t.c.activity_type == activity_type))
        return [r[0] for r in rows]


# -- the timeline in plain words --------------------------------------------------------


async def test_a_persons_stage_change_and_assignment_name_them(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    headers = await _as(client, db, tenant, "admin")
    await client.post(f"/app/leads/{lead_id}/stage", data={"stage": "qualified"}, headers=headers)
    me = one(db, User, email="admin@example.com")
    answer = await client.post(
        f"/app/leads/{lead_id}/assign", data={"assigned_user_id": str(me["id"])}, headers=headers
    )
    assert answer.status_code == 200
    assert _descriptions(db, "status_updated") == ["Admin moved the lead from new to qualified"]
    assert _descriptions(db, "lead_assigned") == ["Admin assigned the lead to Admin"]
    assert "submission" not in answer.text.split("Timeline")[1].split("Facebook")[0]


async def test_an_empty_activity_is_refused_and_logs_no_call(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    headers = await _as(client, db, tenant, "agent")
    before = count(db, LeadActivity)
    answer = await client.post(
        f"/app/leads/{lead_id}/activities", data={"activity_type": "call"}, headers=headers
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "VALIDATION_ERROR"
    assert count(db, LeadActivity) == before


# -- editing in the panel -----------------------------------------------------------------


async def test_the_panel_edits_a_leads_fields_with_history(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    headers = await _as(client, db, tenant, "agent")
    answer = await client.post(
        f"/app/leads/{lead_id}/edit",
        data={
            "estimated_value": "12500",
            "priority": "high",
            "temperature": "hot",
            "product_interest": "Solar Panels",
            "lead_source": "Referral",
            "tags": "roof, urgent",
            "expected_close_date": "2030-03-01",
            "cf.roof": "flat",
        },
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    lead = one(db, Lead)
    assert (float(lead["estimated_value"]), lead["priority"], lead["lead_source"]) == (
        12500.0,
        "high",
        "Referral",
    )
    assert lead["tags"] == ["roof", "urgent"]
    assert str(lead["expected_close_date"]) == "2030-03-01"
    assert lead["custom_fields"]["roof"] == "flat"
    (said,) = _descriptions(db, "lead_updated")
    assert said.startswith("Agent changed value from nothing to 12500")
    assert "source from Facebook Ads to Referral" in said
    assert "product" not in said  # unchanged fields are not mentioned
    api = await client.get(f"/api/v3/leads/{lead_id}", headers=auth(tenant))
    assert api.json()["data"]["expected_close_date"] == "2030-03-01"


@pytest.mark.parametrize(
    ("field", "value"),
    [("estimated_value", "-3"), ("priority", "extreme"), ("expected_close_date", "soon")],
)
async def test_a_bad_edit_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str, field: str, value: str
) -> None:
    headers = await _as(client, db, tenant, "agent")
    before = (one(db, Lead), count(db, LeadActivity))
    answer = await client.post(f"/app/leads/{lead_id}/edit", data={field: value}, headers=headers)
    assert answer.status_code == 400
    body = answer.json()
    assert (body["success"], body["code"], body["details"][0]["field"]) == (
        False,
        "VALIDATION_ERROR",
        field,
    )
    assert (one(db, Lead), count(db, LeadActivity)) == before


async def test_a_viewer_may_not_edit(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    headers = await _as(client, db, tenant, "viewer")
    answer = await client.post(
        f"/app/leads/{lead_id}/edit", data={"priority": "urgent"}, headers=headers
    )
    assert answer.status_code == 403
    assert one(db, Lead)["priority"] != "urgent"


# -- a lost lead needs a reason on the dashboard ------------------------------------------


@pytest.mark.parametrize(
    "where", ["/app/leads/{id}/stage", "/app/pipeline/leads/{id}/stage", "/app/bulk"]
)
async def test_losing_a_lead_from_the_dashboard_asks_why(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str, where: str
) -> None:
    headers = await _as(client, db, tenant, "agent")
    url = where.format(id=lead_id)
    form: dict[str, Any] = {"stage": "lost"}
    if where == "/app/bulk":
        form = {**form, "action": "stage", "lead_ids": lead_id}
    refused = await client.post(url, data=form, headers=headers)
    assert refused.status_code == 400
    assert refused.json()["details"][0]["field"] == "lost_reason"
    assert one(db, Lead)["stage"] == "new"
    given = {**form, "lost_reason": "Price", "lost_note": "found it cheaper"}
    moved = await client.post(url, data=given, headers=headers)
    assert moved.status_code in (200, 204, 303), moved.text
    lead = one(db, Lead)
    assert (lead["stage"], lead["lost_reason"]) == ("lost", "Price: found it cheaper")
    assert _descriptions(db, "status_updated") == [
        "Agent moved the lead from new to lost: Price: found it cheaper"
    ]


async def test_the_api_may_still_lose_a_lead_without_a_reason(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    answer = await client.put(
        f"/api/v3/leads/{lead_id}", json={"stage": "lost"}, headers=auth(tenant)
    )
    assert answer.status_code == 200
    assert one(db, Lead)["stage"] == "lost"


async def test_the_workspaces_lost_reasons_are_editable_and_offered(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    headers = await _as(client, db, tenant, "admin")
    panel = await client.get(f"/app/leads/{lead_id}", headers=headers)
    assert "Went with a competitor" in panel.text
    saved = await client.post(
        "/app/settings",
        data={
            "name": "Solar Co",
            "default_region": "US",
            "time_zone": "UTC",
            "lead_window_days": "30",
            "lost_reasons": "Too far away\nBudget cut\n",
        },
        headers=headers,
    )
    assert saved.status_code in (204, 303)
    panel = await client.get(f"/app/leads/{lead_id}", headers=headers)
    assert "Too far away" in panel.text
    assert "Went with a competitor" not in panel.text
    too_long = await client.post(
        "/app/settings",
        data={
            "name": "Solar Co",
            "default_region": "US",
            "time_zone": "UTC",
            "lead_window_days": "30",
            "lost_reasons": "x" * 101,
        },
        headers=headers,
    )
    assert too_long.status_code == 400
    assert too_long.json()["details"][0]["field"] == "lost_reasons"


# -- tasks: the API -------------------------------------------------------------------------


def _soon(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def test_tasks_through_the_api(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    add_member(db, tenant.workspace_id, "agent")
    agent_id = str(one(db, User, email="agent@example.com")["id"])
    created = await client.post(
        f"/api/v3/leads/{lead_id}/tasks",
        json={"title": "Call back", "due_at": _soon(-5), "assignee_id": agent_id},
        headers=auth(tenant),
    )
    assert created.status_code == 201, created.text
    task = created.json()["data"]
    assert (task["assignee_id"], task["done_at"]) == (agent_id, None)
    mine = await client.get("/api/v3/tasks", params={"assignee_id": agent_id}, headers=auth(tenant))
    assert [t["id"] for t in mine.json()["data"]] == [task["id"]]
    done = await client.post(f"/api/v3/tasks/{task['id']}/complete", headers=auth(tenant))
    assert done.json()["data"]["done_at"] is not None
    assert (await client.get("/api/v3/tasks", headers=auth(tenant))).json()["data"] == []
    reopened = await client.patch(
        f"/api/v3/tasks/{task['id']}", json={"done": False}, headers=auth(tenant)
    )
    assert reopened.json()["data"]["done_at"] is None
    (added,) = _descriptions(db, "task_created")
    assert added.startswith("API added a task for Agent, due ")
    assert _descriptions(db, "task_completed") == ["API completed the task"]
    assert _descriptions(db, "task_reopened") == ["API reopened the task"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "", "due_at": "2030-01-01T09:00:00Z"}, "title"),
        ({"title": "Call"}, "due_at"),
        ({"title": "Call", "due_at": "2030-01-01T09:00:00"}, "due_at"),  # no time zone
        ({"title": "Call", "due_at": "2030-01-01T09:00:00Z", "assignee_id": "nope"}, "assignee_id"),
    ],
)
async def test_a_bad_task_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str, body: Any, field: str
) -> None:
    answer = await client.post(f"/api/v3/leads/{lead_id}/tasks", json=body, headers=auth(tenant))
    assert answer.status_code in (400, 422)
    assert answer.json()["success"] is False
    assert field in str(answer.json()["details"])
    assert count(db, LeadTask) == 0


async def test_a_task_for_someone_outside_the_workspace_is_refused(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    outsider = make_tenant(db, workspace_id="elsewhere")
    add_member(db, outsider.workspace_id, "agent", email="outsider@example.com")
    outsider_id = str(one(db, User, email="outsider@example.com")["id"])
    answer = await client.post(
        f"/api/v3/leads/{lead_id}/tasks",
        json={"title": "Call", "due_at": _soon(10), "assignee_id": outsider_id},
        headers=auth(tenant),
    )
    assert answer.status_code == 400
    assert answer.json()["details"][0]["field"] == "assignee_id"
    assert count(db, LeadTask) == 0


async def test_another_workspaces_tasks_are_not_found(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    created = await client.post(
        f"/api/v3/leads/{lead_id}/tasks",
        json={"title": "Call", "due_at": _soon(10)},
        headers=auth(tenant),
    )
    other = make_tenant(db, workspace_id="other")
    task_id = created.json()["data"]["id"]
    for answer in (
        await client.post(f"/api/v3/tasks/{task_id}/complete", headers=auth(other)),
        await client.get(f"/api/v3/leads/{lead_id}/tasks", headers=auth(other)),
        await client.post(
            f"/api/v3/leads/{lead_id}/tasks",
            json={"title": "Mine now", "due_at": _soon(10)},
            headers=auth(other),
        ),
    ):
        assert answer.status_code == 404
        assert answer.json()["code"] == "NOT_FOUND"
    assert (await client.get("/api/v3/tasks", headers=auth(other))).json()["data"] == []
    assert one(db, LeadTask)["done_at"] is None


# -- tasks: the dashboard -------------------------------------------------------------------


async def test_an_activitys_next_step_with_a_due_time_becomes_a_task_in_my_tasks(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    headers = await _as(client, db, tenant, "agent")
    me = one(db, User, email="agent@example.com")
    await client.post(
        f"/app/leads/{lead_id}/assign", data={"assigned_user_id": str(me["id"])}, headers=headers
    )
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    answer = await client.post(
        f"/app/leads/{lead_id}/activities",
        data={
            "activity_type": "call",
            "title": "Called",
            "next_step": "Send quote",
            "next_step_due": past,
        },
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    task = one(db, LeadTask)
    assert (task["title"], task["assignee_id"]) == ("Send quote", me["id"])
    page = await client.get("/app/tasks")
    overdue = page.text.split('id="group-overdue"')[1].split('id="group-today"')[0]
    assert "Send quote" in overdue
    due = (await client.get("/app/tasks/due")).json()
    assert due["due"] == 1
    table = await client.get("/app")
    assert "1 due" in table.text  # the row's badge


async def test_a_task_falling_due_soon_is_in_the_reminders_feed(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    headers = await _as(client, db, tenant, "agent")
    me = one(db, User, email="agent@example.com")
    soon = (datetime.now(UTC) + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
    added = await client.post(
        f"/app/leads/{lead_id}/tasks",
        data={"task_title": "Call at two", "due_at": soon, "assignee_id": str(me["id"])},
        headers=headers,
    )
    assert added.status_code == 200, added.text
    assert "Call at two" in added.text
    due = (await client.get("/app/tasks/due")).json()
    assert due["due"] == 0
    assert [t["title"] for t in due["soon"]] == ["Call at two"]
    assert 0 < due["soon"][0]["in_seconds"] <= 180
    task_id = str(one(db, LeadTask)["id"])
    done = await client.post(
        f"/app/tasks/{task_id}", data={"done": "true", "from": "tasks"}, headers=headers
    )
    assert done.status_code == 200
    assert (await client.get("/app/tasks/due")).json()["soon"] == []
    assert one(db, LeadTask)["done_at"] is not None


async def test_a_bad_task_from_the_panel_is_refused(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    headers = await _as(client, db, tenant, "agent")
    answer = await client.post(
        f"/app/leads/{lead_id}/tasks",
        data={"task_title": "Call", "due_at": "tomorrow"},
        headers=headers,
    )
    assert answer.status_code == 400
    assert answer.json()["details"][0]["field"] == "due_at"
    viewer = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with viewer:
        viewer_headers = await _as(viewer, db, tenant, "viewer")
        refused = await viewer.post(
            f"/app/leads/{lead_id}/tasks",
            data={"task_title": "Call", "due_at": "2030-01-01T09:00"},
            headers=viewer_headers,
        )
    assert refused.status_code == 403
    assert count(db, LeadTask) == 0


# -- the contact page -------------------------------------------------------------------------


async def test_the_contact_page_edits_the_person_with_history(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    headers = await _as(client, db, tenant, "agent")
    contact_id = one(db, Lead)["contact_id"]
    answer = await client.post(
        f"/app/contacts/{contact_id}/edit",
        data={
            "firstname": "Anna",
            "lastname": "Lopez",
            "phone_number": "512 555 0199",
            "city": "Austin",
        },
        headers=headers,
    )
    assert answer.status_code == 204, answer.text
    found = (await client.get(f"/api/v3/contacts/{contact_id}", headers=auth(tenant))).json()
    assert (found["data"]["firstname"], found["data"]["phone_number"]) == ("Anna", "+15125550199")
    (said,) = _descriptions(db, "lead_updated")
    assert said.startswith("Agent changed first name from Ana to Anna; phone from +15125550142")


async def test_another_contacts_phone_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    await deliver(client, tenant, firstname="Bo", phone_number="5125550177", productid="Roof")
    headers = await _as(client, db, tenant, "agent")
    contact_id = one(db, Lead, id=uuid.UUID(lead_id))["contact_id"]
    before = count(db, LeadActivity)
    answer = await client.post(
        f"/app/contacts/{contact_id}/edit",
        data={"firstname": "Someone", "phone_number": "(512) 555-0177"},
        headers=headers,
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "CONFLICT"
    found = (await client.get(f"/api/v3/contacts/{contact_id}", headers=auth(tenant))).json()
    assert found["data"]["firstname"] == "Ana"
    assert count(db, LeadActivity) == before


async def test_the_lead_panel_edits_its_person_and_shows_the_panel_again(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    headers = await _as(client, db, tenant, "agent")
    answer = await client.post(
        f"/app/leads/{lead_id}/contact",
        data={"firstname": "Anna", "address": "12 Elm St", "city": "Austin", "email": ""},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    assert "Anna" in answer.text  # the panel, redrawn with the new name
    assert 'value="12 Elm St"' in answer.text
    contact_id = one(db, Lead)["contact_id"]
    found = (await client.get(f"/api/v3/contacts/{contact_id}", headers=auth(tenant))).json()
    assert (found["data"]["firstname"], found["data"]["city"]) == ("Anna", "Austin")
    (said,) = _descriptions(db, "lead_updated")
    assert said.startswith("Agent changed first name from Ana to Anna")

    await deliver(client, tenant, firstname="Bo", phone_number="5125550177", productid="Roof")
    before = count(db, LeadActivity)
    refused = await client.post(
        f"/app/leads/{lead_id}/contact", data={"phone_number": "(512) 555-0177"}, headers=headers
    )
    assert refused.status_code == 409
    assert count(db, LeadActivity) == before


# -- members: reset a password, deactivate --------------------------------------------------


async def test_an_admin_deactivates_a_member_and_their_session_stops_at_once(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    agent_email = add_member(db, tenant.workspace_id, "agent")
    agent = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with agent:
        await sign_in(agent, agent_email)
        headers = await _as(client, db, tenant, "admin")
        agent_id = one(db, User, email=agent_email)["id"]
        answer = await client.post(
            f"/app/settings/members/{agent_id}/active", data={"active": "false"}, headers=headers
        )
        assert answer.status_code == 204
        locked_out = await agent.get("/app")
        assert locked_out.status_code in (302, 303, 401)
        refused = await agent.post(
            "/login", data={"email": agent_email, "password": "a-long-enough-password"}
        )
        assert refused.status_code != 303
    settings = await client.get("/app/settings")
    assert "deactivated" in settings.text


async def test_an_admin_resets_a_members_password_shown_once(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    agent_email = add_member(db, tenant.workspace_id, "agent")
    headers = await _as(client, db, tenant, "admin")
    agent_id = one(db, User, email=agent_email)["id"]
    answer = await client.post(f"/app/settings/members/{agent_id}/password", headers=headers)
    assert answer.status_code == 200
    assert "New password for agent@example.com" in answer.text
    password = answer.text.split('id="new-password">')[1].split("<")[0]
    fresh = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with fresh:
        await sign_in(fresh, agent_email, password)


@pytest.mark.parametrize("target", ["owner", "self", "shared", "outsider"])
async def test_an_admin_may_not_lock_out_whom_they_should_not(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, target: str
) -> None:
    add_member(db, tenant.workspace_id, "owner")
    elsewhere = make_tenant(db, workspace_id="elsewhere")
    add_member(db, elsewhere.workspace_id, "agent", email="outsider@example.com")
    shared = add_member(db, tenant.workspace_id, "agent", email="shared@example.com")
    with db.transaction() as conn:
        user.set_role(conn, email=shared, workspace_id="elsewhere", role="agent")
    headers = await _as(client, db, tenant, "admin")
    email = {
        "owner": "owner@example.com",
        "self": "admin@example.com",
        "shared": shared,
        "outsider": "outsider@example.com",
    }[target]
    target_id = one(db, User, email=email)["id"]
    for path, data in (("active", {"active": "false"}), ("password", {})):
        answer = await client.post(
            f"/app/settings/members/{target_id}/{path}", data=data, headers=headers
        )
        assert answer.status_code in (403, 404, 409), (path, answer.status_code)
        assert answer.json()["success"] is False
    assert one(db, User, email=email)["is_active"]
