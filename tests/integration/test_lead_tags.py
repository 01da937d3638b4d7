"""``lead_tags`` stays equal to the leads' own tags, whoever writes them, on both backends,
and the table's tag filter reads it (issue 24).

The tag filter answers from ``lead_tags``; a drift would hide tagged leads from it or show
leads that lost a tag, so every write path is exercised here and the tags recounted.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text

from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import uuid7
from leadpipe.leads.queries import COMMON_TAG_ROWS
from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead
from tests.conftest import Tenant, make_tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.test_csv_import import _csv, run_cli  # noqa: F401 (a fixture)
from tests.integration.test_lead_api import auth, deliver

ROW_ID = re.compile(r'id="lead-([0-9a-f-]{36})"')
TOTAL = re.compile(r"of ([\d,]+) leads</span>|>([\d,]+) leads?</span>")

Row = tuple[str, str, str]


def kept(db: Database) -> set[Row]:
    with db.transaction(write=False) as conn:
        found = conn.execute(text("SELECT workspace_id, tag, lead_id FROM lead_tags"))
        return {(ws, tag, str(uuid.UUID(str(lead)))) for ws, tag, lead in found}


def recounted(db: Database) -> set[Row]:
    """The tags as the leads hold them: the strings of each lead's JSON array."""
    out: set[Row] = set()
    with db.transaction(write=False) as conn:
        for ws, lead_id, tags in conn.execute(text("SELECT workspace_id, id, tags FROM leads")):
            held = json.loads(tags) if isinstance(tags, str) else tags
            lead = str(uuid.UUID(str(lead_id)))
            out |= {(ws, t, lead) for t in held or [] if isinstance(t, str)}
    return out


def assert_tags_kept(db: Database) -> None:
    assert kept(db) == recounted(db)


def tags_of(db: Database, lead_id: str) -> set[str]:
    return {tag for _ws, tag, lead in kept(db) if lead == lead_id}


async def _bulk(client: httpx.AsyncClient, csrf: str, **form: object) -> None:
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true", "HX-Target": "lead-table"}
    answer = await client.post("/app/bulk", data=form, headers=headers)
    assert answer.status_code == 200, answer.text


async def test_every_write_path_keeps_the_tags(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    tmp_path: Path,
    run_cli: Any,  # noqa: F811
) -> None:
    other = make_tenant(db, "other-ws")
    # Intake: a list (with a repeat), a comma-separated text, none; another workspace.
    ana = await deliver(client, tenant, phone="5557000001", product="Solar", tags=["vip", "vip"])
    bob = await deliver(client, tenant, phone="5557000002", product="HVAC", tags="spring, hoa")
    cy = await deliver(client, tenant, phone="5557000003", product="Solar")
    theirs = await deliver(client, other, phone="5557000001", product="Solar", tags=["vip"])
    # A status update of Ana's lead keeps its tags.
    await deliver(client, tenant, phone="5557000001", product="Solar", lead_status="qualified")
    assert tags_of(db, str(ana["lead_id"])) == {"vip"}
    assert tags_of(db, str(bob["lead_id"])) == {"spring", "hoa"}
    assert tags_of(db, str(theirs["lead_id"])) == {"vip"}
    assert_tags_kept(db)

    # The Lead API: created with tags, then tags replaced, then cleared.
    created = await client.post(
        "/api/v3/leads",
        headers=auth(tenant),
        json={"contact_id": cy["contact_id"], "product_interest": "Roofing", "tags": ["new"]},
    )
    assert created.status_code == 201, created.text
    api_lead = created.json()["data"]["id"]
    assert tags_of(db, api_lead) == {"new"}
    for body, expected in (({"tags": ["a", "b"]}, {"a", "b"}), ({"tags": []}, set())):
        changed = await client.put(f"/api/v3/leads/{api_lead}", headers=auth(tenant), json=body)
        assert changed.status_code == 200, changed.text
        assert tags_of(db, api_lead) == expected
    # A change of anything else leaves them alone.
    moved = await client.put(
        f"/api/v3/leads/{bob['lead_id']}", headers=auth(tenant), json={"stage": "proposal"}
    )
    assert moved.status_code == 200, moved.text
    assert tags_of(db, str(bob["lead_id"])) == {"spring", "hoa"}
    assert_tags_kept(db)

    # The dashboard: bulk add and remove, the panel's details form.
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "owner"))
    ids = [str(ana["lead_id"]), str(bob["lead_id"])]
    await _bulk(client, csrf, action="tag", tags="warm, vip", lead_ids=ids)
    assert tags_of(db, ids[1]) == {"spring", "hoa", "warm", "vip"}
    await _bulk(client, csrf, action="untag", tags="vip", lead_ids=ids)
    assert tags_of(db, ids[0]) == {"warm"}
    edited = await client.post(
        f"/app/leads/{cy['lead_id']}/edit",
        data={"tags": "door, knock"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert edited.status_code == 200, edited.text
    assert tags_of(db, str(cy["lead_id"])) == {"door", "knock"}
    assert_tags_kept(db)

    # A CSV import with a column of tags.
    path = _csv(
        tmp_path / "tagged.csv",
        [["Dee", "dee@example.com", "Solar", "imported, spring"]],
        header=["First Name", "E-mail", "Product", "Tags"],
    )
    done = run_cli("import", "leads", str(path), "--workspace", tenant.workspace_id)
    assert done.exit_code == 0, done.output
    assert (tenant.workspace_id, "imported") in {(ws, tag) for ws, tag, _lead in kept(db)}
    assert_tags_kept(db)

    # Deleting leads (bulk), erasing a person: their tags go with them.
    await _bulk(client, csrf, action="delete", lead_ids=ids[1])
    assert tags_of(db, ids[1]) == set()
    erased = await client.delete(
        f"/api/v3/contacts/{ana['contact_id']}", params={"erase": "true"}, headers=auth(tenant)
    )
    assert erased.status_code == 200, erased.text
    assert tags_of(db, ids[0]) == set()
    assert_tags_kept(db)

    # Even SQL that bypasses leadpipe's code is followed (a non-string is no tag).
    with db.transaction() as conn:
        conn.execute(text("""UPDATE leads SET tags = '["sql", 7]'"""))
    assert {tag for _ws, tag, _lead in kept(db)} == {"sql"}
    assert_tags_kept(db)


async def test_the_filter_reads_the_kept_tags(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    tagged = await deliver(client, tenant, phone="5557100001", product="Solar", tags=["vip"])
    await deliver(client, tenant, phone="5557100002", product="Solar", tags=["spring"])
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    assert ROW_ID.findall((await client.get("/app?tag=vip")).text) == [str(tagged["lead_id"])]
    # The filter answers from lead_tags: a row that is not there is a lead not shown.
    with db.transaction() as conn:
        conn.execute(text("DELETE FROM lead_tags WHERE tag = 'vip'"))
    assert ROW_ID.findall((await client.get("/app?tag=vip")).text) == []


def _many_leads(db: Database, workspace_id: str, tags_of: list[list[str]]) -> list[str]:
    """Leads inserted in bulk, the first the newest, with these tags each; their ids."""
    now = utcnow()
    contact = uuid7()
    ids = [uuid7() for _ in tags_of]
    with db.transaction() as conn:
        conn.execute(
            insert(table_of(Contact)),
            {
                "id": contact,
                "workspace_id": workspace_id,
                "identity_scope": "",
                "email": "many@example.com",
                "custom_fields": {},
                "metadata": {},
                "created_at": now,
                "updated_at": now,
            },
        )
        conn.execute(
            insert(table_of(Lead)),
            [
                {
                    "id": lead_id,
                    "contact_id": contact,
                    "workspace_id": workspace_id,
                    "stage": "new",
                    "tags": tags,
                    "metadata": {},
                    "custom_fields": {},
                    "created_at": now - timedelta(seconds=i),
                    "updated_at": now,
                    "last_activity_at": now,
                }
                for i, (lead_id, tags) in enumerate(zip(ids, tags_of, strict=True))
            ],
        )
    return [str(i) for i in ids]


def _total(page: str) -> int:
    found = TOTAL.search(page)
    assert found, "the pager says how many"
    return int((found[1] or found[2]).replace(",", ""))


async def test_a_common_tag_and_a_rare_one_page_alike(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    # A common tag's page is read in the table's order, a rare one's from the tag: both
    # give the newest matching leads first and count them all.
    n = COMMON_TAG_ROWS + 20
    tags = [["common", "rare"] if i % 100 == 3 else ["common"] for i in range(n)]
    ids = _many_leads(db, tenant.workspace_id, tags)
    rare = [lead for lead, held in zip(ids, tags, strict=True) if "rare" in held]
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    common_page = (await client.get("/app?tag=common&size=25")).text
    assert ROW_ID.findall(common_page) == ids[:25]
    assert _total(common_page) == n
    rare_page = (await client.get("/app?tag=rare")).text
    assert ROW_ID.findall(rare_page) == rare
    assert _total(rare_page) == len(rare)
    second = (await client.get("/app?tag=common&size=25&page=2")).text
    assert ROW_ID.findall(second) == ids[25:50]
