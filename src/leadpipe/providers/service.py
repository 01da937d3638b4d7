"""Lead providers: who sends a workspace's leads, their credentials and their usage."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from leadpipe.accounts.rules import display_prefix, hash_api_key
from leadpipe.errors import Conflict, NotFound, ValidationFailed, field_error
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import short_id
from leadpipe.providers.repository import ProviderRepository
from leadpipe.providers.rules import (
    DEFAULT_HOURLY_LIMIT,
    conversion_rate,
    new_provider_key,
)
from leadpipe.webhooks.repository import WebhookRepository

USAGE_DAYS = 30


class ProviderService:
    def create(
        self,
        conn: Connection,
        workspace_id: str,
        *,
        name: str,
        provider_id: str | None = None,
        company: str | None = None,
        contact_name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        allowed_webhooks: list[str] | None = None,
        hourly_limit: int = DEFAULT_HOURLY_LIMIT,
        notes: str | None = None,
    ) -> tuple[dict[str, Any], str]:
        """A new provider and its credential (shown once; only its hash is kept)."""
        self._check_webhooks(conn, workspace_id, allowed_webhooks)
        providers = ProviderRepository(conn)
        provider_id = provider_id or short_id("prov_")
        if providers.get(workspace_id, provider_id) is not None:
            raise Conflict(f"Provider '{provider_id}' already exists")
        key, now = new_provider_key(), utcnow()
        providers.insert(
            {
                "id": provider_id,
                "workspace_id": workspace_id,
                "name": name,
                "company": company,
                "contact_name": contact_name,
                "email": email,
                "phone": phone,
                "key_prefix": display_prefix(key),
                "key_hash": hash_api_key(key),
                "is_active": True,
                "allowed_webhooks": allowed_webhooks or None,
                "hourly_limit": hourly_limit,
                "notes": notes,
                "created_at": now,
                "updated_at": now,
            }
        )
        return self.get(conn, workspace_id, provider_id), key

    def get(self, conn: Connection, workspace_id: str, provider_id: str) -> dict[str, Any]:
        found = ProviderRepository(conn).get(workspace_id, provider_id)
        if found is None:
            raise NotFound(f"No provider '{provider_id}' in this workspace")
        return found

    def for_workspace(self, conn: Connection, workspace_id: str) -> list[dict[str, Any]]:
        return ProviderRepository(conn).for_workspace(workspace_id)

    def update(
        self, conn: Connection, workspace_id: str, provider_id: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        self.get(conn, workspace_id, provider_id)
        if "allowed_webhooks" in changes:
            self._check_webhooks(conn, workspace_id, changes["allowed_webhooks"])
            changes = {**changes, "allowed_webhooks": changes["allowed_webhooks"] or None}
        if changes:
            ProviderRepository(conn).update(provider_id, {**changes, "updated_at": utcnow()})
        return self.get(conn, workspace_id, provider_id)

    def rotate(
        self, conn: Connection, workspace_id: str, provider_id: str
    ) -> tuple[dict[str, Any], str]:
        """A new credential; the old one stops working at once (a leaked one must)."""
        self.get(conn, workspace_id, provider_id)
        key = new_provider_key()
        ProviderRepository(conn).update(
            provider_id,
            {
                "key_prefix": display_prefix(key),
                "key_hash": hash_api_key(key),
                "updated_at": utcnow(),
            },
        )
        return self.get(conn, workspace_id, provider_id), key

    def stats(
        self, conn: Connection, workspace_id: str, provider_id: str, now: datetime | None = None
    ) -> dict[str, Any]:
        """Its deliveries by outcome over the last 30 days, per webhook and day, and how
        many of the leads it brought converted."""
        self.get(conn, workspace_id, provider_id)
        return self.usage(conn, provider_id, now)

    def usage(
        self, conn: Connection, provider_id: str, now: datetime | None = None
    ) -> dict[str, Any]:
        """``stats`` of a provider its caller has found in its workspace."""
        providers = ProviderRepository(conn)
        since = ((now or utcnow()) - timedelta(days=USAGE_DAYS - 1)).date()
        usage = providers.usage(provider_id, since)
        leads, converted = providers.leads_brought(provider_id)

        def total(column: str) -> int:
            return sum(row[column] for row in usage)

        return {
            "provider_id": provider_id,
            "deliveries": total("request_count"),
            "accepted": total("accepted"),
            "refused": total("refused"),
            "duplicates": total("duplicates"),
            "leads": leads,
            "converted": converted,
            "conversion_rate": conversion_rate(leads, converted),
            "usage": usage,
        }

    def _check_webhooks(
        self, conn: Connection, workspace_id: str, webhook_ids: list[str] | None
    ) -> None:
        webhooks = WebhookRepository(conn)
        unknown = [w for w in webhook_ids or [] if webhooks.get(workspace_id, w) is None]
        if unknown:
            raise ValidationFailed(
                "Invalid provider",
                [
                    field_error("allowed_webhooks", f"no webhook '{w}' in this workspace")
                    for w in unknown
                ],
            )


provider = ProviderService()
