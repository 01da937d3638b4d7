"""Webhook configuration: creating intake endpoints for a workspace."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from leadpipe.accounts.repository import WorkspaceRepository
from leadpipe.errors import Conflict, ValidationFailed, field_error
from leadpipe.intake.repository import WebhookRepository
from leadpipe.intake.rules import MAX_DUPLICATE_WINDOW
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import short_id

DEDUP_SCOPES = ("workspace", "webhook")
DEFAULT_DUPLICATE_WINDOW_MINUTES = 60
MAX_DUPLICATE_WINDOW_MINUTES = int(MAX_DUPLICATE_WINDOW.total_seconds() // 60)


def _mapping_errors(mapping: dict[str, str]) -> list[dict[str, Any]]:
    return [
        field_error(f"field_mapping.{path}", "target must be a field name")
        for path, target in mapping.items()
        if not isinstance(target, str) or not target
    ]


class WebhookService:
    def create(
        self,
        conn: Connection,
        *,
        workspace_id: str,
        name: str,
        webhook_id: str | None = None,
        lead_type: str | None = None,
        field_mapping: dict[str, str] | None = None,
        require_phone: bool = False,
        always_create_lead: bool = False,
        dedup_scope: str = "workspace",
        default_source: str | None = None,
        duplicate_window_minutes: int = DEFAULT_DUPLICATE_WINDOW_MINUTES,
    ) -> str:
        errors = _mapping_errors(field_mapping or {})
        if not 0 <= duplicate_window_minutes <= MAX_DUPLICATE_WINDOW_MINUTES:
            errors.append(
                field_error(
                    "duplicate_window_minutes",
                    f"must be from 0 (off) to {MAX_DUPLICATE_WINDOW_MINUTES} (a day)",
                )
            )
        if dedup_scope not in DEDUP_SCOPES:
            errors.append(field_error("dedup_scope", f"must be one of {', '.join(DEDUP_SCOPES)}"))
        if WorkspaceRepository(conn).get(workspace_id) is None:
            errors.append(field_error("workspace_id", f"workspace '{workspace_id}' does not exist"))
        if errors:
            raise ValidationFailed("Invalid webhook", errors)
        webhook_id = webhook_id or short_id("wh_")
        webhooks = WebhookRepository(conn)
        if webhooks.context(webhook_id) is not None:
            raise Conflict(f"Webhook '{webhook_id}' already exists")
        now = utcnow()
        webhooks.insert(
            {
                "id": webhook_id,
                "workspace_id": workspace_id,
                "name": name,
                "lead_type": lead_type,
                "is_active": True,
                "field_mapping": field_mapping or {},
                "require_phone": require_phone,
                "always_create_lead": always_create_lead,
                "dedup_scope": dedup_scope,
                "default_source": default_source,
                "duplicate_window_minutes": duplicate_window_minutes,
                "total_leads": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        return webhook_id


webhook = WebhookService()
