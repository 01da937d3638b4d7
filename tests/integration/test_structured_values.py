"""A list or an object where a built-in field wants text is kept as sent, never dropped
(DESIGN 2.12); as the only identity, it refuses the delivery."""

from __future__ import annotations

import httpx

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact
from tests.conftest import Tenant
from tests.integration.helpers import count, one


async def test_structured_values_are_kept_as_sent_with_a_warning(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    answer = await client.post(
        tenant.url,
        json={"email": "a@example.com", "city": {"x": 1}, "phone": ["5125550147"]},
    )
    assert answer.status_code == 200, answer.text
    warned = {w["field"] for w in answer.json()["warnings"]}
    assert {"city", "phone_number"} <= warned
    kept = one(db, Contact)["custom_fields"]
    assert (kept["city"], kept["phone"]) == ({"x": 1}, ["5125550147"])


async def test_a_structured_value_is_no_identity(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    answer = await client.post(tenant.url, json={"phone": {"number": "5125550147"}})
    assert answer.status_code == 400, answer.text
    assert answer.json()["details"][0]["field"] == "phone_number"
    assert count(db, Contact) == 0
