"""Who may deliver to a webhook, and how often: the provider's credential, the signature
over the raw body, and the rate limits. Checked before a delivery's payload, so that a
refusal writes nothing but its entry in the delivery log.

A sender that proves nothing (no valid provider credential, no valid signature) is
counted against its client IP's limit, refused or not; and a refusal for its credential
or signature, or for its IP's limit, keeps only the start of its body in the log, with
its size and hash: a stranger must not be able to fill the database with bodies."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from leadpipe.accounts.rules import hash_api_key
from leadpipe.config import Settings
from leadpipe.errors import Forbidden, RateLimited, Unauthorized
from leadpipe.intake.limits import IntakeLimits
from leadpipe.providers.repository import ProviderRepository
from leadpipe.providers.rules import HOUR_SECONDS, check_provider, provider_key
from leadpipe.webhooks.repository import WebhookContext
from leadpipe.webhooks.signatures import valid_secrets, verify

if TYPE_CHECKING:
    from leadpipe.intake.batch import Run

# A batch's providers by their credential as its deliveries carry it.
Providers = dict[str, dict[str, Any]]


class IntakeGuard:
    def __init__(
        self, limits: IntakeLimits | None = None, *, refused_body_keep_bytes: int = 4096
    ) -> None:
        self.limits = limits or IntakeLimits()
        self.refused_body_keep_bytes = refused_body_keep_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakeGuard:
        return cls(
            IntakeLimits.from_settings(settings),
            refused_body_keep_bytes=settings.refused_body_keep_bytes,
        )

    def providers_of(self, conn: Connection, runs: list[Run]) -> Providers:
        """The providers whose credentials a batch's deliveries carry: one query."""
        hashes = {
            key: hash_api_key(key)
            for run in runs
            if not run.delivery.from_admin and (key := provider_key(run.delivery.headers or {}))
        }
        if not hashes:
            return {}
        found = ProviderRepository(conn).by_key_hashes(sorted(set(hashes.values())))
        return {key: found[h] for key, h in hashes.items() if h in found}

    def admit(self, run: Run, ctx: WebhookContext, providers: Providers) -> None:
        """Refuse the delivery (401, 403 or 429) unless it may be taken; remembers on the
        run who sent it and when it was signed. An administrator's replay or dry run is
        not checked (a replay was, when it first came)."""
        d = run.delivery
        if d.from_admin:
            return
        headers = d.headers or {}
        try:
            provider = self._provider(run, providers, ctx, provider_key(headers))
            if d.body is None:
                return  # over the body limit: refused as such, with nothing to verify
            verified = verify(
                ctx.signature_mode,
                valid_secrets(ctx.secrets, run.now),
                headers,
                d.body,
                time.time(),
            )
        except (Unauthorized, Forbidden):
            run.keep_body_bytes = self.refused_body_keep_bytes
            self._count_stranger(run)  # over its IP's limit, the 429 is the answer
            raise
        run.signed_at = verified.signed_at if verified is not None else None
        if ctx.rate_limit:
            self.limits.per_webhook(ctx.id, ctx.rate_limit, ctx.rate_window_seconds or 60)
        if provider is not None:
            self.limits.per_provider(provider["id"], provider["hourly_limit"], HOUR_SECONDS)
        elif verified is None:
            self._count_stranger(run)

    def _count_stranger(self, run: Run) -> None:
        """Count a delivery whose sender proved nothing against its client IP; refused
        for being over that limit, its log entry keeps only part of its body."""
        try:
            self.limits.per_ip(run.delivery.ip_address or "unknown")
        except RateLimited:
            run.keep_body_bytes = self.refused_body_keep_bytes
            raise

    def _provider(
        self, run: Run, providers: Providers, ctx: WebhookContext, key: str | None
    ) -> dict[str, Any] | None:
        """The provider the delivery's credential names, checked; remembered on the run
        first, so that its refusal for a webhook outside its list (403) is counted in its
        usage too."""
        found = None
        if key is not None:
            found = providers.get(key)
            if found is not None and found["workspace_id"] != ctx.workspace_id:
                found = None  # another workspace's provider is no provider here
        if found is not None and found["is_active"]:
            run.provider_id = found["id"]
        check_provider(
            found, sent=key is not None, required=ctx.provider_required, webhook_id=ctx.id
        )
        return found
