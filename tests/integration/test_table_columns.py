"""The lead table's columns, chosen by each user (issue 24): kept per user and workspace
on the server, shown in the table's headers, its rows and the rows live updates fetch."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.kit.clock import utcnow
from leadpipe.storage.engine import Database
from tests.conftest import Tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.test_lead_api import auth, deliver

DEFAULT = ["Lead", "Product", "Source", "Tags", "Stage", "Priority", "Value", "Assignee", "Created"]
HEADER = re.compile(r'<th scope="col"[^>]*>(.*?)</th>', re.S)
ROW = re.compile(r'<tr id="lead-[^"]+".*?</tr>', re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
TAG = re.compile(r"<[^>]+>")


def headers_of(page: str) -> list[str]:
    """The table's column headers as a user reads them (the check box column left out)."""
    names = [html.unescape(TAG.sub("", h)).strip(" ▼▲\n") for h in HEADER.findall(page)]
    return [n for n in names if n and n != "Select all on this page"]


def cells_of(page: str) -> list[list[str]]:
    """Each row's cells as text, the check box's left out."""
    return [
        [" ".join(html.unescape(TAG.sub(" ", c)).split()) for c in CELL.findall(row)][1:]
        for row in ROW.findall(page)
    ]


def _hx(csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf, "HX-Request": "true", "HX-Target": "lead-table"}


async def choose(
    client: httpx.AsyncClient, csrf: str, *columns: str, query: str = ""
) -> httpx.Response:
    form = {"columns": list(columns), "query": query}
    return await client.post("/app/columns", data=form, headers=_hx(csrf))


async def _lead_with_everything(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    field = await client.post(
        "/api/v3/custom-fields",
        headers=auth(tenant),
        json={"field_key": "roof_type", "label": "Roof type", "field_type": "text"},
    )
    assert field.status_code == 201, field.text
    made = await deliver(
        client,
        tenant,
        firstname="Ana",
        phone="5558000001",
        product="Solar",
        tags=["vip"],
    )
    lead_id = str(made["lead_id"])
    soon, later = (utcnow() + timedelta(days=d) for d in (1, 5))
    for title, due in (("Send the quote later", later), ("Call Ana back", soon)):
        task = await client.post(
            f"/api/v3/leads/{lead_id}/tasks",
            headers=auth(tenant),
            json={"title": title, "due_at": due.isoformat()},
        )
        assert task.status_code == 201, task.text
    changed = await client.put(
        f"/api/v3/leads/{lead_id}",
        headers=auth(tenant),
        json={"lead_score": 87, "custom_fields": {"roof_type": "shingle"}},
    )
    assert changed.status_code == 200, changed.text
    return {"lead_id": lead_id}


async def test_the_default_columns_are_the_tables_columns_before_choosing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await deliver(client, tenant, phone="5558000002", product="Solar")
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    page = (await client.get("/app")).text
    assert headers_of(page) == DEFAULT
    assert len(cells_of(page)[0]) == len(DEFAULT)
    # The chooser offers every column, the default ones ticked, the stage not (always on).
    chooser = page.split("data-columns-form", 1)[1].split("</form>", 1)[0]
    ticked = re.findall(r'value="([a-z_.]+)" checked', chooser)
    assert ticked == ["product", "source", "tags", "priority", "value", "assignee", "created"]
    assert 'value="stage"' not in chooser


async def test_a_choice_is_kept_for_the_user_and_shown_in_the_headers_rows_and_live_rows(
    client: httpx.AsyncClient, settings: Settings, db: Database, tenant: Tenant
) -> None:
    lead = await _lead_with_everything(client, tenant)
    email = add_member(db, tenant.workspace_id, "agent")
    csrf = await sign_in(client, email)
    chosen = await choose(
        client, csrf, "next_task", "phone", "cf.roof_type", "score", query="tag=vip&size=25"
    )
    assert chosen.status_code == 200, chosen.text
    # In the table's order, whatever the order sent; the table keeps its query.
    expected = ["Lead", "Stage", "Score", "Phone", "Next task", "Roof type"]
    assert headers_of(chosen.text) == expected
    assert 'data-row-query="tag=vip&amp;size=25"' in chosen.text
    row = cells_of(chosen.text)[0]
    assert row[2:4] == ["87", "(555) 800-0001"]  # the phone as the workspace reads it
    assert row[4].startswith("Call Ana back due ")  # the earliest open task
    assert row[5] == "shingle"

    # Kept on the server: the page drawn anew, and another browser, show it.
    assert headers_of((await client.get("/app")).text) == expected
    app = create_app(settings, db)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await sign_in(other, email)
        assert headers_of((await other.get("/app")).text) == expected

    # The rows live updates fetch have the same cells.
    one = await client.get(f"/app/leads/{lead['lead_id']}/row")
    assert cells_of(one.text) == [row]
    burst = await client.get(f"/app/leads/rows?id={lead['lead_id']}")
    assert cells_of(burst.text) == [row]


async def test_another_users_choice_is_their_own(
    client: httpx.AsyncClient, settings: Settings, db: Database, tenant: Tenant
) -> None:
    await deliver(client, tenant, phone="5558000003", product="Solar")
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    assert (await choose(client, csrf, "phone")).status_code == 200
    app = create_app(settings, db)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        await sign_in(other, add_member(db, tenant.workspace_id, "agent"))
        assert headers_of((await other.get("/app")).text) == DEFAULT
    assert headers_of((await client.get("/app")).text) == ["Lead", "Stage", "Phone"]


async def test_bad_choices_are_refused_and_change_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await deliver(client, tenant, phone="5558000004", product="Solar")
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    assert (await choose(client, csrf, "phone", "score")).status_code == 200
    for columns in (["phone", "nope"], ["cf.not_a_field"], ["stage"], ["phone"] * 201):
        refused = await choose(client, csrf, *columns)
        assert refused.status_code == 400, refused.text
        body = refused.json()
        assert body["success"] is False
        assert body["code"] == "VALIDATION_ERROR"
        assert body["details"][0]["field"] == "columns"
    assert headers_of((await client.get("/app")).text) == ["Lead", "Stage", "Score", "Phone"]
    # Without the CSRF token, nothing either.
    forged = await client.post("/app/columns", data={"columns": "tags"})
    assert forged.status_code == 403
    assert headers_of((await client.get("/app")).text) == ["Lead", "Stage", "Score", "Phone"]


async def test_no_columns_then_the_default_again(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await deliver(client, tenant, phone="5558000005", product="Solar")
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    none = await choose(client, csrf)
    assert headers_of(none.text) == ["Lead", "Stage"]
    # The chooser's "Default columns", a plain form post: back to the page with its query.
    reset = await client.post(
        "/app/columns",
        data={"reset": "1", "columns": "phone", "query": "stage=new", "csrf_token": csrf},
    )
    assert reset.status_code == 303
    assert reset.headers["location"] == "/app?stage=new"
    assert headers_of((await client.get("/app")).text) == DEFAULT
