"""Checking custom field values against their definitions."""

from __future__ import annotations

from typing import Any

import pytest

from leadpipe.customfields.rules import (
    TEMPLATES,
    FieldDefinition,
    check_values,
    definition_errors,
)

DEFS = [
    FieldDefinition("bill", "Bill", "number"),
    FieldDefinition("roof", "Roof", "select", ("shingle", "tile")),
    FieldDefinition("extras", "Extras", "multiselect", ("battery", "ev")),
    FieldDefinition("visit", "Visit", "date"),
    FieldDefinition("hoa", "HOA", "boolean"),
    FieldDefinition("site", "Site", "url"),
    FieldDefinition("owner_email", "Owner email", "email"),
    FieldDefinition("owner_phone", "Owner phone", "phone"),
    FieldDefinition("note", "Note", "text", required=True),
]


@pytest.mark.parametrize(
    ("key", "given", "stored"),
    [
        ("bill", "$300", 300),
        ("bill", 12.5, 12.5),
        ("roof", "tile", "tile"),
        ("extras", ["ev", "battery", "ev"], ["ev", "battery"]),
        ("extras", "ev", ["ev"]),
        ("visit", "2025-10-20", "2025-10-20"),
        ("visit", "2025-10-20T10:00:00Z", "2025-10-20"),
        ("hoa", "yes", True),
        ("site", "https://example.com/a", "https://example.com/a"),
        ("owner_email", "A@Example.com", "a@example.com"),
        ("owner_phone", "(555) 123-4567", "+15551234567"),
        ("undefined_key", {"any": 1}, {"any": 1}),
    ],
)
def test_values_are_normalised(key: str, given: Any, stored: Any) -> None:
    checked = check_values({key: given}, DEFS)
    assert checked.errors == []
    assert checked.values == {key: stored}


@pytest.mark.parametrize(
    ("key", "given"),
    [
        ("bill", "lots"),
        ("roof", "thatch"),
        ("extras", ["pool"]),
        ("visit", "next week"),
        ("hoa", "maybe"),
        ("site", "example.com"),
        ("owner_email", "nope"),
        ("owner_phone", "12"),
        ("note", {"a": 1}),
    ],
)
def test_bad_values_are_named(key: str, given: Any) -> None:
    checked = check_values({key: given}, DEFS)
    assert [e["field"] for e in checked.errors] == [f"custom_fields.{key}"]


def test_required_fields_only_on_create() -> None:
    assert check_values({}, DEFS).errors == []
    assert check_values({}, DEFS, require_all=True).errors == [
        {"field": "custom_fields.note", "message": "is required"}
    ]


@pytest.mark.parametrize(
    ("field_type", "options", "ok"),
    [
        ("text", [], True),
        ("select", ["a"], True),
        ("select", [], False),
        ("multiselect", ["a", "a"], False),
        ("colour", [], False),
    ],
)
def test_definitions(field_type: str, options: list[str], ok: bool) -> None:
    assert (definition_errors(field_type, options) == []) is ok


def test_templates_cover_the_verticals() -> None:
    assert set(TEMPLATES) == {"solar", "hvac", "insurance"}
    for fields in TEMPLATES.values():
        for f in fields:
            assert definition_errors(f.field_type, f.options) == []
