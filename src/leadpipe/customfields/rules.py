"""Custom field definitions: types, vertical templates, and checking values against them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlparse

from leadpipe.contacts.rules import InvalidIdentity, normalize_email, normalize_phone
from leadpipe.kit.coerce import to_bool, to_decimal

FIELD_TYPES = (
    "text",
    "number",
    "date",
    "boolean",
    "select",
    "multiselect",
    "url",
    "email",
    "phone",
)
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True, slots=True)
class FieldDefinition:
    key: str
    label: str
    field_type: str
    options: tuple[str, ...] = ()
    required: bool = False


@dataclass(frozen=True, slots=True)
class Checked:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)


def definition_errors(field_type: str, options: Sequence[str]) -> list[str]:
    """What is wrong with a definition's type and options."""
    if field_type not in FIELD_TYPES:
        return [f"field_type must be one of {', '.join(FIELD_TYPES)}"]
    if field_type in ("select", "multiselect") and not options:
        return ["a select needs at least one option"]
    if len(set(options)) != len(options):
        return ["options must be unique"]
    return []


def _one(definition: FieldDefinition, value: Any, region: str) -> Any:
    """The stored form of one value; raises ValueError with a message a user understands."""
    t = definition.field_type
    if t == "text":
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError("must be text")
        return str(value)
    if t == "number":
        number = to_decimal(value)
        if number is None:
            raise ValueError("must be a number")
        return int(number) if number == number.to_integral_value() else float(number)
    if t == "boolean":
        flag = to_bool(value)
        if flag is None:
            raise ValueError("must be true or false")
        return flag
    if t == "date":
        try:
            return date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if t == "select":
        if value not in definition.options:
            raise ValueError(f"must be one of {', '.join(definition.options)}")
        return value
    if t == "multiselect":
        items = value if isinstance(value, list) else [value]
        unknown = [v for v in items if v not in definition.options]
        if unknown:
            raise ValueError(f"{unknown} not among {', '.join(definition.options)}")
        return list(dict.fromkeys(items))
    if t == "url":
        parsed = urlparse(str(value))
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http(s) URL")
        return str(value)
    if t == "email":
        try:
            return normalize_email(str(value))
        except InvalidIdentity as exc:
            raise ValueError(f"must be an email address: {exc}") from None
    if t == "phone":
        try:
            return normalize_phone(str(value), region)
        except InvalidIdentity as exc:
            raise ValueError(f"must be a phone number: {exc}") from None
    raise ValueError(f"unknown field type {t}")


def check_values(
    values: Mapping[str, Any],
    definitions: Sequence[FieldDefinition],
    *,
    region: str = "US",
    require_all: bool = False,
) -> Checked:
    """Values checked and normalised against their definitions; keys nobody defined pass
    through as given. ``require_all`` (on create) also reports missing required fields."""
    by_key = {d.key: d for d in definitions}
    out: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for key, value in values.items():
        definition = by_key.get(key)
        if definition is None or value is None:
            out[key] = value
            continue
        try:
            out[key] = _one(definition, value, region)
        except ValueError as exc:
            errors.append({"field": f"custom_fields.{key}", "message": str(exc)})
    if require_all:
        for d in definitions:
            if d.required and values.get(d.key) in (None, "", []):
                errors.append({"field": f"custom_fields.{d.key}", "message": "is required"})
    return Checked(out, errors)


def _select(key: str, label: str, *options: str) -> FieldDefinition:
    return FieldDefinition(key, label, "select", options)


# Seed 002's verticals: the fields its solar, HVAC and insurance lead schemas carry.
TEMPLATES: dict[str, tuple[FieldDefinition, ...]] = {
    "solar": (
        FieldDefinition("monthly_electric_bill", "Monthly electric bill", "number"),
        _select("roof_condition", "Roof condition", "excellent", "good", "fair", "poor"),
        FieldDefinition("roof_age", "Roof age (years)", "number"),
        _select("roof_type", "Roof type", "shingle", "tile", "metal", "flat"),
        _select("shade_coverage", "Shade coverage", "none", "partial", "heavy"),
        _select(
            "property_type", "Property type", "single_family", "townhouse", "condo", "commercial"
        ),
    ),
    "hvac": (
        _select(
            "system_type",
            "System type",
            "central_air",
            "heat_pump",
            "furnace",
            "boiler",
            "ductless_mini_split",
        ),
        FieldDefinition("system_age", "System age (years)", "number"),
        _select(
            "service_type", "Service needed", "repair", "replacement", "installation", "maintenance"
        ),
        _select("urgency", "Urgency", "emergency", "this_week", "this_month", "planning"),
        FieldDefinition("property_size", "Property size (sq ft)", "number"),
    ),
    "insurance": (
        _select("policy_type", "Policy type", "home", "auto", "life", "umbrella", "renters"),
        FieldDefinition("coverage_amount", "Coverage amount", "number"),
        FieldDefinition("current_premium", "Current premium", "number"),
        FieldDefinition("property_value", "Property value", "number"),
        _select("claims_history", "Claims in the last 5 years", "none", "one", "multiple"),
        FieldDefinition("current_carrier", "Current carrier", "text"),
    ),
}
