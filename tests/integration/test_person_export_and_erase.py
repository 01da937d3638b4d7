"""A person's data out (export) and erased, through the REST API, on both databases."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import LargeBinary, String, Text, func, select
from sqlalchemy.types import JSON
from typer.testing import CliRunner

from leadpipe.accounts.service import account
from leadpipe.audit.repository import AuditRepository
from leadpipe.cli import app as cli
from leadpipe.config import Settings, get_settings
from leadpipe.intake.repository import INBOUND_LOG
from leadpipe.privacy.service import LOG_PAGE
from leadpipe.storage.base import Base
from leadpipe.storage.engine import Database
from tests.conftest import Tenant, make_tenant

ZELDA = {
    "email": "Zelda.Quibble@Example.com",
    "first_name": "Zelda",
    "last_name": "Quibblestone",
}
# What must be gone after the erasure, as a search would write it.
ZELDA_TRACES = ("zelda.quibble@example.com", "5551234567", "123-4567", "zelda", "quibblestone")
BART = {"email": "bart@oddington.org", "first_name": "Bartholomew", "last_name": "Oddington"}
BART_TRACES = ("bart@oddington.org", "5559876543", "bartholomew", "oddington")


@pytest.fixture
def tenant(db: Database) -> Tenant:
    # A delivery without a ZIP code is refused and kept in the intake log with its body.
    return make_tenant(db, required_fields=["zip_code"])


def _admin(tenant: Tenant) -> dict[str, str]:
    return {"X-API-Key": tenant.api_key}


async def _deliver_twice(
    client: httpx.AsyncClient, tenant: Tenant, who: dict[str, str], phone: str
) -> dict[str, Any]:
    """Refused once (no ZIP code, phone as a person types it), then accepted."""
    refused = await client.post(tenant.url, json={**who, "phone": phone, "product": "Roof"})
    assert refused.status_code == 400, refused.text
    accepted = await client.post(
        tenant.url,
        json={
            **who,
            "email": who["email"].lower(),
            "phone": "".join(c for c in phone if c.isdigit()),
            "zip_code": "33101",
            "product": "Roof",
            "roof_type": f"slate for {who['first_name']}",
            # Kept as sent with a warning that quotes it, in the log and the kept answer.
            "priority": f"{who['first_name']}-urgent",
        },
    )
    assert accepted.status_code in (200, 201), accepted.text
    return dict(accepted.json())


def _traces(db: Database, values: tuple[str, ...]) -> dict[str, int]:
    """Per value, how many (table, column) cells of the whole database hold it, ignoring
    case: every text, JSON and binary column of every table."""
    found = dict.fromkeys(values, 0)
    with db.transaction(write=False) as conn:
        postgres = conn.dialect.name == "postgresql"
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, LargeBinary):
                    as_text: Any = (
                        func.encode(column, "escape") if postgres else func.cast(column, Text)
                    )
                elif isinstance(column.type, String | Text | JSON) or "JSON" in repr(column.type):
                    as_text = func.cast(column, Text)
                else:
                    continue
                for value in values:
                    hits = conn.execute(
                        select(func.count())
                        .select_from(table)
                        .where(func.lower(as_text).contains(value, autoescape=True))
                    ).scalar_one()
                    found[value] += int(hits)
    return found


def _log_bodies(db: Database) -> dict[uuid.UUID, bytes | None]:
    with db.transaction(write=False) as conn:
        rows = conn.execute(select(INBOUND_LOG.c.id, INBOUND_LOG.c.raw_body))
        return {r.id: r.raw_body for r in rows}


async def test_a_person_is_exported_whole_then_erased_without_a_trace(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    zelda = await _deliver_twice(client, tenant, ZELDA, "(555) 123-4567")
    bart = await _deliver_twice(client, tenant, BART, "555-987-6543")
    note = await client.post(
        f"/api/v3/leads/{zelda['lead_id']}/activities",
        json={"activity_type": "note", "title": "Called", "description": "Zelda asked for slate"},
        headers=_admin(tenant),
    )
    assert note.status_code == 201, note.text
    moved = await client.put(
        f"/api/v3/leads/{zelda['lead_id']}", json={"stage": "qualified"}, headers=_admin(tenant)
    )
    assert moved.status_code == 200, moved.text
    contact_id = zelda["contact_id"]

    exported = await client.get(f"/api/v3/contacts/{contact_id}/export", headers=_admin(tenant))
    assert exported.status_code == 200, exported.text
    data = exported.json()["data"]
    assert data["exported_at"]
    assert data["contact"]["email"] == "zelda.quibble@example.com"
    assert data["contact"]["phone_number"] == "+15551234567"
    assert data["contact"]["custom_fields"]["roof_type"] == "slate for Zelda"
    [lead] = data["leads"]
    assert lead["id"] == zelda["lead_id"]
    assert "consent_proof" in lead
    assert "raw_payload" in lead
    assert "Zelda asked for slate" in [a["description"] for a in lead["activities"]]
    assert "qualified" in str(lead["stage_history"]), lead["stage_history"]
    by_status = {e["status"]: e for e in data["intake_log"]}
    assert sorted(by_status) == ["error", "success"], data["intake_log"]
    assert by_status["success"]["contact_id"] == contact_id
    # The refused delivery names no contact: found by the email in its body.
    assert by_status["error"]["contact_id"] is None
    assert "Zelda.Quibble@Example.com" in by_status["error"]["body"]
    assert "bart" not in exported.text.lower()

    assert all(_traces(db, ZELDA_TRACES).values()), "the scan finds the person before"
    bart_before = _traces(db, BART_TRACES)
    bodies_before = _log_bodies(db)

    erased = await client.delete(
        f"/api/v3/contacts/{contact_id}", params={"erase": "true"}, headers=_admin(tenant)
    )
    assert erased.status_code == 200, erased.text
    result = erased.json()["data"]
    assert (result["deleted"], result["leads_deleted"], result["erased"]) == (contact_id, 1, True)
    assert result["counts"]["log_entries_redacted"] >= 1
    assert result["counts"]["activities_deleted"] >= 2  # lead_created and the note

    assert _traces(db, ZELDA_TRACES) == dict.fromkeys(ZELDA_TRACES, 0)
    assert _traces(db, BART_TRACES) == bart_before
    bodies_after = _log_bodies(db)
    changed = [i for i in bodies_before if bodies_before[i] != bodies_after[i]]
    assert changed == [uuid.UUID(by_status["error"]["id"])]  # Bart's are as they were
    assert b"[erased]" in (bodies_after[changed[0]] or b"")
    assert (
        await client.get(f"/api/v3/contacts/{bart['contact_id']}", headers=_admin(tenant))
    ).status_code == 200
    assert (
        await client.get(f"/api/v3/contacts/{contact_id}", headers=_admin(tenant))
    ).status_code == 404

    with db.transaction(write=False) as conn:
        [entry] = AuditRepository(conn).for_subject(tenant.workspace_id, contact_id)
    assert entry["action"] == "contact.erased"
    assert entry["actor"].startswith("api_key:")
    assert entry["counts"] == result["counts"]
    assert entry["at"] is not None


async def test_the_refused_body_stays_json_after_erasure(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    zelda = await _deliver_twice(client, tenant, ZELDA, "(555) 123-4567")
    await client.delete(
        f"/api/v3/contacts/{zelda['contact_id']}?erase=true", headers=_admin(tenant)
    )
    refused = await client.get(
        f"/api/v3/webhooks/{tenant.webhook_id}/deliveries",
        params={"status": "error"},
        headers=_admin(tenant),
    )
    assert refused.status_code == 200, refused.text
    [delivery] = refused.json()["data"]
    one = await client.get(
        f"/api/v3/webhooks/{tenant.webhook_id}/deliveries/{delivery['id']}",
        headers=_admin(tenant),
    )
    assert one.status_code == 200, one.text
    shown = one.json()["data"]
    assert "[erased]" in str(shown), shown
    assert "zelda" not in str(shown).lower()


async def test_without_erase_a_delete_leaves_the_intake_log_and_no_audit_entry(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    zelda = await _deliver_twice(client, tenant, ZELDA, "(555) 123-4567")
    deleted = await client.delete(f"/api/v3/contacts/{zelda['contact_id']}", headers=_admin(tenant))
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["data"] == {"deleted": zelda["contact_id"], "leads_deleted": 1}
    assert _traces(db, ("zelda.quibble@example.com",))["zelda.quibble@example.com"] >= 1
    with db.transaction(write=False) as conn:
        assert AuditRepository(conn).for_subject(tenant.workspace_id, zelda["contact_id"]) == []


async def test_a_write_key_may_neither_export_nor_erase_and_an_unknown_id_is_404(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    zelda = await _deliver_twice(client, tenant, ZELDA, "(555) 123-4567")
    with db.transaction() as conn:
        writer = account.create_api_key(
            conn, workspace_id=tenant.workspace_id, name="writer", scopes=["read", "write"]
        ).key
    url = f"/api/v3/contacts/{zelda['contact_id']}"
    for response in (
        await client.get(f"{url}/export", headers={"X-API-Key": writer}),
        await client.delete(f"{url}?erase=true", headers={"X-API-Key": writer}),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "FORBIDDEN"
    unknown = f"/api/v3/contacts/{uuid.uuid4()}"
    for response in (
        await client.get(f"{unknown}/export", headers=_admin(tenant)),
        await client.delete(f"{unknown}?erase=true", headers=_admin(tenant)),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "NOT_FOUND"
    assert (await client.get(url, headers=_admin(tenant))).status_code == 200


async def test_another_workspace_cannot_export_or_erase_the_person(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    zelda = await _deliver_twice(client, tenant, ZELDA, "(555) 123-4567")
    other = make_tenant(db, workspace_id="40001")
    url = f"/api/v3/contacts/{zelda['contact_id']}"
    assert (await client.get(f"{url}/export", headers=_admin(other))).status_code == 404
    assert (await client.delete(f"{url}?erase=true", headers=_admin(other))).status_code == 404
    assert (await client.get(url, headers=_admin(tenant))).status_code == 200


async def test_the_cli_erases_a_person_as_the_api_does(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    zelda = await _deliver_twice(client, tenant, ZELDA, "(555) 123-4567")
    monkeypatch.setenv("LEADPIPE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli, ["contact", "erase", tenant.workspace_id, zelda["contact_id"]]
        )
        again = CliRunner().invoke(
            cli, ["contact", "erase", tenant.workspace_id, zelda["contact_id"]]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 leads deleted" in result.output
    assert _traces(db, ZELDA_TRACES) == dict.fromkeys(ZELDA_TRACES, 0)
    with db.transaction(write=False) as conn:
        [entry] = AuditRepository(conn).for_subject(tenant.workspace_id, zelda["contact_id"])
    assert entry["actor"] == "cli"
    assert again.exit_code == 1
    assert "not found" in again.output


async def test_the_log_is_read_page_by_page_to_its_end(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    for n in range(LOG_PAGE + 1):  # others' refusals fill the first page and more
        refused = await client.post(tenant.url, json={"email": f"other{n}@example.org"})
        assert refused.status_code == 400, refused.text
    zelda = await _deliver_twice(client, tenant, ZELDA, "(555) 123-4567")
    url = f"/api/v3/contacts/{zelda['contact_id']}"
    exported = (await client.get(f"{url}/export", headers=_admin(tenant))).json()["data"]
    assert len(exported["intake_log"]) == 2
    erased = await client.delete(f"{url}?erase=true", headers=_admin(tenant))
    assert erased.json()["data"]["counts"]["log_entries_redacted"] == 2
    assert _traces(db, ZELDA_TRACES) == dict.fromkeys(ZELDA_TRACES, 0)
    assert _traces(db, ("other16@example.org",)) == {"other16@example.org": 1}
