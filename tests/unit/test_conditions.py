"""The conditions engine: each operator on present, absent and odd facts; the one
priority direction; first and all matches; a rule set's problems named by place."""

from __future__ import annotations

from typing import Any

import pytest

from leadpipe.conditions.rules import (
    LAST_PRIORITY,
    LOWER_FIRST,
    OPERATORS,
    all_matches,
    condition_holds,
    first_match,
    in_match_order,
    rule_set_problems,
)

FACTS: dict[str, Any] = {
    "state": " TX ",
    "product": "Solar Panels",
    "budget": "2500",
    "bill": 180.5,
    "zip_code": "75001-1234",
    "short_zip": "7500",
    "blank": "  ",
    "nothing": None,
    "flag": True,
}

# (field, operator, value, holds)
CONDITIONS = [
    ("state", "equals", "tx", True),
    ("state", "equals", "OK", False),
    ("state", "not_equals", "OK", True),
    ("state", "not_equals", "tx", False),
    ("product", "contains", "panel", True),
    ("product", "not_contains", "panel", False),
    ("product", "starts_with", "solar", True),
    ("product", "ends_with", "PANELS", True),
    ("product", "ends_with", "solar", False),
    ("state", "in", ["CA", "tx"], True),
    ("state", "in", ["CA"], False),
    ("state", "in", [], False),
    ("state", "not_in", ["CA"], True),
    ("state", "not_in", ["TX"], False),
    ("state", "exists", None, True),
    ("state", "not_exists", None, False),
    ("budget", "gt", 2000, True),
    ("budget", "gt", 2500, False),
    ("budget", "gte", 2500, True),
    ("bill", "lt", 200, True),
    ("bill", "lte", 180.5, True),
    ("bill", "lt", 180.5, False),
    ("product", "gt", 0, False),  # not a number: no comparison holds
    ("flag", "gt", 0, False),  # a true/false is not a number
    ("zip_code", "zip_in", ["75001", "10001"], True),
    ("zip_code", "zip_in", ["75002"], False),
    ("zip_code", "zip3_in", ["750"], True),
    ("zip_code", "zip3_in", ["751"], False),
    ("short_zip", "zip3_in", ["750"], False),  # not a ZIP code
]

# Missing, null and blank facts are absent: only the negative operators hold.
ABSENT_HOLDS = {"not_equals", "not_contains", "not_in", "not_exists"}
VALUES = {
    "in": ["x"],
    "not_in": ["x"],
    "zip_in": ["75001"],
    "zip3_in": ["750"],
    "gt": 1,
    "gte": 1,
    "lt": 1,
    "lte": 1,
    "exists": None,
    "not_exists": None,
}


@pytest.mark.parametrize(("field", "operator", "value", "holds"), CONDITIONS)
def test_condition(field: str, operator: str, value: Any, holds: bool) -> None:
    condition = {"field": field, "operator": operator, "value": value}
    assert condition_holds(condition, FACTS) is holds


@pytest.mark.parametrize("field", ["missing", "nothing", "blank"])
@pytest.mark.parametrize("operator", OPERATORS)
def test_an_absent_fact_holds_only_for_negative_operators(field: str, operator: str) -> None:
    condition = {"field": field, "operator": operator, "value": VALUES.get(operator, "x")}
    assert condition_holds(condition, FACTS) is (operator in ABSENT_HOLDS)


def rule(name: str, priority: int | None = None, **condition: Any) -> dict[str, Any]:
    written: dict[str, Any] = {
        "name": name,
        "conditions": [{"field": "state", "operator": "equals", "value": "TX", **condition}],
    }
    return written if priority is None else {**written, "priority": priority}


RULE_SETS = [
    # (rules, name of the rule that fires, names of all that match)
    ([rule("ten", 10), rule("one", 1), rule("two", 2)], "one", ["one", "two", "ten"]),
    ([rule("b", 5), rule("a", 5)], "b", ["b", "a"]),  # ties: as written
    ([rule("unset"), rule("last", 100), rule("first", 0)], "first", ["first", "unset", "last"]),
    ([rule("ok", 9, value="OK"), rule("tx", 10)], "tx", ["tx"]),
    ([{**rule("off", 1), "enabled": False}, rule("on", 2)], "on", ["on"]),
    ([rule("ok", 1, value="OK")], None, []),
    ([], None, []),
]


@pytest.mark.parametrize(("rules", "fires", "matching"), RULE_SETS)
def test_a_lower_priority_number_is_matched_first(
    rules: list[dict[str, Any]], fires: str | None, matching: list[str]
) -> None:
    facts = {"state": "tx"}
    assert LOWER_FIRST
    fired = first_match(rules, facts)
    assert (fired or {}).get("name") == fires
    assert [r["name"] for r in all_matches(rules, facts)] == matching


def test_a_rule_without_priority_is_tried_last() -> None:
    rules = [rule("unset"), rule("hundred", LAST_PRIORITY), rule("fifty", 50)]
    assert [r["name"] for r in in_match_order(rules)] == ["fifty", "unset", "hundred"]


def test_a_condition_names_its_facts_by_any_key() -> None:
    facts = {"payload.form.name": "Spring promo"}
    condition = {"field": "payload.form.name", "operator": "starts_with", "value": "spring"}
    assert condition_holds(condition, facts)


VALID = {"name": "r", "priority": 1, "conditions": [{"field": "state", "operator": "exists"}]}
VALUE = {"rules[0].conditions[0].value"}


def one_condition(operator: str, value: Any = None, **more: Any) -> list[dict[str, Any]]:
    return [{**VALID, "conditions": [{"field": "a", "operator": operator, "value": value, **more}]}]


# (rule set, fields named by its problems)
PROBLEMS: list[tuple[Any, set[str]]] = [
    ([VALID, {"name": "no priority", "conditions": VALID["conditions"]}], set()),
    ([{**VALID, "priority": None}], {"rules[0].priority"}),
    ("nope", {"rules"}),
    ([VALID] * 101, {"rules"}),
    (["nope"], {"rules[0]"}),
    ([{**VALID, "name": " "}], {"rules[0].name"}),
    ([{**VALID, "priority": 101}], {"rules[0].priority"}),
    ([{**VALID, "priority": -1}], {"rules[0].priority"}),
    ([{**VALID, "priority": 1.5}], {"rules[0].priority"}),
    ([{**VALID, "priority": True}], {"rules[0].priority"}),
    ([{**VALID, "enabled": "yes"}], {"rules[0].enabled"}),
    ([{**VALID, "conditions": []}], {"rules[0].conditions"}),
    ([{**VALID, "conditions": ["x"]}], {"rules[0].conditions[0]"}),
    ([{**VALID, "conditions": [{"operator": "exists"}]}], {"rules[0].conditions[0].field"}),
    (one_condition("like"), {"rules[0].conditions[0].operator"}),
    (one_condition("in", "TX"), VALUE),
    (one_condition("equals", ["TX"]), VALUE),
    (one_condition("equals"), VALUE),
    (one_condition("gt", "10"), VALUE),
    (one_condition("gt", False), VALUE),
    (one_condition("gt", float("nan")), VALUE),
    (one_condition("gte", 10.5), set()),
    (one_condition("zip_in", ["7500"]), VALUE),
    (one_condition("zip_in", [75001]), VALUE),
    (one_condition("zip_in", ["75001"]), set()),
    (one_condition("zip3_in", ["750"]), set()),
    (one_condition("zip3_in", "750"), VALUE),
]


@pytest.mark.parametrize(("rules", "fields"), PROBLEMS)
def test_a_rule_sets_problems_name_their_place(rules: Any, fields: set[str]) -> None:
    assert {p["field"] for p in rule_set_problems(rules)} == fields


def test_a_domain_adds_its_own_checks_of_each_rule() -> None:
    def needs_actions(where: str, rule: Any) -> list[dict[str, Any]]:
        return [] if rule.get("actions") else [{"field": f"{where}.actions", "message": "x"}]

    problems = rule_set_problems([VALID], where="routes", also=needs_actions)
    assert [p["field"] for p in problems] == ["routes[0].actions"]
