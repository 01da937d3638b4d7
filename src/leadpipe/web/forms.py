"""Dashboard forms as the API's bodies: the same models check them, and a refusal names
the field in the documented envelope."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from leadpipe.errors import ValidationFailed, field_error
from leadpipe.web.auth import CSRF_FIELD

B = TypeVar("B", bound=BaseModel)


async def form_values(request: Request) -> dict[str, str]:
    """The submitted fields but the CSRF token, blank ones left out (not sent)."""
    form = await request.form()
    return {
        key: value.strip()
        for key, value in form.items()
        if isinstance(value, str) and key != CSRF_FIELD and value.strip() != ""
    }


async def form_lists(request: Request, *names: str) -> dict[str, list[str]]:
    """Fields sent several times (checkboxes), by name."""
    form = await request.form()
    return {name: [v for v in form.getlist(name) if isinstance(v, str) and v] for name in names}


def body_of(model: type[B], values: dict[str, Any], what: str) -> B:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ValidationFailed(f"Invalid {what}", list(_details(exc))) from None


def _details(exc: ValidationError) -> Iterable[dict[str, Any]]:
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "body"
        yield field_error(field, error["msg"])
