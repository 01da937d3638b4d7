"""What an intake rule's condition may name about a delivery: mapped fields,
``custom.<name>`` and ``payload.<path>``."""

from __future__ import annotations

from typing import Any

import pytest

from leadpipe.payloads.intake_rules import DeliveryFacts, rule_that_fires

FIELDS: dict[str, Any] = {
    "state": "TX",
    "product": None,
    "custom_fields": {"roof": "Metal"},
}
PAYLOAD: dict[str, Any] = {
    "form": {"name": "Spring promo"},
    "field_data": [{"name": "budget", "values": ["2500"]}],
    "empty": None,
}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("state", "TX"),
        ("product", None),
        ("custom.roof", "Metal"),
        ("custom.pool", "absent"),
        ("payload.form.name", "Spring promo"),
        ("payload.field_data[name=budget].values[0]", "2500"),
        ("payload.nowhere", "absent"),
        ("nowhere", "absent"),
    ],
)
def test_a_delivery_names_its_facts(name: str, value: Any) -> None:
    assert DeliveryFacts(FIELDS, PAYLOAD).get(name, "absent") == value


def test_the_lower_numbered_intake_rule_fires() -> None:
    def rule(name: str, priority: int) -> dict[str, Any]:
        condition = {"field": "payload.field_data[name=budget].values[0]", "operator": "gt"}
        return {"name": name, "priority": priority, "conditions": [{**condition, "value": 1000}]}

    fired = rule_that_fires([rule("later", 20), rule("sooner", 2)], FIELDS, PAYLOAD)
    assert (fired or {}).get("name") == "sooner"
