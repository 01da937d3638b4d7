"""What every endpoint declares to OpenAPI: the envelopes it answers with, and its errors
as they are sent (DESIGN §2.9)."""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Mapping
from typing import Any, Generic, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, Field

T = TypeVar("T")


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorEnvelope(BaseModel):
    """Every refusal and failure: the status's code, a message and the fields at fault."""

    success: Literal[False]
    error: str
    code: str = Field(examples=["VALIDATION_ERROR"])
    request_id: str | None
    details: list[FieldProblem]


class Envelope(BaseModel, Generic[T]):
    """A success: ``{"success": true, "data": ...}`` (seeds 000/001)."""

    success: Literal[True]
    data: T


class Pagination(BaseModel):
    total: int
    limit: int
    offset: int
    has_more: bool


class PageEnvelope(BaseModel, Generic[T]):
    """A page of a list, and where it sits in the whole."""

    success: Literal[True]
    data: list[T]
    pagination: Pagination


def pagination(total: int, limit: int, offset: int, shown: int) -> dict[str, Any]:
    return {"total": total, "limit": limit, "offset": offset, "has_more": offset + shown < total}


def error(description: str) -> dict[str, Any]:
    return {"description": description, "model": ErrorEnvelope}


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: error("Missing or invalid X-API-Key (UNAUTHORIZED)"),
    403: error("Another workspace, or a missing scope (FORBIDDEN)"),
    429: error("Rate limit exceeded; see Retry-After (RATE_LIMITED)"),
}
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    400: error("Invalid parameters (VALIDATION_ERROR)"),
}


def not_found(what: str) -> dict[int | str, dict[str, Any]]:
    """``READ_ERRORS`` and a 404 for ``what`` is missing."""
    return {**READ_ERRORS, 404: error(f"No such {what} in this workspace (NOT_FOUND)")}


def conflict(description: str, what: str) -> dict[int | str, dict[str, Any]]:
    return {**not_found(what), 409: error(f"{description} (CONFLICT)")}


def public(model: type[BaseModel], row: dict[str, Any]) -> dict[str, Any]:
    """Only what ``model`` declares: a new column stays private until a response model
    names it. Optional parts a row leaves out (a list's lead has no raw payload) stay out;
    values keep their Python types for the response's encoder."""
    return model.model_validate(row).model_dump(exclude_unset=True, by_alias=True)


def public_all(model: type[BaseModel], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``public`` for each row of a list. A list's rows come from the database already
    typed as the model declares, so they are projected onto its fields rather than
    validated and dumped again, which cost a fifth of a 50-lead page; a model that
    renames or converts (aliases, validators, serializers) is still validated."""
    project = _projection(model)
    return [project(row) for row in rows]


Row = Mapping[str, Any]


@functools.cache
def _projection(model: type[BaseModel]) -> Callable[[Row], dict[str, Any]]:
    if _converts(model):
        return functools.partial(public, model)
    fields = {name: _nested(info.annotation) for name, info in model.model_fields.items()}
    plain = [name for name, nested in fields.items() if nested is None]
    holding = [(name, nested) for name, nested in fields.items() if nested is not None]

    def project(row: Row) -> dict[str, Any]:
        # A field the row leaves out stays out, as exclude_unset leaves it out.
        shown = {name: row[name] for name in plain if name in row}
        for name, nested in holding:
            if name in row:
                value = row[name]
                shown[name] = None if value is None else nested(value)
        return shown

    return project


def _converts(model: type[BaseModel]) -> bool:
    hooks = model.__pydantic_decorators__
    renamed = any(
        info.alias or info.validation_alias or info.serialization_alias
        for info in model.model_fields.values()
    )
    return renamed or any(
        (
            hooks.validators,
            hooks.field_validators,
            hooks.model_validators,
            hooks.field_serializers,
            hooks.model_serializers,
            hooks.computed_fields,
        )
    )


def _nested(annotation: Any) -> Callable[[Any], Any] | None:
    """How to project a field holding a model, a list of models, or either or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _projection(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        parts = [arg for arg in args if arg is not type(None)]
        return _nested(parts[0]) if len(parts) == 1 else None
    if origin is list and args:
        item = _nested(args[0])
        if item is not None:
            return lambda values: [item(value) for value in values]
    return None


def as_sent(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema FastAPI generates, with its errors as leadpipe sends them: a request
    that fails validation is a 400 in the envelope (declared by each operation), never the
    422 FastAPI documents by default."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            refused = operation.get("responses", {}).pop("422", None)
            if refused is not None:
                operation["responses"].setdefault(
                    "400", error_schema("Invalid parameters or body (VALIDATION_ERROR)")
                )
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def error_schema(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
    }
