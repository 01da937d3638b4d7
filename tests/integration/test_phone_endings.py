"""A search of a phone's last digits (issue 24): ``2686`` or ``737-2686`` finds the people
whose phone ends with them, in the API's lead and contact lists and in the dashboard's lead
table, and phones read the way the workspace's country writes them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from leadpipe.storage.engine import Database
from tests.conftest import Tenant, make_tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.test_lead_api import auth, deliver

PEOPLE = {
    "ana": {"firstname": "Ana", "phone": "(626) 737-2686", "product": "Solar"},
    "bo": {"firstname": "Bo", "phone": "(512) 555-2686", "product": "Solar"},
    "cy": {"firstname": "Cy", "phone": "(512) 737-1111", "product": "Solar"},
    # A CRM id of digits is still found by them, as it was before phones' ends were.
    "di": {"firstname": "Di", "email": "di@example.com", "crm_id": "2686", "product": "Solar"},
    "ed": {"firstname": "Ed", "phone": "+61 412 345 678", "product": "Solar"},
}


@pytest.fixture
async def people(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, dict[str, Any]]:
    return {name: await deliver(client, tenant, **person) for name, person in PEOPLE.items()}


async def _lead_names(client: httpx.AsyncClient, tenant: Tenant, q: str) -> list[str]:
    response = await client.get("/api/v3/leads", params={"q": q}, headers=auth(tenant))
    assert response.status_code == 200, response.text
    return sorted(lead["contact"]["firstname"] for lead in response.json()["data"])


async def _contact_names(client: httpx.AsyncClient, tenant: Tenant, q: str) -> list[str]:
    response = await client.get("/api/v3/contacts", params={"q": q}, headers=auth(tenant))
    assert response.status_code == 200, response.text
    return sorted(contact["firstname"] for contact in response.json()["data"])


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("2686", ["Ana", "Bo", "Di"]),  # Di by her CRM id
        ("737-2686", ["Ana"]),
        ("737 2686", ["Ana"]),
        ("7372686", ["Ana"]),
        ("(626) 737-2686", ["Ana"]),  # a whole number, as before
        ("+1 626 737 2686", ["Ana"]),
        ("5678", ["Ed"]),  # another country's number too
        ("2687", []),
        ("9999", []),  # the end of the digits' range: no upper bound
        ("686", []),  # too few digits: text, and no name holds them
    ],
)
async def test_the_last_digits_of_a_phone_find_its_leads_and_contacts(
    client: httpx.AsyncClient,
    tenant: Tenant,
    people: dict[str, dict[str, Any]],
    q: str,
    found: list[str],
) -> None:
    assert await _lead_names(client, tenant, q) == found
    assert await _contact_names(client, tenant, q) == found


async def test_a_changed_phone_is_found_by_its_new_ending_only(
    client: httpx.AsyncClient, tenant: Tenant, people: dict[str, dict[str, Any]]
) -> None:
    changed = await client.put(
        f"/api/v3/contacts/{people['cy']['contact_id']}",
        json={"phone_number": "(512) 737-4242"},
        headers=auth(tenant),
    )
    assert changed.status_code == 200, changed.text

    assert await _contact_names(client, tenant, "4242") == ["Cy"]
    assert await _contact_names(client, tenant, "1111") == []


async def test_another_workspaces_phones_are_not_found(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, people: dict[str, dict[str, Any]]
) -> None:
    other = make_tenant(db, workspace_id="other")
    assert await _lead_names(client, other, "2686") == []


async def test_the_lead_table_finds_a_phones_end_and_shows_phones_as_the_region_writes_them(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, people: dict[str, dict[str, Any]]
) -> None:
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))

    table = (await client.get("/app", params={"q": "737-2686"})).text

    assert "Ana" in table
    assert "Bo" not in table
    assert "(626) 737-2686" in table  # national in the workspace's country (US)
    assert "+16267372686" not in table
    everyone = (await client.get("/app")).text
    assert "+61 412 345 678" in everyone  # international for another country's number


async def test_the_contact_page_shows_the_phone_national_and_dials_it_in_e164(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, people: dict[str, dict[str, Any]]
) -> None:
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))

    page = (await client.get(f"/app/contacts/{people['ana']['contact_id']}")).text

    assert '<a href="tel:+16267372686" class="phone">(626) 737-2686</a>' in page
