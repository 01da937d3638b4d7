"""The inbound lead table over HTTP (issue 24): the URL as the view's state (saved views,
the period), what "open" means, several values of a filter, tags, bulk results with their
undo, the heat map's links and the rows a burst of new leads asks for."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from urllib.parse import parse_qsl, urlsplit

import httpx

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead, SavedView
from tests.conftest import Tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.helpers import one, rows
from tests.integration.test_lead_api import deliver

ROW_ID = re.compile(r'id="lead-([0-9a-f-]{36})"')
TOTAL = re.compile(r"(?:of )?([\d,]+) leads(?: in all)?</span>")


async def _people(client: httpx.AsyncClient, tenant: Tenant, *products: str) -> list[str]:
    answers = [
        await deliver(
            client,
            tenant,
            firstname=f"Person{i}",
            email=f"p{i}@example.com",
            productid=product,
            source="Google Ads" if i % 2 else "Website",
        )
        for i, product in enumerate(products)
    ]
    return [str(a["lead_id"]) for a in answers]


def _hx(csrf: str, target: str | None = None) -> dict[str, str]:
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    if target:
        headers["HX-Target"] = target
    return headers


async def _shown(client: httpx.AsyncClient, url: str) -> list[str]:
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return ROW_ID.findall(page.text)


async def _bulk(client: httpx.AsyncClient, csrf: str, **form: object) -> httpx.Response:
    answer = await client.post("/app/bulk", data=form, headers=_hx(csrf, "lead-table"))
    assert answer.status_code == 200, answer.text
    return answer


def _undo_form(page: str) -> dict[str, list[str]]:
    """The fields of the result line's Undo form, as a browser would post them."""
    undo = re.search(r'<form method="post" action="/app/bulk".*?</form>', page, re.S)
    assert undo, "no undo"
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(
        r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', undo[0]
    ):
        fields.setdefault(name, []).append(html.unescape(value))
    return fields


def _result_line(page: str) -> str:
    found = re.search(r'<div class="bulk-result" role="status">\s*<span>([^<]*)</span>', page)
    assert found, "no result line"
    return html.unescape(found[1])


async def test_a_saved_view_stores_the_query_the_table_shows_period_and_all(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _people(client, tenant, "Solar")
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    # The table drawn for a query carries that query to its save form, whatever the page
    # was loaded with.
    table = await client.get(
        "/app?stage=new&stage=qualified&source=Google+Ads&period=90&sort=estimated_value&page=2",
        headers={"HX-Request": "true", "HX-Target": "lead-table"},
    )
    shown = re.search(r'name="query" value="([^"]*)"', table.text)
    assert shown
    saved = await client.post(
        "/app/views",
        data={"name": "Hot Google", "query": html.unescape(shown[1]), "csrf_token": csrf},
    )
    assert saved.status_code == 303
    stored = parse_qsl(one(db, SavedView)["query"])
    assert stored == [
        ("stage", "new"),
        ("stage", "qualified"),
        ("source", "Google Ads"),
        ("sort", "estimated_value"),
        ("period", "90"),
    ]
    assert saved.headers["location"] == "/app?" + one(db, SavedView)["query"]
    page = await client.get("/app")
    assert f'href="/app?{html.escape(one(db, SavedView)["query"])}"' in page.text


async def test_the_table_tells_the_address_bar_its_query(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    table = await client.get(
        "/app?q=&stage=new&stage=&source=&period=7&size=25",
        headers={"HX-Request": "true", "HX-Target": "lead-table"},
    )
    assert table.headers["HX-Push-Url"] == "/app?stage=new&size=25&period=7"


async def test_open_leads_are_neither_won_lost_nor_inactive(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    new, won, lost, inactive, qualified = await _people(client, tenant, *["Solar"] * 5)
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    for lead_id, stage in ((won, "won"), (lost, "lost"), (inactive, "inactive")):
        await _bulk(
            client, csrf, action="stage", stage=stage, lead_ids=lead_id, lost_reason="Price"
        )
    await _bulk(client, csrf, action="stage", stage="qualified", lead_ids=qualified)

    assert set(await _shown(client, "/app")) == {new, qualified}
    assert set(await _shown(client, "/app?status=closed")) == {won, lost, inactive}
    assert len(await _shown(client, "/app?status=all")) == 5
    # The metrics say it too: pending is open and past new.
    metrics = (await client.get("/app/metrics?period=30")).text
    assert re.search(r'data-metric="pending".*?metric-value">1<', metrics, re.S)
    assert "Open: not won, lost or inactive" in metrics


async def test_several_stages_and_sources_at_once_in_the_table_and_its_export(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _people(client, tenant, "Solar", "Roofing", "Windows", "Doors")
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    await _bulk(client, csrf, action="stage", stage="qualified", lead_ids=ids[1])
    await _bulk(client, csrf, action="stage", stage="proposal", lead_ids=ids[2])

    assert set(await _shown(client, "/app?stage=new&stage=qualified")) == {ids[0], ids[1], ids[3]}
    assert set(await _shown(client, "/app?stage=qualified&stage=proposal")) == {ids[1], ids[2]}
    # Sources as typed (any case), several at once.
    assert len(await _shown(client, "/app?source=google+ads&source=WEBSITE")) == 4
    assert set(await _shown(client, "/app?stage=new&source=Google+Ads")) == {ids[3]}

    export = await client.get("/app/export.csv?stage=qualified&stage=proposal")
    exported = list(csv.DictReader(io.StringIO(export.text)))
    assert {r["lead_id"] for r in exported} == {ids[1], ids[2]}
    chosen = await client.post(
        "/app/export.csv",
        data={"all_matching": "1", "filter": "stage=new&stage=proposal", "csrf_token": csrf},
    )
    assert {r["lead_id"] for r in csv.DictReader(io.StringIO(chosen.text))} == {
        ids[0],
        ids[2],
        ids[3],
    }


async def test_bulk_actions_say_what_they_did_and_tags_can_be_seen_filtered_and_undone(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _people(client, tenant, "Solar", "Roofing", "Windows")
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    moved = await _bulk(client, csrf, action="stage", stage="qualified", lead_ids=ids[:2])
    assert _result_line(moved.text) == "2 leads moved to Qualified"
    assert "Undo" not in moved.text  # a stage move is not taken back
    assert moved.headers["HX-Trigger"] == "refreshMetrics"

    tagged = await _bulk(
        client, csrf, action="tag", tags="vip, spring", all_matching="1", filter="stage=qualified"
    )
    assert _result_line(tagged.text) == "vip, spring added to 2 leads"
    assert tagged.text.count('class="tag"') == 4  # shown on the rows
    assert set(await _shown(client, "/app?tag=vip")) == set(ids[:2])
    assert set(await _shown(client, "/app?tag=nope&tag=spring")) == set(ids[:2])
    assert await _shown(client, "/app?tag=nope") == []

    # Again: the leads have the tags already, nothing changes, and it says so.
    again = await _bulk(client, csrf, action="tag", tags="vip", lead_ids=ids[:2])
    assert _result_line(again.text) == "vip added to 0 leads"

    undone = await client.post(
        "/app/bulk", data=_undo_form(tagged.text), headers=_hx(csrf, "lead-table")
    )
    assert _result_line(undone.text) == "Undone: vip, spring removed from 2 leads"
    assert "Undo</button>" not in undone.text
    assert {tuple(r["tags"]) for r in rows(db, Lead)} == {()}


async def test_an_assignment_in_bulk_can_be_undone(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _people(client, tenant, "Solar", "Roofing")
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    page = await client.get("/app")
    me = re.findall(r'<option value="([0-9a-f-]{36})">', page.text)[0]
    assigned = await _bulk(
        client, csrf, action="assign", assigned_user_id=me, all_matching="1", filter=""
    )
    assert re.fullmatch(r"2 leads assigned to .+", _result_line(assigned.text))
    assert "Undo</button>" in assigned.text
    undone = await client.post(
        "/app/bulk", data=_undo_form(assigned.text), headers=_hx(csrf, "lead-table")
    )
    assert _result_line(undone.text) == "Undone: 2 leads unassigned"
    assert {r["assigned_user_id"] for r in rows(db, Lead)} == {None}


async def test_each_heat_map_cell_links_to_as_many_leads_as_it_shows(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await _people(client, tenant, "Solar", "Solar", "Roofing", "Solar", "Windows")
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    ids = [str(r["id"]) for r in rows(db, Lead)]
    await _bulk(client, csrf, action="stage", stage="won", lead_ids=ids[0])  # closed counts too
    metrics = (await client.get("/app/metrics?period=7")).text
    cells = re.findall(r'<td class="shade-\d"><a href="([^"]+)"[^>]*>(\d+)</a>', metrics)
    assert len(cells) == 4
    for link, shown in cells:
        link = html.unescape(link)
        assert dict(parse_qsl(urlsplit(link).query))["within"] == "7"
        assert dict(parse_qsl(urlsplit(link).query))["period"] == "7"
        assert len(await _shown(client, link)) == int(shown), link


async def test_a_burst_asks_for_its_rows_at_once_and_gets_only_those_that_match(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    ids = await _people(client, tenant, "Solar", "Roofing", "Solar")
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    asked = "&".join(f"id={i}" for i in ids)
    answer = await client.get(f"/app/leads/rows?product=Solar&{asked}")
    assert ROW_ID.findall(answer.text) == [ids[2], ids[0]]  # newest first, Roofing left out
    none = await client.get(f"/app/leads/rows?product=Doors&{asked}")
    assert ROW_ID.findall(none.text) == []

    for bad in ("", "id=nope", "&".join(f"id={uuid.uuid4()}" for _ in range(101))):
        refused = await client.get(f"/app/leads/rows?{bad}", headers={"HX-Request": "true"})
        assert refused.status_code == 400, bad
        body = refused.json()
        assert body["success"] is False
        assert body["code"] == "VALIDATION_ERROR"
        assert body["details"][0]["field"] == "id"
