"""Lead API v3 through HTTP on SQLite and PostgreSQL: auth, isolation, lists, changes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from leadpipe.accounts.service import account
from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.kit.clock import utcnow
from leadpipe.leads.repository import LeadRepository
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead, LeadStatusHistory
from tests.conftest import Tenant, make_tenant
from tests.integration.helpers import age_lead, count, one, rows


async def deliver(client: httpx.AsyncClient, tenant: Tenant, **payload: Any) -> dict[str, Any]:
    response = await client.post(tenant.url, json=payload)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def deliver_to_every_scope(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, **person: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same person delivered to ``tenant``'s webhook, to a webhook of the same
    workspace that dedupes on its own, and to another workspace: the first two answers."""
    workspace_wide = await deliver(client, tenant, **person)
    its_own = await deliver(client, make_tenant(db, dedup_scope="webhook"), **person)
    await deliver(client, make_tenant(db, workspace_id="other"), **person)
    return workspace_wide, its_own


def auth(tenant: Tenant) -> dict[str, str]:
    return {"X-API-Key": tenant.api_key}


@pytest.fixture
async def seeded(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, dict[str, Any]]:
    """Four leads of three people, delivered the way providers send them."""
    return {
        "ana_solar": await deliver(
            client,
            tenant,
            firstname="Ana",
            lastname="Lopez",
            phone="(555) 201-0001",
            email="ana@example.com",
            product="Solar Panels",
            source="Facebook Ads",
            estimated_value=30000,
            priority="high",
            temperature="hot",
        ),
        "ana_roof": await deliver(
            client,
            tenant,
            phone="5552010001",
            product="Roofing",
            source="Google Ads",
            estimated_value=12000,
        ),
        "bo": await deliver(
            client,
            tenant,
            firstname="Bo",
            lastname="Chen",
            phone="5552010002",
            product="HVAC",
            source="Google Ads",
            estimated_value=8000,
            lead_status="Qualified",
        ),
        "cy": await deliver(
            client,
            tenant,
            firstname="Cy",
            lastname="Young",
            email="cy@example.com",
            product="Solar Panels",
            source="Angi",
            lead_status="Closed Lost",
        ),
    }


class TestAuthentication:
    async def test_health_needs_no_key(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v3/leads/health")
        assert response.status_code == 200
        assert response.json()["status"] == "ok"

    @pytest.mark.parametrize("headers", [{}, {"X-API-Key": "lp_not-a-real-key"}])
    async def test_missing_or_unknown_key_is_refused(
        self, client: httpx.AsyncClient, tenant: Tenant, headers: dict[str, str]
    ) -> None:
        response = await client.get("/api/v3/leads", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "UNAUTHORIZED"
        assert response.json()["request_id"] == response.headers["x-request-id"]

    async def test_read_only_key_cannot_write(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        seeded: dict[str, dict[str, Any]],
    ) -> None:
        with db.transaction() as conn:
            key = account.create_api_key(
                conn, workspace_id=tenant.workspace_id, name="ro", scopes=("read",)
            ).key
        lead_id = seeded["bo"]["lead_id"]
        assert (
            await client.get(f"/api/v3/leads/{lead_id}", headers={"X-API-Key": key})
        ).status_code == 200
        response = await client.put(
            f"/api/v3/leads/{lead_id}", json={"priority": "low"}, headers={"X-API-Key": key}
        )
        assert response.status_code == 403
        assert response.json()["code"] == "FORBIDDEN"
        assert one(db, Lead, id=lead_id)["priority"] == "medium"

    async def test_rate_limit_per_key(
        self, settings: Settings, db: Database, tenant: Tenant
    ) -> None:
        app = create_app(settings.model_copy(update={"api_rate_limit": "3/minute"}), db)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            statuses = [
                (await client.get("/api/v3/leads", headers=auth(tenant))).status_code
                for _ in range(4)
            ]
            limited = await client.get("/api/v3/leads", headers=auth(tenant))
        assert statuses == [200, 200, 200, 429]
        assert limited.json()["code"] == "RATE_LIMITED"
        assert 1 <= int(limited.headers["retry-after"]) <= 60


class TestIsolation:
    async def test_other_workspace_sees_nothing(
        self,
        client: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
        seeded: dict[str, dict[str, Any]],
    ) -> None:
        other = make_tenant(db, workspace_id="other")
        lead_id = seeded["bo"]["lead_id"]
        calls = [
            client.get(f"/api/v3/leads/{lead_id}", headers=auth(other)),
            client.put(f"/api/v3/leads/{lead_id}", json={"stage": "lost"}, headers=auth(other)),
            client.get(f"/api/v3/leads/{lead_id}/activities", headers=auth(other)),
            client.post(
                f"/api/v3/leads/{lead_id}/activities",
                headers=auth(other),
                json={"activity_type": "note", "title": "peek"},
            ),
        ]
        for response in await asyncio.gather(*calls):
            assert response.status_code == 404, response.text
            assert "data" not in response.json()
        listed = await client.get("/api/v3/leads", headers=auth(other))
        assert listed.json()["data"] == []
        assert one(db, Lead, id=lead_id)["stage"] == "qualified"

    async def test_naming_another_workspace_is_forbidden(
        self, client: httpx.AsyncClient, tenant: Tenant, seeded: dict[str, dict[str, Any]]
    ) -> None:
        response = await client.get("/api/v3/leads?workspace_id=other", headers=auth(tenant))
        assert response.status_code == 403
        response = await client.post(
            "/api/v3/leads",
            headers=auth(tenant),
            json={"contact_id": seeded["bo"]["contact_id"], "workspace_id": "other"},
        )
        assert response.status_code == 403

    async def test_contact_of_another_workspace_cannot_get_a_lead(
        self,
        client: httpx.AsyncClient,
        db: Database,
        tenant: Tenant,
        seeded: dict[str, dict[str, Any]],
    ) -> None:
        other = make_tenant(db, workspace_id="other")
        response = await client.post(
            "/api/v3/leads",
            headers=auth(other),
            json={"contact_id": seeded["bo"]["contact_id"], "product_interest": "Spy"},
        )
        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "contact_id"
        assert count(db, Lead, workspace_id="other") == 0


class TestList:
    async def _ids(self, client: httpx.AsyncClient, tenant: Tenant, query: str) -> list[str]:
        response = await client.get(f"/api/v3/leads?{query}", headers=auth(tenant))
        assert response.status_code == 200, response.text
        return [lead["id"] for lead in response.json()["data"]]

    async def test_defaults_newest_open_leads_with_contact(
        self, client: httpx.AsyncClient, tenant: Tenant, seeded: dict[str, dict[str, Any]]
    ) -> None:
        body = (await client.get("/api/v3/leads", headers=auth(tenant))).json()
        assert body["success"] is True
        assert [lead["id"] for lead in body["data"]] == [
            seeded[k]["lead_id"] for k in ("bo", "ana_roof", "ana_solar")
        ]  # cy is lost
        assert body["pagination"] == {"total": 3, "limit": 50, "offset": 0, "has_more": False}
        ana = body["data"][2]
        assert ana["contact"] == {
            "id": seeded["ana_solar"]["contact_id"],
            "firstname": "Ana",
            "lastname": "Lopez",
            "email": "ana@example.com",
            "phone": "+15552010001",
        }
        assert ana["estimated_value"] == 30000
        assert "raw_payload" not in ana

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("stage=qualified", ["bo"]),
            ("source=Google%20Ads", ["bo", "ana_roof"]),
            ("product=solar%20panels", ["ana_solar"]),
            ("priority=high", ["ana_solar"]),
            ("temperature=hot", ["ana_solar"]),
            ("is_active=false", ["cy"]),
            ("q=555-201-0001", ["ana_roof", "ana_solar"]),
            ("q=%2B1%20555%20201%200002", ["bo"]),
            ("q=ANA@example.com", ["ana_roof", "ana_solar"]),
            ("q=chen", ["bo"]),
            ("q=bo%20chen", ["bo"]),
            ("q=LOPEZ", ["ana_roof", "ana_solar"]),
            ("q=a%20lop", ["ana_roof", "ana_solar"]),
            ("q=lopez&product=roofing", ["ana_roof"]),
            ("q=lo", ["ana_roof", "ana_solar"]),  # shorter than a trigram
            ("q=CH", ["bo"]),
            ("sort=estimated_value&order=asc", ["bo", "ana_roof", "ana_solar"]),
        ],
    )
    async def test_filters_search_and_sort(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        seeded: dict[str, dict[str, Any]],
        query: str,
        expected: list[str],
    ) -> None:
        assert await self._ids(client, tenant, query) == [seeded[k]["lead_id"] for k in expected]

    async def test_a_search_by_phone_or_email_finds_leads_in_every_scope(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        workspace_wide, its_own = await deliver_to_every_scope(
            client, db, tenant, phone="6265550100", email="sam@example.com", product="Solar"
        )
        both = {workspace_wide["lead_id"], its_own["lead_id"]}
        assert set(await self._ids(client, tenant, "q=(626)%20555-0100")) == both
        assert set(await self._ids(client, tenant, "q=sam@example.com")) == both

    async def test_creation_period_as_dates_or_moments(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        seeded: dict[str, dict[str, Any]],
    ) -> None:
        age_lead(db, seeded["bo"]["lead_id"], days=40)
        today = utcnow().date()
        recent = [seeded[k]["lead_id"] for k in ("ana_roof", "ana_solar")]

        since = (today - timedelta(days=10)).isoformat()
        assert await self._ids(client, tenant, f"created_from={since}") == recent
        until = (today - timedelta(days=20)).isoformat()
        assert await self._ids(client, tenant, f"created_to={until}") == [seeded["bo"]["lead_id"]]
        # A date as the end includes that whole day.
        assert await self._ids(client, tenant, f"created_from={today}&created_to={today}") == (
            recent
        )
        later = quote((utcnow() + timedelta(hours=1)).isoformat())
        assert await self._ids(client, tenant, f"created_from={later}") == []

        bad = await client.get("/api/v3/leads?created_from=last%20week", headers=auth(tenant))
        assert bad.json()["details"] == [
            {
                "field": "created_from",
                "message": "expected a date-time with an offset (2026-10-01T09:00:00-05:00) "
                "or a date (2026-10-01, UTC)",
            }
        ]

    @pytest.mark.parametrize("order", ["asc", "desc"])
    async def test_leads_without_a_value_sort_last_either_way(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        seeded: dict[str, dict[str, Any]],
        order: str,
    ) -> None:
        unvalued = await deliver(client, tenant, phone="5552019999", product="Gutters")
        ids = await self._ids(client, tenant, f"sort=estimated_value&order={order}")
        valued = ["bo", "ana_roof", "ana_solar"]
        ordered = valued if order == "asc" else valued[::-1]
        assert ids == [seeded[k]["lead_id"] for k in ordered] + [unvalued["lead_id"]]

    async def test_pagination_and_activities(
        self, client: httpx.AsyncClient, tenant: Tenant, seeded: dict[str, dict[str, Any]]
    ) -> None:
        body = (
            await client.get(
                "/api/v3/leads?limit=2&offset=1&include_activities=true", headers=auth(tenant)
            )
        ).json()
        assert body["pagination"] == {"total": 3, "limit": 2, "offset": 1, "has_more": False}
        assert [lead["id"] for lead in body["data"]] == [
            seeded["ana_roof"]["lead_id"],
            seeded["ana_solar"]["lead_id"],
        ]
        assert [a["activity_type"] for a in body["data"][0]["activities"]] == ["lead_created"]
        first = (await client.get("/api/v3/leads?limit=1", headers=auth(tenant))).json()
        assert first["pagination"]["has_more"] is True

    @pytest.mark.parametrize(
        "query",
        [
            "limit=101",
            "limit=0",
            "offset=-1",
            "sort=name",
            "priority=P1",
            "created_from=yesterday",
            "created_to=2026-10-01T09:00:00",  # no offset: which 9 o'clock?
        ],
    )
    async def test_bad_parameters_are_named(
        self, client: httpx.AsyncClient, tenant: Tenant, query: str
    ) -> None:
        response = await client.get(f"/api/v3/leads?{query}", headers=auth(tenant))
        assert response.status_code == 400
        assert response.json()["code"] == "VALIDATION_ERROR"
        assert response.json()["details"][0]["field"] == query.split("=")[0]


class TestCreateAndUpdate:
    async def test_create_for_existing_contact(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        seeded: dict[str, dict[str, Any]],
    ) -> None:
        response = await client.post(
            "/api/v3/leads",
            headers=auth(tenant),
            json={
                "contact_id": seeded["bo"]["contact_id"],
                "workspace_id": tenant.workspace_id,
                "product_interest": "Solar Installation",
                "lead_source": "Google Ads",
                "estimated_value": 25000,
                "priority": "high",
                "temperature": "hot",
                "qualification_status": "qualified",
                "timeline": "30_days",
                "initial_inquiry": "Interested in solar for 2000 sq ft home",
                "tags": ["solar", "residential", "urgent"],
                "custom_fields": {"roof_type": "shingle"},
            },
        )

        assert response.status_code == 201, response.text
        lead = response.json()["data"]
        assert (lead["stage"], lead["probability"], lead["priority"]) == ("new", 10, "high")
        assert lead["tags"] == ["solar", "residential", "urgent"]
        assert lead["custom_fields"] == {"roof_type": "shingle"}
        assert lead["contact"]["firstname"] == "Bo"
        timeline = (
            await client.get(f"/api/v3/leads/{lead['id']}/activities", headers=auth(tenant))
        ).json()["data"]
        assert [a["activity_type"] for a in timeline] == ["lead_created"]
        assert rows(db, LeadStatusHistory, lead_id=lead["id"])[0]["new_stage"] == "new"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"product_interest": "X"}, "contact_id"),
            ({"contact_id": "not-a-uuid"}, "contact_id"),
            ({"contact_id": "01a20000-0000-7000-8000-000000000000"}, "contact_id"),
            ({"stage": "nowhere"}, "stage"),
            ({"priority": "P1"}, "priority"),
            ({"estimated_value": -1}, "estimated_value"),
            ({"unknown_field": 1}, "unknown_field"),
        ],
    )
    async def test_invalid_create_changes_nothing(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        seeded: dict[str, dict[str, Any]],
        body: dict[str, Any],
        field: str,
    ) -> None:
        before = count(db, Lead)
        payload = {"contact_id": seeded["bo"]["contact_id"], **body}
        if field == "contact_id" and "contact_id" not in body:
            payload.pop("contact_id")
        response = await client.post("/api/v3/leads", headers=auth(tenant), json=payload)
        assert response.status_code == 400, response.text
        assert response.json()["details"][0]["field"] == field
        assert count(db, Lead) == before

    async def test_partial_update_keeps_the_rest(
        self, client: httpx.AsyncClient, tenant: Tenant, seeded: dict[str, dict[str, Any]]
    ) -> None:
        lead_id = seeded["ana_solar"]["lead_id"]
        response = await client.put(
            f"/api/v3/leads/{lead_id}",
            headers=auth(tenant),
            json={"temperature": "cold", "tags": ["vip"]},
        )
        lead = response.json()["data"]
        assert (lead["temperature"], lead["tags"]) == ("cold", ["vip"])
        assert (lead["priority"], lead["estimated_value"]) == ("high", 30000)

    async def test_stage_moves_record_history_and_timeline(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        seeded: dict[str, dict[str, Any]],
    ) -> None:
        lead_id = seeded["ana_solar"]["lead_id"]
        for stage in ("qualified", "proposal", "won"):
            response = await client.put(
                f"/api/v3/leads/{lead_id}", headers=auth(tenant), json={"stage": stage}
            )
            assert response.status_code == 200, response.text
        lead = response.json()["data"]
        assert (lead["stage"], lead["is_converted"], lead["probability"]) == ("won", True, 100)
        assert lead["converted_at"] is not None
        history = rows(db, LeadStatusHistory, lead_id=lead_id)
        assert [(h["old_stage"], h["new_stage"]) for h in history] == [
            (None, "new"),
            ("new", "qualified"),
            ("qualified", "proposal"),
            ("proposal", "won"),
        ]
        assert history[-1]["changed_by"].startswith("api_key:")
        types = [
            a["activity_type"]
            for a in (
                await client.get(f"/api/v3/leads/{lead_id}/activities", headers=auth(tenant))
            ).json()["data"]
        ]
        assert types[:2] == ["lead_converted", "status_updated"]
        assert types.count("status_updated") == 3

    async def test_closed_leads_follow_the_transition_rules(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        seeded: dict[str, dict[str, Any]],
    ) -> None:
        url = f"/api/v3/leads/{seeded['cy']['lead_id']}"  # lost
        refused = await client.put(url, headers=auth(tenant), json={"stage": "qualified"})
        assert refused.status_code == 400
        assert refused.json()["details"][0]["field"] == "stage"
        assert (
            await client.put(url, headers=auth(tenant), json={"stage": "inactive"})
        ).status_code == 200
        refused = await client.put(url, headers=auth(tenant), json={"stage": "proposal"})
        assert refused.status_code == 400
        reopened = (
            await client.put(url, headers=auth(tenant), json={"stage": "qualified"})
        ).json()["data"]
        assert (reopened["stage"], reopened["is_active"]) == ("qualified", True)

    async def test_lost_closes_the_lead(
        self, client: httpx.AsyncClient, tenant: Tenant, seeded: dict[str, dict[str, Any]]
    ) -> None:
        lead = (
            await client.put(
                f"/api/v3/leads/{seeded['bo']['lead_id']}",
                headers=auth(tenant),
                json={"stage": "lost", "lost_reason": "Price"},
            )
        ).json()["data"]
        assert (lead["stage"], lead["is_active"], lead["lost_reason"]) == ("lost", False, "Price")
        assert lead["lost_at"] is not None

    async def test_counted_changes_wait_for_batches_writing_many_leads(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        seeded: dict[str, dict[str, Any]],
    ) -> None:
        """On PostgreSQL an intake batch writing several leads locks counter rows across
        statements in no global order; a stage move waits for it instead of deadlocking
        with it. A change nothing counts does not wait."""
        if db.dialect != "postgresql":
            pytest.skip("SQLite has one writer at a time anyway")
        url = f"/api/v3/leads/{seeded['ana_solar']['lead_id']}"
        with db.transaction() as conn:
            LeadRepository(conn).serialize_count_writers(tenant.workspace_id)  # a batch
            move = asyncio.ensure_future(
                client.put(url, headers=auth(tenant), json={"stage": "qualified"})
            )
            done, _ = await asyncio.wait([move], timeout=0.5)
            assert not done  # waiting for the batch
            warmer = await client.put(url, headers=auth(tenant), json={"temperature": "warm"})
            assert warmer.status_code == 200
        assert (await move).status_code == 200
        assert one(db, Lead, id=seeded["ana_solar"]["lead_id"])["stage"] == "qualified"


class TestActivities:
    async def test_logging_a_call_touches_the_lead_and_may_move_it(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        seeded: dict[str, dict[str, Any]],
    ) -> None:
        lead_id = seeded["bo"]["lead_id"]
        before = one(db, Lead, id=lead_id)["last_activity_at"]
        response = await client.post(
            f"/api/v3/leads/{lead_id}/activities",
            headers=auth(tenant),
            json={
                "activity_type": "call",
                "title": "Discovery Call",
                "description": "Discussed solar requirements and timeline",
                "outcome": "positive",
                "duration_minutes": 30,
                "performed_by": "agent-7",
                "priority": "medium",
                "activity_data": {"next_steps": "Send proposal"},
                "stage": "proposal",
            },
        )

        assert response.status_code == 201, response.text
        activity = response.json()["data"]
        assert (activity["activity_type"], activity["outcome"], activity["is_automated"]) == (
            "call",
            "positive",
            False,
        )
        assert activity["activity_data"] == {"next_steps": "Send proposal"}
        lead = one(db, Lead, id=lead_id)
        assert lead["stage"] == "proposal"
        assert lead["last_activity_at"] > before

    async def test_timeline_filters(
        self, client: httpx.AsyncClient, tenant: Tenant, seeded: dict[str, dict[str, Any]]
    ) -> None:
        url = f"/api/v3/leads/{seeded['bo']['lead_id']}/activities"
        for kind, outcome in (("call", "positive"), ("email", "neutral"), ("call", "negative")):
            await client.post(
                url,
                headers=auth(tenant),
                json={"activity_type": kind, "title": kind, "outcome": outcome},
            )
        calls = (await client.get(f"{url}?type=call", headers=auth(tenant))).json()["data"]
        assert [a["outcome"] for a in calls] == ["negative", "positive"]
        positive = (await client.get(f"{url}?outcome=positive", headers=auth(tenant))).json()[
            "data"
        ]
        assert [a["activity_type"] for a in positive] == ["call"]

    async def test_invalid_activity_is_refused(
        self, client: httpx.AsyncClient, tenant: Tenant, seeded: dict[str, dict[str, Any]]
    ) -> None:
        url = f"/api/v3/leads/{seeded['bo']['lead_id']}/activities"
        response = await client.post(
            url, headers=auth(tenant), json={"activity_type": "call", "outcome": "great"}
        )
        assert response.status_code == 400
        assert {d["field"] for d in response.json()["details"]} == {"title", "outcome"}


async def test_rate_limit_is_shared_by_workers_through_redis(
    settings: Settings, db: Database, tenant: Tenant, redis_url: str
) -> None:
    """Two app instances (as two workers would be) draw from one Redis counter per key."""
    shared = settings.model_copy(
        update={
            "api_rate_limit": "4/minute",
            # Counters are per API key, and every test makes new keys: no stale counts.
            "rate_limit_storage": f"async+{redis_url}",
        }
    )
    workers = [create_app(shared, db), create_app(shared, db)]
    statuses = []
    for i in range(6):
        app = workers[i % 2]
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            statuses.append((await client.get("/api/v3/leads", headers=auth(tenant))).status_code)
    assert statuses == [200, 200, 200, 200, 429, 429]
