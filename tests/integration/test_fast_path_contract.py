"""The fast execution path (``storage/fastexec.py``) answers every hot read exactly as
plain SQLAlchemy does: the same rows, the same values, the same Python types.

The statements are the ones leadpipe really runs: every read sent through the fast path
while webhook deliveries and API requests are served is recorded, then run again both
ways in one transaction.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, Select

from leadpipe.storage import fastexec
from leadpipe.storage.engine import Database
from tests.conftest import Tenant
from tests.integration.test_lead_api import auth, deliver

Recorded = list[tuple[Any, dict[str, Any]]]


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Recorded:
    """Every statement the fast path is given, with its parameters; each still runs."""
    seen: Recorded = []
    submit = fastexec._submit

    def recording(conn: Connection, stmt: Any, params: dict[str, Any]) -> Any:
        seen.append((stmt, dict(params)))
        return submit(conn, stmt, params)

    monkeypatch.setattr(fastexec, "_submit", recording)
    return seen


async def _serve_a_day(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """Deliveries that create, match and update, then the reads agents make."""
    first = await deliver(
        client,
        tenant,
        phone="5552220001",
        email="ann@example.com",
        product="Solar",
        crm_id="C-1",
        estimated_value="12500.50",
        custom={"roof": "tile"},
    )
    await deliver(client, tenant, crm_id="C-1", product="Solar", lead_status="Qualified")
    await deliver(client, tenant, email="ann@example.com", product="HVAC", notes="Call me")
    await deliver(client, tenant, phone="5552220002", product="Solar", lead_status="New")
    for path in (
        "/api/v3/leads",
        "/api/v3/leads?stage=qualified&source=Test%20webhook",
        "/api/v3/leads?q=(555)%20222-0001",
        "/api/v3/leads?q=Ann",
        f"/api/v3/leads/{first['lead_id']}",
        f"/api/v3/leads/pipeline/{tenant.workspace_id}",
        f"/api/inbound-leads?workspace_id={tenant.workspace_id}",
        "/api/v3/contacts?q=ann@example.com",
    ):
        response = await client.get(path, headers=auth(tenant))
        assert response.status_code == 200, (path, response.text)


async def test_every_hot_read_answers_as_plain_sqlalchemy_does(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, recorded: Recorded
) -> None:
    await _serve_a_day(client, tenant)
    reads = [(stmt, params) for stmt, params in recorded if isinstance(stmt, Select)]
    assert len({str(stmt) for stmt, _ in reads}) >= 6  # the lookups, lists, counts, contexts

    with db.transaction(write=False) as conn:
        for stmt, params in reads:
            fast = fastexec.execute(conn, stmt, params).mappings()
            plain = [dict(row) for row in conn.execute(stmt, params).mappings()]
            assert fast == plain, str(stmt)
            assert [_types(r) for r in fast] == [_types(r) for r in plain], str(stmt)


def _types(row: dict[str, Any]) -> dict[str, type]:
    return {key: type(value) for key, value in row.items()}
