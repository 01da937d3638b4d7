"""Conditions on facts, and the rule sets that match them: one engine for intake rules,
assignment, the routing of appointments and scoring (DESIGN §3).

A rule is a mapping with ``conditions`` (joined by AND), an optional ``priority`` (a whole
number from 0 to 100; none is the last, 100), ``enabled`` (true unless false) and
whatever its domain acts on (intake's ``actions``, ...), left alone here. A condition is
``{"field": ..., "operator": ..., "value": ...}``; its field names a fact, and what a name
means (a mapped field, ``payload.<path>``) is up to the domain that builds the facts.

Text operators compare case- and space-insensitively. A fact that is missing, null or
blank is absent: only ``not_equals``, ``not_contains``, ``not_in`` and ``not_exists``
hold for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from leadpipe.errors import field_error

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
    "gt",
    "gte",
    "lt",
    "lte",
    "zip_in",
    "zip3_in",
]
OPERATORS: tuple[str, ...] = get_args(Operator)

FIRST_PRIORITY = 0
LAST_PRIORITY = 100
LOWER_FIRST = True
"""The one priority direction (DESIGN §2.6): a lower number is matched first (1 before
2), rules of the same priority in the order they were written, and a rule without a
priority last (``LAST_PRIORITY``)."""

MAX_RULES = 100

_UNARY = ("exists", "not_exists")
_TEXT_LISTS = ("in", "not_in")
_ZIP_LISTS = {"zip_in": re.compile(r"\d{5}"), "zip3_in": re.compile(r"\d{3}")}
_NUMBERS = ("gt", "gte", "lt", "lte")
_HOLD_WHEN_ABSENT = ("not_equals", "not_contains", "not_in", "not_exists")
_ZIP = re.compile(r"(\d{5})(?:-?\d{4})?")
_ABSENT = object()

Facts = Mapping[str, Any]
Rule = Mapping[str, Any]


def _text(value: Any) -> str:
    return str(value).strip().lower()


def _number(value: Any) -> Decimal | None:
    """A fact read as a number (``"42"``, ``42.5``), or None when it is not one."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _zip5(value: Any) -> str | None:
    """A US ZIP code's five digits (``75001``, ``75001-1234``), or None."""
    found = _ZIP.fullmatch(str(value).strip())
    return found.group(1) if found else None


def _fact(facts: Facts, field: str) -> Any:
    value = facts.get(field, _ABSENT)
    return _ABSENT if value is None or (isinstance(value, str) and not value.strip()) else value


def condition_holds(condition: Mapping[str, Any], facts: Facts) -> bool:
    """Whether one (valid) condition holds for the facts."""
    operator: str = condition["operator"]
    wanted: Any = condition.get("value")
    value = _fact(facts, condition["field"])
    if value is _ABSENT:
        return operator in _HOLD_WHEN_ABSENT
    if operator in _UNARY:
        return operator == "exists"
    if operator in _NUMBERS:
        return _compare_numbers(operator, _number(value), Decimal(str(wanted)))
    if operator in _ZIP_LISTS:
        zip5 = _zip5(value)
        prefix = zip5 if operator == "zip_in" else (zip5 or "")[:3]
        return zip5 is not None and prefix in {str(z) for z in wanted or []}
    seen = _text(value)
    if operator in _TEXT_LISTS:
        return (seen in {_text(v) for v in wanted or []}) == (operator == "in")
    target = _text(wanted)
    return {
        "equals": seen == target,
        "not_equals": seen != target,
        "contains": target in seen,
        "not_contains": target not in seen,
        "starts_with": seen.startswith(target),
        "ends_with": seen.endswith(target),
    }[operator]


def _compare_numbers(operator: str, seen: Decimal | None, wanted: Decimal) -> bool:
    if seen is None:
        return False
    return {
        "gt": seen > wanted,
        "gte": seen >= wanted,
        "lt": seen < wanted,
        "lte": seen <= wanted,
    }[operator]


def rule_matches(rule: Rule, facts: Facts) -> bool:
    """An enabled rule whose every condition holds."""
    return rule.get("enabled", True) is not False and all(
        condition_holds(c, facts) for c in rule.get("conditions", [])
    )


def in_match_order(rules: Sequence[Rule]) -> list[Rule]:
    """The rules in the order they are tried: ``LOWER_FIRST``, ties as written."""
    sign = 1 if LOWER_FIRST else -1

    def key(pair: tuple[int, Rule]) -> tuple[int, int]:
        return sign * int(pair[1].get("priority", LAST_PRIORITY)), pair[0]

    return [rule for _, rule in sorted(enumerate(rules), key=key)]


def first_match(rules: Sequence[Rule], facts: Facts) -> Rule | None:
    """The rule that fires for the facts: the first matching one in match order."""
    return next((r for r in in_match_order(rules) if rule_matches(r, facts)), None)


def all_matches(rules: Sequence[Rule], facts: Facts) -> list[Rule]:
    """Every rule that matches the facts, in match order (a rule set that says
    all-matches)."""
    return [r for r in in_match_order(rules) if rule_matches(r, facts)]


def rule_set_problems(
    rules: Any,
    *,
    where: str = "rules",
    max_rules: int = MAX_RULES,
    also: Callable[[str, Mapping[str, Any]], list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """What is wrong with a rule set, each problem named by its place
    (``rules[0].conditions[1].value``); ``also`` adds a domain's checks of one rule (its
    actions)."""
    if not isinstance(rules, list):
        return [field_error(where, "must be a list of rules")]
    if len(rules) > max_rules:
        return [field_error(where, f"at most {max_rules} rules")]
    return _each_object(
        where, rules, lambda at, rule: rule_problems(at, rule) + (also(at, rule) if also else [])
    )


def _each_object(
    where: str,
    items: list[Any],
    check: Callable[[str, dict[str, Any]], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """``check``'s problems with each item of a list, each named by its place, and an item
    that is not an object named as one."""
    problems = []
    for n, item in enumerate(items):
        at = f"{where}[{n}]"
        problems += (
            check(at, item) if isinstance(item, dict) else [field_error(at, "must be an object")]
        )
    return problems


def rule_problems(where: str, rule: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What is wrong with one rule's name, priority, switch and conditions."""
    problems = []
    if not isinstance(rule.get("name"), str) or not rule["name"].strip():
        problems.append(field_error(f"{where}.name", "give the rule a name"))
    priority = rule.get("priority", LAST_PRIORITY)
    if not _whole(priority) or not FIRST_PRIORITY <= priority <= LAST_PRIORITY:
        problems.append(
            field_error(
                f"{where}.priority",
                f"must be a whole number from {FIRST_PRIORITY} to {LAST_PRIORITY}"
                " (a lower number is matched first)",
            )
        )
    if not isinstance(rule.get("enabled", True), bool):
        problems.append(field_error(f"{where}.enabled", "must be true or false"))
    return problems + conditions_problems(f"{where}.conditions", rule.get("conditions"))


def conditions_problems(where: str, conditions: Any) -> list[dict[str, Any]]:
    """What is wrong with a list of conditions joined by AND."""
    if not isinstance(conditions, list) or not conditions:
        return [field_error(where, "needs at least one condition")]
    return _each_object(where, conditions, _condition_problems)


def _condition_problems(at: str, condition: dict[str, Any]) -> list[dict[str, Any]]:
    problems = []
    if not isinstance(condition.get("field"), str) or not condition["field"]:
        problems.append(field_error(f"{at}.field", "name a field"))
    problem = _value_problem(condition.get("operator"), condition.get("value"))
    if problem:
        problems.append(field_error(f"{at}.{problem[0]}", problem[1]))
    return problems


def _value_problem(operator: Any, value: Any) -> tuple[str, str] | None:
    """(``operator`` or ``value``, what is wrong) for one condition, or None."""
    if operator not in OPERATORS:
        return "operator", f"must be one of {', '.join(OPERATORS)}"
    if operator in _UNARY:
        return None
    if operator in _TEXT_LISTS:
        return None if isinstance(value, list) else ("value", f"{operator} takes a list of values")
    if operator in _ZIP_LISTS:
        digits = 5 if operator == "zip_in" else 3
        pattern = _ZIP_LISTS[operator]
        fine = isinstance(value, list) and all(
            isinstance(z, str) and pattern.fullmatch(z) for z in value
        )
        return None if fine else ("value", f"{operator} takes a list of {digits}-digit texts")
    if operator in _NUMBERS:
        fine = _number(value) is not None and not isinstance(value, str)
        return None if fine else ("value", f"{operator} takes a number")
    if value is None or isinstance(value, list | dict):
        return "value", f"{operator} takes one value"
    return None


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
