"""Every date the dashboard shows is in the workspace's time zone and reads as a date (issue
24): set on the settings page, checked (an unknown zone changes nothing), consent times
included."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import update

from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead, Workspace
from tests.conftest import Tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.helpers import one
from tests.integration.test_verticals_and_consent import CONSENTING

CREATED = datetime(2026, 12, 7, 20, 5, tzinfo=UTC)  # 14:05 in Chicago


async def _set_time_zone(client: httpx.AsyncClient, csrf: str, time_zone: str) -> httpx.Response:
    return await client.post(
        "/app/settings",
        data={
            "name": "Sunny Solar",
            "default_region": "US",
            "time_zone": time_zone,
            "lead_window_days": "30",
            "csrf_token": csrf,
        },
    )


async def _consenting_lead(client: httpx.AsyncClient, db: Database, tenant: Tenant) -> str:
    """A lead created at ``CREATED`` whose form said when its visitor consented."""
    answer = await client.post(
        tenant.url, json={**CONSENTING, "consent_timestamp": "2026-12-07T19:58:00Z"}
    )
    assert answer.status_code == 200, answer.text
    lead_id = str(answer.json()["lead_id"])
    with db.transaction() as conn:
        leads = table_of(Lead)
        conn.execute(
            update(leads).where(leads.c.id == uuid.UUID(lead_id)).values(created_at=CREATED)
        )
    return lead_id


async def test_dates_and_consent_times_read_in_the_workspaces_zone(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    lead_id = await _consenting_lead(client, db, tenant)
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    assert (await _set_time_zone(client, csrf, "America/Chicago")).status_code == 303

    sidebar = (await client.get(f"/app/leads/{lead_id}")).text

    created = re.search(r"<dt>Created</dt><dd>(.*?)</dd>", sidebar)
    assert created is not None
    assert created.group(1) == (
        '<time datetime="2026-12-07T20:05:00+00:00">7 Dec 2026, 14:05</time>'
    )
    consented = re.search(r"<dt>Consented</dt><dd>(.*?)</dd>", sidebar)
    assert consented is not None
    assert "7 Dec 2026, 13:58" in consented.group(1)  # sent in UTC, shown in Chicago
    assert "2026-12-07T19:58:00Z" not in consented.group(1)


async def test_a_consent_time_without_its_zone_is_shown_as_sent(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    answer = await client.post(
        tenant.url, json={**CONSENTING, "consent_timestamp": "12/07/2026 1:58 PM"}
    )
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))

    sidebar = (await client.get(f"/app/leads/{answer.json()['lead_id']}")).text

    assert "12/07/2026 1:58 PM" in sidebar


async def test_relative_times_say_the_moment_in_the_workspaces_zone_on_hover(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _consenting_lead(client, db, tenant)
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    await _set_time_zone(client, csrf, "Asia/Tokyo")

    table = (await client.get("/app", params={"status": "all"})).text

    assert '<time datetime="2026-12-07T20:05:00+00:00" title="8 Dec 2026, 05:05 JST">' in table


async def test_an_unknown_time_zone_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    assert (await _set_time_zone(client, csrf, "Europe/Berlin")).status_code == 303

    for bad in ("Mars/Olympus_Mons", "europe/berlin", "America", "../../etc/passwd", " "):
        refused = await _set_time_zone(client, csrf, bad)

        assert refused.status_code == 400, bad
        assert "not a time zone" in refused.text
    saved = one(db, Workspace, id=tenant.workspace_id)
    assert saved["settings"]["time_zone"] == "Europe/Berlin"
    assert saved["name"] == "Sunny Solar"
