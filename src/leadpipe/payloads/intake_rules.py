"""A webhook's intake rules (seed kin §5): what a rule that fires does to the lead a
delivery opens (its stage, tags, assignee, priority, temperature or source), over the
conditions engine (``leadpipe.conditions.rules``), which decides which rule fires: the
first that matches, a lower priority number first.

A condition's ``field`` is a mapped field (``source``, ``product``, ``state``,
``utm_campaign``, ``custom.<name>`` for a custom field) or ``payload.<path>`` for the
payload as sent (``payload.form.name``, ``payload.field_data[name=budget].values[0]``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from leadpipe.conditions.rules import LAST_PRIORITY, first_match, rule_set_problems
from leadpipe.errors import field_error
from leadpipe.payloads.mapping import MISSING, PRIORITIES, TEMPERATURES, get_path
from leadpipe.payloads.rules import Submission

ACTIONS = ("stage", "tags", "assignee", "priority", "temperature", "source")


class DeliveryFacts(Mapping[str, Any]):
    """What a condition may name about one delivery: its mapped fields by name,
    ``custom.<name>`` and ``payload.<path>``, each looked up only when a condition asks."""

    def __init__(self, fields: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
        self._fields, self._payload = fields, payload

    def __getitem__(self, name: str) -> Any:
        if name.startswith("payload."):
            value = get_path(self._payload, name.removeprefix("payload."))
        elif name.startswith("custom."):
            custom = self._fields.get("custom_fields") or {}
            value = custom.get(name.removeprefix("custom."), MISSING)
        else:
            value = self._fields.get(name, MISSING)
        if value is MISSING:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)


def rule_that_fires(
    rules: list[dict[str, Any]], fields: Mapping[str, Any], payload: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The webhook's rule that sets up the new lead, if one matches the delivery."""
    fired = first_match(rules, DeliveryFacts(fields, payload))
    return dict(fired) if fired is not None else None


def rules_problems(
    rules: Any, stages: set[str], members: Mapping[str, str]
) -> list[dict[str, Any]]:
    """What is wrong with a webhook's rules: each problem names its place. ``members``:
    the workspace's users, email to id, whom a rule may assign."""
    return rule_set_problems(
        rules,
        also=lambda where, rule: _actions_problems(where, rule.get("actions"), stages, members),
    )


def _actions_problems(
    where: str, actions: Any, stages: set[str], members: Mapping[str, str]
) -> list[dict[str, Any]]:
    at = f"{where}.actions"
    if not isinstance(actions, dict) or not actions:
        return [field_error(at, f"set at least one of {', '.join(ACTIONS)}")]
    problems = [
        field_error(f"{at}.{name}", f"is not an action; use {', '.join(ACTIONS)}")
        for name in actions
        if name not in ACTIONS
    ]
    checks: dict[str, tuple[Callable[[Any], bool], str]] = {
        "stage": (
            lambda v: v in stages,
            f"must be a stage of the pipeline: {', '.join(sorted(stages))}",
        ),
        "priority": (lambda v: v in PRIORITIES, f"must be one of {', '.join(PRIORITIES)}"),
        "temperature": (lambda v: v in TEMPERATURES, f"must be one of {', '.join(TEMPERATURES)}"),
        "assignee": (lambda v: str(v).lower() in members, "must be the email of a member"),
        "tags": (
            lambda v: isinstance(v, list) and all(isinstance(t, str) and t for t in v),
            "must be a list of tags",
        ),
        "source": (lambda v: isinstance(v, str) and 0 < len(v) <= 255, "must be a text"),
    }
    for name, value in actions.items():
        if name in checks and not checks[name][0](value):
            problems.append(field_error(f"{at}.{name}", checks[name][1]))
    return problems


def with_assignee_ids(
    rules: list[dict[str, Any]], members: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The rules as stored: each assignee's user id beside its email."""
    out = []
    for rule in rules:
        actions = dict(rule.get("actions", {}))
        if "assignee" in actions:
            actions["assigned_user_id"] = members[str(actions["assignee"]).lower()]
        out.append({"priority": LAST_PRIORITY, "enabled": True, **rule, "actions": actions})
    return out


def fields_for_rules(sub: Submission, source: str) -> dict[str, Any]:
    """The mapped fields a condition may name."""
    return {
        **sub.contact,
        **sub.lead,
        "source": source,
        "sub_source": sub.sub_source,
        "product": sub.product,
        "status": sub.status,
        "notes": sub.notes,
        "email": sub.identity.email,
        "phone_number": sub.identity.phone,
        "crm_id": sub.identity.crm_id,
        "custom_fields": sub.custom_fields,
    }


def rule_values(rule: Mapping[str, Any] | None, lead: Mapping[str, Any]) -> dict[str, Any]:
    """The new lead's columns a fired rule sets (its tags join the payload's)."""
    if rule is None:
        return {}
    actions = rule.get("actions", {})
    values: dict[str, Any] = {k: actions[k] for k in ("priority", "temperature") if k in actions}
    if "tags" in actions:
        values["tags"] = list(dict.fromkeys([*(lead.get("tags") or []), *actions["tags"]]))
    if "assigned_user_id" in actions:
        values["assigned_user_id"] = uuid.UUID(str(actions["assigned_user_id"]))
    return values


def opening_stage(
    rule: Mapping[str, Any] | None,
    status_stage: str | None,
    default_status: str | None,
    *,
    new_contact: bool,
) -> str | None:
    """The stage a new lead opens in: the fired rule's, else the one its status names,
    else the webhook's default status (for a new contact only); None: the pipeline's
    first."""
    for slug in (
        (rule or {}).get("actions", {}).get("stage"),
        status_stage,
        default_status if new_contact else None,
    ):
        if slug:
            return str(slug)
    return None
