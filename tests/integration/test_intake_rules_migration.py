"""Upgrading flips stored intake rules to the one priority direction (a lower number
first) without changing which rule a delivery fires."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from alembic.script import ScriptDirectory
from sqlalchemy import update

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.storage import migrate
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Webhook
from tests.conftest import make_tenant
from tests.integration.helpers import one
from tests.integration.test_migrations import empty_database  # noqa: F401 (a fixture)


def _tagging(name: str, priority: int | None, *conditions: dict[str, Any]) -> dict[str, Any]:
    rule = {
        "name": name,
        "enabled": True,
        "conditions": list(conditions),
        "actions": {"tags": [name]},
    }
    return rule if priority is None else {**rule, "priority": priority}


TEXAS = {"field": "state", "operator": "equals", "value": "TX"}
SOLAR = {"field": "product", "operator": "contains", "value": "solar"}
# As stored before the upgrade: matched by descending priority, none counting as 0.
OLD_RULES = [
    _tagging("Any Texan", 10, TEXAS),
    _tagging("Everyone", None, {"field": "email", "operator": "exists"}),
    _tagging("Texas solar", 50, TEXAS, SOLAR),
    _tagging("Solar A", 30, SOLAR),
    _tagging("Solar B", 30, SOLAR),
]
# (delivery, the rule that fired before the upgrade)
FIRED_BEFORE = [
    ({"email": "a@example.com", "state": "TX", "product": "Solar"}, "Texas solar"),
    ({"email": "b@example.com", "state": "OH", "product": "Solar"}, "Solar A"),
    ({"email": "c@example.com", "state": "TX", "product": "Roofing"}, "Any Texan"),
    ({"email": "d@example.com", "state": "OH", "product": "Roofing"}, "Everyone"),
]


def _revision_before_the_flip() -> str:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    flip = next(
        r
        for r in script.walk_revisions()
        if Path(r.path).name.endswith("_match_intake_rules_lower_priority_first.py")
    )
    assert isinstance(flip.down_revision, str)
    return flip.down_revision


async def test_a_webhook_fires_the_same_rules_after_the_upgrade(
    empty_database: Settings,  # noqa: F811
) -> None:
    db = Database.from_settings(empty_database)
    try:
        migrate.upgrade(db.engine, _revision_before_the_flip())
        tenant = make_tenant(db)
        with db.transaction() as conn:
            conn.execute(
                update(Webhook)
                .where(Webhook.id == tenant.webhook_id)
                .values(intake_rules=OLD_RULES)
            )
        migrate.upgrade(db.engine)

        transport = httpx.ASGITransport(app=create_app(empty_database, db))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            for payload, fired in FIRED_BEFORE:
                answer = await c.post(tenant.url, json={**payload, "firstname": "Pat"})
                assert answer.is_success, answer.text
                assert answer.json()["rule_applied"] == fired, payload
        rules = one(db, Webhook, id=tenant.webhook_id)["intake_rules"]
        assert [(r["name"], r["priority"]) for r in rules] == [
            ("Any Texan", 90),
            ("Everyone", 100),
            ("Texas solar", 50),
            ("Solar A", 70),
            ("Solar B", 70),
        ]
    finally:
        db.dispose()
