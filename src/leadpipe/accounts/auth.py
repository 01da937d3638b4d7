"""Who is calling: ``X-API-Key`` authentication, scopes and the per-key rate limit."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from leadpipe.accounts.repository import ApiKeyRepository
from leadpipe.accounts.rules import hash_api_key
from leadpipe.config import Settings
from leadpipe.deps import DatabaseDep
from leadpipe.errors import Forbidden, RateLimited, Unauthorized
from leadpipe.kit.logs import ThrottledWarning
from leadpipe.storage.engine import workspace_scope
from leadpipe.storage.identity import installation_id

log = logging.getLogger("leadpipe.accounts")

# Declared for OpenAPI ("Authorize" in /docs); missing keys are refused below, in the
# documented envelope, rather than by FastAPI's own 403.
api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="A workspace API key (`leadpipe apikey create`).",
)


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    workspace_id: str
    scopes: frozenset[str]

    def check_workspace(self, workspace_id: str | None) -> None:
        """A workspace named in a query or body must be the key's own."""
        if workspace_id is not None and workspace_id != self.workspace_id:
            raise Forbidden("This API key belongs to another workspace")


class RateLimiter:
    """Requests per API key in a moving window; in memory for one worker, Redis for many
    (under the installation's id: installations that share a Redis count apart)."""

    def __init__(self, settings: Settings) -> None:
        self.limit = parse(settings.api_rate_limit)
        self.limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))
        self.prefix = installation_id(settings)
        self._warn_uncounted = ThrottledWarning(
            log, "API requests not counted against their rate limit", every=10.0
        )

    async def hit(self, key_id: str) -> None:
        try:
            if await self.limiter.hit(self.limit, self.prefix, "api-key", key_id):
                return
        except Exception as exc:
            # As intake's: an unreachable Redis must not stop the API; said once an outage.
            self._warn_uncounted(exc)
            return
        stats = await self.limiter.get_window_stats(self.limit, self.prefix, "api-key", key_id)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"Rate limit of {self.limit} exceeded for this API key",
            headers={
                "Retry-After": str(retry_after),
                "X-RateLimit-Limit": str(self.limit.amount),
                "X-RateLimit-Remaining": "0",
            },
        )


def _rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:
        limiter = request.app.state.rate_limiter = RateLimiter(request.app.state.settings)
    return limiter


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    async def authenticate(
        request: Request,
        db: DatabaseDep,
        key: Annotated[str | None, Depends(api_key_header)],
    ) -> Principal:
        if not key:
            raise Unauthorized("Missing X-API-Key header")

        key_hash = hash_api_key(key)
        found = await db.lookup(lambda conn: ApiKeyRepository(conn).find_active(key_hash))
        if found is None:
            raise Unauthorized("Invalid or revoked API key")
        principal = Principal(
            str(found["id"]), found["workspace_id"], frozenset(found["scopes"] or ())
        )
        await _rate_limiter(request).hit(principal.key_id)
        if scope not in principal.scopes and "admin" not in principal.scopes:
            raise Forbidden(f"This API key lacks the '{scope}' scope")
        request.state.workspace_id = principal.workspace_id
        workspace_scope.set(principal.workspace_id)
        return principal

    return authenticate


ReadAccess = Annotated[Principal, Depends(require("read"))]
WriteAccess = Annotated[Principal, Depends(require("write"))]
AdminAccess = Annotated[Principal, Depends(require("admin"))]
