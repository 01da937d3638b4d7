"""Pipeline overview and stage management through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from leadpipe.kit.clock import utcnow
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead, LeadStatusHistory
from tests.conftest import Tenant, make_tenant
from tests.integration.helpers import age_lead, one, rows
from tests.integration.test_lead_api import auth, deliver


def stages_url(tenant: Tenant, suffix: str = "") -> str:
    return f"/api/v3/leads/pipeline/{tenant.workspace_id}/stages{suffix}"


@pytest.fixture
async def leads(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    return [
        await deliver(client, tenant, phone="5553000001", product="Solar", estimated_value=1000),
        await deliver(client, tenant, phone="5553000002", product="Solar", estimated_value=3000),
        await deliver(
            client,
            tenant,
            phone="5553000003",
            product="Roof",
            estimated_value=2000,
            lead_status="Qualified",
        ),
        await deliver(
            client,
            tenant,
            phone="5553000004",
            product="HVAC",
            estimated_value=500,
            lead_status="Closed Won",
        ),
    ]


class TestOverview:
    async def test_counts_values_and_weighted_values_in_stage_order(
        self, client: httpx.AsyncClient, tenant: Tenant, leads: list[dict[str, Any]]
    ) -> None:
        response = await client.get(
            f"/api/v3/leads/pipeline/{tenant.workspace_id}", headers=auth(tenant)
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        by_stage = {
            s["stage"]: (s["count"], s["value"], s["weighted_value"]) for s in data["stages"]
        }
        assert [s["stage"] for s in data["stages"]] == [
            "new",
            "qualified",
            "proposal",
            "negotiation",
            "won",
            "lost",
            "inactive",
        ]
        assert by_stage["new"] == (2, 4000, 400)  # 10%
        assert by_stage["qualified"] == (1, 2000, 500)  # 25%
        assert by_stage["won"] == (1, 500, 500)  # 100%
        assert by_stage["proposal"] == (0, 0, 0)
        assert (data["total_leads"], data["total_value"]) == (4, 6500)
        # The won lead's value is revenue, not pipeline: it is reported on its own.
        assert (data["open_leads"], data["open_value"], data["weighted_value"]) == (3, 6000, 900)
        assert (data["won_leads"], data["won_value"]) == (1, 500)
        assert (data["lost_leads"], data["lost_value"]) == (0, 0)

    async def test_date_range_counts_recent_leads_only(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        leads: list[dict[str, Any]],
    ) -> None:
        age_lead(db, leads[0]["lead_id"], days=10)
        url = f"/api/v3/leads/pipeline/{tenant.workspace_id}"
        week = (await client.get(f"{url}?date_range=last_7_days", headers=auth(tenant))).json()
        month = (await client.get(f"{url}?date_range=last_30_days", headers=auth(tenant))).json()
        assert week["data"]["total_leads"] == 3
        assert month["data"]["total_leads"] == 4
        today = utcnow().date().isoformat()
        dated = (await client.get(f"{url}?from={today}&to={today}", headers=auth(tenant))).json()
        assert dated["data"]["total_leads"] == 3
        bad = await client.get(f"{url}?date_range=forever", headers=auth(tenant))
        assert bad.status_code == 400
        assert bad.json()["details"][0]["field"] == "date_range"

    async def test_without_counts_and_for_another_workspace(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        url = f"/api/v3/leads/pipeline/{tenant.workspace_id}"
        data = (await client.get(f"{url}?include_counts=false", headers=auth(tenant))).json()[
            "data"
        ]
        assert "count" not in data["stages"][0]
        other = make_tenant(db, workspace_id="other")
        refused = await client.get(url, headers=auth(other))
        assert refused.status_code == 403
        assert "data" not in refused.json()


class TestStages:
    async def test_create_places_the_stage_and_intake_can_use_it(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.post(
            stages_url(tenant),
            headers=auth(tenant),
            json={
                "stage_name": "Site Visit",
                "color": "#2B6CB0",
                "conversion_probability": 40,
                "stage_order": 3,
            },
        )
        assert response.status_code == 201, response.text
        created = response.json()["data"]
        assert (created["stage_slug"], created["stage_order"]) == ("site_visit", 3)
        listed = (await client.get(stages_url(tenant), headers=auth(tenant))).json()["data"]
        assert [s["stage_slug"] for s in listed][:4] == [
            "new",
            "qualified",
            "site_visit",
            "proposal",
        ]
        assert [s["stage_order"] for s in listed] == list(range(1, 9))

        duplicate = await client.post(
            stages_url(tenant), headers=auth(tenant), json={"stage_name": "Site visit"}
        )
        assert duplicate.status_code == 409

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"stage_name": ""}, "stage_name"),
            ({"stage_name": "X", "color": "blue"}, "color"),
            ({"stage_name": "X", "conversion_probability": 120}, "conversion_probability"),
            ({"stage_name": "X", "stage_slug": "Has Spaces"}, "stage_slug"),
        ],
    )
    async def test_invalid_stage_is_refused(
        self, client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
    ) -> None:
        response = await client.post(stages_url(tenant), headers=auth(tenant), json=body)
        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == field

    async def test_update_default_and_reorder(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.put(
            stages_url(tenant, "/qualified"),
            headers=auth(tenant),
            json={"stage_name": "Qualified ✓", "conversion_probability": 30, "is_default": True},
        )
        assert response.status_code == 200, response.text
        stages = (await client.get(stages_url(tenant), headers=auth(tenant))).json()["data"]
        assert [s["stage_slug"] for s in stages if s["is_default"]] == ["qualified"]
        new_lead = await deliver(client, tenant, email="d@example.com", product="X")
        lead = (
            await client.get(f"/api/v3/leads/{new_lead['lead_id']}", headers=auth(tenant))
        ).json()["data"]
        assert (lead["stage"], lead["probability"]) == ("qualified", 30)

        order = ["qualified", "new", "proposal", "negotiation", "won", "lost", "inactive"]
        response = await client.post(
            stages_url(tenant, "/reorder"), headers=auth(tenant), json={"order": order}
        )
        assert [s["stage_slug"] for s in response.json()["data"]] == order
        bad = await client.post(
            stages_url(tenant, "/reorder"), headers=auth(tenant), json={"order": order[:-1]}
        )
        assert bad.status_code == 400

    async def test_stage_with_leads_cannot_be_deleted_but_can_be_emptied(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        leads: list[dict[str, Any]],
    ) -> None:
        refused = await client.delete(stages_url(tenant, "/qualified"), headers=auth(tenant))
        assert refused.status_code == 409
        assert one(db, Lead, id=leads[2]["lead_id"])["stage"] == "qualified"

        deactivated = await client.put(
            stages_url(tenant, "/qualified"), headers=auth(tenant), json={"is_active": False}
        )
        assert deactivated.json()["data"]["is_active"] is False
        overview = (
            await client.get(f"/api/v3/leads/pipeline/{tenant.workspace_id}", headers=auth(tenant))
        ).json()["data"]
        assert "qualified" in [s["stage"] for s in overview["stages"]]  # still holds a lead

        moved = await client.delete(
            stages_url(tenant, "/qualified?move_to=proposal"), headers=auth(tenant)
        )
        assert moved.json()["data"] == {"deleted": "qualified", "leads_moved": 1}
        lead = one(db, Lead, id=leads[2]["lead_id"])
        assert (lead["stage"], lead["probability"]) == ("proposal", 60)
        change = rows(db, LeadStatusHistory, lead_id=leads[2]["lead_id"])[-1]
        assert change["new_stage"] == "proposal"
        assert change["changed_by_name"] == "API"  # who deleted the stage, not "Pipeline"

    @pytest.mark.parametrize("slug", ["won", "lost", "new"])
    async def test_built_in_and_default_stages_stay(
        self, client: httpx.AsyncClient, tenant: Tenant, slug: str
    ) -> None:
        response = await client.put(
            stages_url(tenant, f"/{slug}"), headers=auth(tenant), json={"is_active": False}
        )
        assert response.status_code == 400
        assert (
            await client.delete(stages_url(tenant, f"/{slug}"), headers=auth(tenant))
        ).status_code == 400

    async def test_unknown_stage(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        response = await client.put(
            stages_url(tenant, "/nope"), headers=auth(tenant), json={"color": "#000000"}
        )
        assert response.status_code == 404
