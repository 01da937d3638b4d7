"""A fast JSON response (orjson) that also knows Decimal."""

from __future__ import annotations

from typing import Any

from starlette import responses

from leadpipe.kit.serialization import dumps


class JSONResponse(responses.JSONResponse):
    """Starlette's, for OpenAPI to document the response model as JSON, rendered by
    orjson."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


def ok(data: Any, *, status_code: int = 200, **extra: Any) -> JSONResponse:
    """The success envelope ``{"success": true, "data": ...}`` (seeds 000/001)."""
    return JSONResponse({"success": True, "data": data, **extra}, status_code=status_code)
