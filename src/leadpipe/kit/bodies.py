"""The base of every API request body: the same field rules as webhook intake
(``kit/fields``), applied where a person can fix the value, so refused instead of kept."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from leadpipe.kit.fields import MAX_JSON_DEPTH, MAX_TEXT, text_limit, too_deep
from leadpipe.kit.jsonvalues import Unstorable, number_problem, text_problem, unstorable_values

# Positions and offsets: far past any real list, well inside every integer column.
MAX_POSITION = 1_000_000
Position = Annotated[int, Field(ge=-MAX_POSITION, le=MAX_POSITION)]
Offset = Annotated[int, Query(ge=0, le=MAX_POSITION)]


def canonical_form(payload: dict[str, Any]) -> bytes:
    """A parsed body as bytes that do not depend on how it was written: keys sorted at
    every level, no insignificant whitespace. A form's pairs come sorted by key (a
    repeated key's values keep their order: it is the order of the list they become).
    Raises ``orjson.JSONEncodeError`` for a value JSON cannot hold."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def settable(**constraints: Any) -> Any:
    """A field a body may leave out (nothing changes) but may not send as null: for
    settings and values that always have one. Its schema shows no ``null``."""
    return Field(default=None, json_schema_extra=_drop_default, **constraints)


def checked_value(name: str, value: Any) -> Any:
    """``value`` when it can be stored as field ``name``; otherwise why not."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise ValueError(problem)
        limit = text_limit(name)
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
    elif isinstance(value, dict | list):
        if too_deep(value):
            raise ValueError(f"must not nest deeper than {MAX_JSON_DEPTH} levels")
        unstorable = unstorable_values(value)
        if unstorable:
            raise ValueError(_found_at(unstorable))
        longest = max((len(v) for v in _texts(value)), default=0)
        if longest > MAX_TEXT:
            raise ValueError(f"must hold no text longer than {MAX_TEXT} characters")
    elif (problem := number_problem(value)) is not None:
        raise ValueError(problem)
    return value


def _found_at(unstorable: list[Unstorable]) -> str:
    """``must ..., found at a, b[0]``: one clause per kind of problem."""
    paths: dict[str, list[str]] = {}
    for u in unstorable:
        paths.setdefault(u.message, []).append(u.path)
    return "; ".join(f"{message}, found at {', '.join(at)}" for message, at in paths.items())


def _texts(value: Any) -> list[str]:
    stack, found = [value], []
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            found.extend(str(k) for k in node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


class ApiBody(BaseModel):
    """Unknown fields refused, text trimmed, and every value checked by its field's rule
    before any other validation (a value nested too deep is not walked any further)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        return checked_value(info.field_name or "", value)
