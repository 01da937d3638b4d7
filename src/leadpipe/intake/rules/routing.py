"""A webhook's intake rules (seed kin §5): conditions joined by AND over the mapped fields
or the payload as sent; the first rule that matches, by descending priority, sets the
new lead's stage, tags, assignee, priority, temperature or source.

A condition's ``field`` is a mapped field (``source``, ``product``, ``state``,
``utm_campaign``, ``custom.<name>`` for a custom field) or ``payload.<path>`` for the
payload as sent (``payload.form.name``, ``payload.field_data[name=budget].values[0]``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args

from leadpipe.errors import field_error
from leadpipe.intake.rules.mapping import MISSING, PRIORITIES, TEMPERATURES, get_path
from leadpipe.intake.rules.submission import Submission

Operator = Literal[
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "in",
    "not_in",
    "starts_with",
    "ends_with",
    "exists",
    "not_exists",
]
OPERATORS: tuple[str, ...] = get_args(Operator)
ACTIONS = ("stage", "tags", "assignee", "priority", "temperature", "source")
_LIST_OPERATORS = ("in", "not_in")
_UNARY_OPERATORS = ("exists", "not_exists")
MAX_RULES = 100


def _text(value: Any) -> str:
    return str(value).strip().lower()


def _value_of(field: str, fields: Mapping[str, Any], payload: Mapping[str, Any]) -> Any:
    if field.startswith("payload."):
        return get_path(payload, field.removeprefix("payload."))
    if field.startswith("custom."):
        return fields.get("custom_fields", {}).get(field.removeprefix("custom."), MISSING)
    value = fields.get(field, MISSING)
    return MISSING if value is None else value


def condition_holds(
    condition: Mapping[str, Any], fields: Mapping[str, Any], payload: Mapping[str, Any]
) -> bool:
    operator = condition["operator"]
    value = _value_of(condition["field"], fields, payload)
    present = value is not MISSING and value != ""
    if operator in _UNARY_OPERATORS:
        return present if operator == "exists" else not present
    if not present:
        return operator in ("not_equals", "not_contains", "not_in")
    seen, wanted = _text(value), condition.get("value")
    if operator in _LIST_OPERATORS:
        inside = seen in {_text(v) for v in wanted or []}
        return inside if operator == "in" else not inside
    target = _text(wanted)
    return {
        "equals": seen == target,
        "not_equals": seen != target,
        "contains": target in seen,
        "not_contains": target not in seen,
        "starts_with": seen.startswith(target),
        "ends_with": seen.endswith(target),
    }[operator]


def first_match(
    rules: list[dict[str, Any]], fields: Mapping[str, Any], payload: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The rule that fires: the first, by descending priority, whose every condition
    holds (in the order they were written when priorities tie)."""
    ordered = sorted(enumerate(rules), key=lambda pair: (-int(pair[1].get("priority", 0)), pair[0]))
    for _, rule in ordered:
        if rule.get("enabled", True) and all(
            condition_holds(c, fields, payload) for c in rule.get("conditions", [])
        ):
            return rule
    return None


def rules_problems(
    rules: Any, stages: set[str], members: Mapping[str, str]
) -> list[dict[str, Any]]:
    """What is wrong with a webhook's rules: each problem names its place. ``members``:
    the workspace's users, email to id, whom a rule may assign."""
    if not isinstance(rules, list):
        return [field_error("rules", "must be a list of rules")]
    if len(rules) > MAX_RULES:
        return [field_error("rules", f"at most {MAX_RULES} rules")]
    problems = []
    for n, rule in enumerate(rules):
        where = f"rules[{n}]"
        if not isinstance(rule, dict):
            problems.append(field_error(where, "must be an object"))
            continue
        if not isinstance(rule.get("name"), str) or not rule["name"].strip():
            problems.append(field_error(f"{where}.name", "give the rule a name"))
        priority = rule.get("priority", 0)
        if not isinstance(priority, int) or not 0 <= priority <= 100:
            problems.append(
                field_error(f"{where}.priority", "must be a whole number from 0 to 100")
            )
        problems += _conditions_problems(where, rule.get("conditions"))
        problems += _actions_problems(where, rule.get("actions"), stages, members)
    return problems


def _conditions_problems(where: str, conditions: Any) -> list[dict[str, Any]]:
    if not isinstance(conditions, list) or not conditions:
        return [field_error(f"{where}.conditions", "needs at least one condition")]
    problems = []
    for n, condition in enumerate(conditions):
        at = f"{where}.conditions[{n}]"
        if not isinstance(condition, dict):
            problems.append(field_error(at, "must be an object"))
            continue
        if not isinstance(condition.get("field"), str) or not condition["field"]:
            problems.append(field_error(f"{at}.field", "name a field or payload.<path>"))
        operator = condition.get("operator")
        if operator not in OPERATORS:
            problems.append(field_error(f"{at}.operator", f"must be one of {', '.join(OPERATORS)}"))
        elif operator in _LIST_OPERATORS and not isinstance(condition.get("value"), list):
            problems.append(field_error(f"{at}.value", f"{operator} takes a list of values"))
        elif operator not in _UNARY_OPERATORS + _LIST_OPERATORS and (
            condition.get("value") is None or isinstance(condition.get("value"), list | dict)
        ):
            problems.append(field_error(f"{at}.value", f"{operator} takes one value"))
    return problems


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
        out.append({"priority": 0, "enabled": True, **rule, "actions": actions})
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
