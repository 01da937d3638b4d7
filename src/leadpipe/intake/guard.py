"""Who may deliver to a webhook, and how often: the provider's credential, the signature
over the raw body, and the rate limits. Checked before a delivery's payload, so that a
refusal writes nothing but its entry in the delivery log."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from leadpipe.accounts.rules import hash_api_key
from leadpipe.intake.limits import IntakeLimits
from leadpipe.intake.repository import ProviderRepository, WebhookContext
from leadpipe.intake.rules.providers import HOUR_SECONDS, check_provider, provider_key
from leadpipe.intake.rules.signatures import valid_secrets, verify

if TYPE_CHECKING:
    from leadpipe.intake.batch import Run

# A batch's providers by their credential as its deliveries carry it.
Providers = dict[str, dict[str, Any]]


class IntakeGuard:
    def __init__(self, limits: IntakeLimits | None = None) -> None:
        self.limits = limits or IntakeLimits()

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
        provider = self._provider(providers, ctx, provider_key(headers))
        if provider is not None:
            run.provider_id = provider["id"]
        if d.body is None:
            return  # over the body limit: refused as such, with nothing to verify
        verified = verify(
            ctx.signature_mode, valid_secrets(ctx.secrets, run.now), headers, d.body, time.time()
        )
        run.signed_at = verified.signed_at if verified is not None else None
        if ctx.rate_limit:
            self.limits.per_webhook(ctx.id, ctx.rate_limit, ctx.rate_window_seconds or 60)
        if provider is not None:
            self.limits.per_provider(provider["id"], provider["hourly_limit"], HOUR_SECONDS)
        elif verified is None:
            self.limits.per_ip(d.ip_address or "unknown")

    def _provider(
        self, providers: Providers, ctx: WebhookContext, key: str | None
    ) -> dict[str, Any] | None:
        found = None
        if key is not None:
            found = providers.get(key)
            if found is not None and found["workspace_id"] != ctx.workspace_id:
                found = None  # another workspace's provider is no provider here
        check_provider(
            found, sent=key is not None, required=ctx.provider_required, webhook_id=ctx.id
        )
        return found
