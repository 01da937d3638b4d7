"""docs/security.md's scope table is what the API enforces.

Every keyed operation of the API schema must have a row, and is called with a key of
each scope: a key without the row's scope (nor ``admin``) gets 403 naming the scope; a
key with it gets past authentication (whatever the empty body and made-up ids then
answer). Ids are made up, so the allowed calls change nothing.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest

from leadpipe.accounts.service import account
from leadpipe.storage.engine import Database
from tests.conftest import Tenant

SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) ([^`]+)`(?: \(WebSocket\))? \| (\w+) \|$")
NOT_IN_SCHEMA = {("GET", "/live")}  # a WebSocket: tested in test_live_events / revocation


def documented_scopes() -> dict[tuple[str, str], str]:
    table = {}
    for line in SECURITY_DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            table[(match[1], match[2])] = match[3]
    return table


def keyed_operations(schema: dict[str, object]) -> set[tuple[str, str]]:
    paths = schema["paths"]
    assert isinstance(paths, dict)
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if operation.get("security")
    }


def concrete(path: str, workspace_id: str) -> str:
    """The path with its parameters filled in: the caller's workspace, made-up ids."""
    path = path.replace("{workspace_id}", workspace_id)
    path = re.sub(r"\{(lead_id|contact_id|delivery_id|task_id)\}", str(uuid.uuid4()), path)
    return re.sub(r"\{[a-z_]+\}", "not-there", path)


async def test_the_table_names_every_keyed_operation(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    documented = set(documented_scopes()) - NOT_IN_SCHEMA
    assert keyed_operations(schema) == documented
    assert set(documented_scopes().values()) == {"read", "write", "admin"}


@pytest.mark.parametrize("key_scope", ["read", "write", "admin"])
async def test_every_operation_needs_its_documented_scope(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, key_scope: str
) -> None:
    with db.transaction() as conn:
        key = account.create_api_key(
            conn, workspace_id=tenant.workspace_id, name=key_scope, scopes=[key_scope]
        ).key
    refused, allowed = [], []
    for (method, path), needed in documented_scopes().items():
        if (method, path) in NOT_IN_SCHEMA:
            continue
        answer = await client.request(
            method,
            concrete(path, tenant.workspace_id),
            headers={"X-API-Key": key},
            json={} if method in ("POST", "PUT", "PATCH") else None,
        )
        # An export allowed answers its file; a refusal is always the JSON envelope.
        json_answer = answer.headers["content-type"].startswith("application/json")
        body = answer.json() if json_answer else answer.text[:200]
        if key_scope in (needed, "admin"):
            assert answer.status_code not in (401, 403), (method, path, body)
            allowed.append(path)
        else:
            assert answer.status_code == 403, (method, path, answer.status_code, body)
            assert body["code"] == "FORBIDDEN"
            assert f"lacks the '{needed}' scope" in body["error"]
            refused.append(path)
    assert allowed
    assert refused or key_scope == "admin"


async def test_a_write_key_can_neither_erase_a_contact_nor_replay(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    with db.transaction() as conn:
        writer = account.create_api_key(
            conn, workspace_id=tenant.workspace_id, name="writer", scopes=["read", "write"]
        ).key
    posted = await client.post(tenant.url, json={"phone": "5551234567", "first_name": "Ana"})
    assert posted.status_code == 200
    contact_id = posted.json()["contact_id"]

    erase = await client.delete(f"/api/v3/contacts/{contact_id}", headers={"X-API-Key": writer})
    assert erase.status_code == 403
    still_there = await client.get(
        f"/api/v3/contacts/{contact_id}", headers={"X-API-Key": tenant.api_key}
    )
    assert still_there.status_code == 200

    erased = await client.delete(
        f"/api/v3/contacts/{contact_id}", headers={"X-API-Key": tenant.api_key}
    )
    assert erased.status_code == 200
