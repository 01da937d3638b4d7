"""A fast JSON response (orjson) that also knows Decimal."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from leadpipe.kit.serialization import dumps


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
