"""Webhook configuration: creating intake endpoints for a workspace and changing them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from leadpipe.accounts.repository import UserRepository, WorkspaceRepository
from leadpipe.accounts.rules import may
from leadpipe.errors import Conflict, NotFound, ValidationFailed, field_error
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import short_id
from leadpipe.kit.urls import is_web_url
from leadpipe.payloads.intake_rules import rules_problems, with_assignee_ids
from leadpipe.payloads.rules import REQUIRABLE
from leadpipe.pipeline.repository import StageRepository
from leadpipe.storage.engine import Database
from leadpipe.webhooks.presets import PRESETS, merged_settings, shown_settings
from leadpipe.webhooks.repository import WebhookRepository
from leadpipe.webhooks.rules import MAX_DUPLICATE_WINDOW, may_restore, purge_before
from leadpipe.webhooks.signatures import (
    DEFAULT_OVERLAP,
    MODES,
    described,
    new_secret,
    rotated,
    secret_problem,
    valid_secrets,
)

DEDUP_SCOPES = ("workspace", "webhook")
DEFAULT_DUPLICATE_WINDOW_MINUTES = 60
MAX_DUPLICATE_WINDOW_MINUTES = int(MAX_DUPLICATE_WINDOW.total_seconds() // 60)


def _settings_errors(values: dict[str, Any]) -> list[dict[str, Any]]:
    """What is wrong with these settings, whether a new webhook's or a change's."""
    errors = _intake_errors(values) + [
        field_error(f"field_mapping.{path}", "target must be a field name")
        for path, target in (values.get("field_mapping") or {}).items()
        if not isinstance(target, str) or not target
    ]
    window = values.get("duplicate_window_minutes", 0)
    if not 0 <= window <= MAX_DUPLICATE_WINDOW_MINUTES:
        errors.append(
            field_error(
                "duplicate_window_minutes",
                f"must be from 0 (off) to {MAX_DUPLICATE_WINDOW_MINUTES} (a day)",
            )
        )
    if values.get("dedup_scope", DEDUP_SCOPES[0]) not in DEDUP_SCOPES:
        errors.append(field_error("dedup_scope", f"must be one of {', '.join(DEDUP_SCOPES)}"))
    redirect_url = (values.get("preset_settings") or {}).get("redirect_url")
    if redirect_url is not None and not is_web_url(redirect_url):
        errors.append(
            field_error("preset_settings.redirect_url", "must be an http:// or https:// URL")
        )
    return errors


def _intake_errors(values: dict[str, Any]) -> list[dict[str, Any]]:
    """What is wrong with who may deliver and how often."""
    errors = []
    if values.get("signature_mode", "off") not in MODES:
        errors.append(field_error("signature_mode", f"must be one of {', '.join(MODES)}"))
    if values.get("rate_window_seconds") is not None and values.get("rate_limit") is None:
        errors.append(field_error("rate_limit", "is needed with rate_window_seconds"))
    unknown = [f for f in values.get("required_fields") or [] if f not in REQUIRABLE]
    if unknown:
        errors.append(
            field_error("required_fields", f"{', '.join(unknown)}: use {', '.join(REQUIRABLE)}")
        )
    if "preset" in values and values["preset"] not in PRESETS:
        errors.append(field_error("preset", f"must be one of {', '.join(PRESETS)}"))
    if values.get("signature_mode", "off") != "off" and not valid_secrets(
        values.get("secrets") or [], utcnow()
    ):
        errors.append(field_error("signature_mode", "needs a valid secret: rotate one in first"))
    return errors


def _with_checked_rules(
    conn: Connection, workspace_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    """``values`` with its intake rules and default status checked against the
    workspace's pipeline and members, and each rule's assignee's user id beside its email;
    raises ``ValidationFailed`` naming what is wrong."""
    has_rules, status = "intake_rules" in values, values.get("default_status")
    if not has_rules and not status:
        return values
    stages = {s.slug for s in StageRepository(conn).active_stages(workspace_id)}
    errors = []
    if status and status not in stages:
        named = ", ".join(sorted(stages))
        errors.append(field_error("default_status", f"must be a stage of the pipeline: {named}"))
    if has_rules:
        members = {
            str(m["email"]).lower(): str(m["id"])
            for m in UserRepository(conn).members(workspace_id)
            if may(m["role"], "work_leads")
        }
        rules = [_without_unset_actions(r) for r in values["intake_rules"] or []]
        errors += rules_problems(rules, stages, members)
    if errors:
        raise ValidationFailed("Invalid webhook", errors)
    if not has_rules:
        return values
    return {**values, "intake_rules": with_assignee_ids(rules, members)}


def _without_unset_actions(rule: Any) -> Any:
    """A rule as written in a body whose model names every action: the unset ones out."""
    if not isinstance(rule, dict) or not isinstance(rule.get("actions"), dict):
        return rule
    return {**rule, "actions": {k: v for k, v in rule["actions"].items() if v is not None}}


def _shown(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A webhook as administrators see it: its secrets described, never given."""
    return {
        **row,
        "secrets": described(row["secrets"], now),
        "preset_settings": shown_settings(row["preset_settings"]),
    }


class WebhookService:
    def create(
        self,
        conn: Connection,
        *,
        workspace_id: str,
        name: str,
        webhook_id: str | None = None,
        description: str | None = None,
        lead_type: str | None = None,
        field_mapping: dict[str, str] | None = None,
        require_phone: bool = False,
        required_fields: list[str] | None = None,
        always_create_lead: bool | None = None,
        dedup_scope: str = "workspace",
        default_source: str | None = None,
        duplicate_window_minutes: int = DEFAULT_DUPLICATE_WINDOW_MINUTES,
        preset: str = "generic",
        preset_settings: dict[str, Any] | None = None,
        provider_required: bool = False,
        signature_mode: str = "off",
        rate_limit: int | None = None,
        rate_window_seconds: int | None = None,
        secret: str | None = None,
        intake_rules: list[dict[str, Any]] | None = None,
        default_status: str | None = None,
    ) -> str:
        """A new webhook, with a first signing secret (``secret``, or generated: see
        ``first_secret``); its id."""
        now = utcnow()
        chosen = PRESETS.get(preset, PRESETS["generic"])  # an unknown one is refused below
        settings = {
            "name": name,
            "description": description,
            "lead_type": lead_type,
            "field_mapping": field_mapping or {},
            "require_phone": require_phone,
            "required_fields": required_fields or [],
            "always_create_lead": (
                always_create_lead if always_create_lead is not None else chosen.always_create_lead
            ),
            "dedup_scope": dedup_scope,
            "default_source": default_source or chosen.default_source,
            "duplicate_window_minutes": duplicate_window_minutes,
            "preset": preset,
            "preset_settings": preset_settings or {},
            "provider_required": provider_required,
            "signature_mode": signature_mode,
            "rate_limit": rate_limit,
            "rate_window_seconds": rate_window_seconds,
            "secrets": rotated([], secret or new_secret(), now, now),
            "intake_rules": intake_rules or [],
            "default_status": default_status,
        }
        errors = _settings_errors(settings)
        if WorkspaceRepository(conn).get(workspace_id) is None:
            errors.append(field_error("workspace_id", f"workspace '{workspace_id}' does not exist"))
        if errors:
            raise ValidationFailed("Invalid webhook", errors)
        settings = _with_checked_rules(conn, workspace_id, settings)
        webhook_id = webhook_id or short_id("wh_")
        webhooks = WebhookRepository(conn)
        if webhooks.context(webhook_id) is not None:
            raise Conflict(f"Webhook '{webhook_id}' already exists")
        webhooks.insert(
            {
                **settings,
                "id": webhook_id,
                "workspace_id": workspace_id,
                "is_active": True,
                "total_leads": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        return webhook_id

    def get(self, conn: Connection, workspace_id: str, webhook_id: str) -> dict[str, Any]:
        return _shown(self._row(conn, workspace_id, webhook_id), utcnow())

    def _row(self, conn: Connection, workspace_id: str, webhook_id: str) -> dict[str, Any]:
        found = WebhookRepository(conn).get(workspace_id, webhook_id)
        if found is None:
            raise NotFound(f"No webhook '{webhook_id}' in this workspace")
        return found

    def first_secret(self, conn: Connection, workspace_id: str, webhook_id: str) -> str:
        """The secret a webhook was created with, for its creator's answer alone."""
        return str(self._row(conn, workspace_id, webhook_id)["secrets"][-1]["secret"])

    def rotate_secret(
        self,
        conn: Connection,
        workspace_id: str,
        webhook_id: str,
        *,
        secret: str | None = None,
        keep_old_until: datetime | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Add a signing secret; the current ones keep verifying until ``keep_old_until``
        (in 24 hours by default). The new secret, and the webhook."""
        found = self._row(conn, workspace_id, webhook_id)
        problem = secret_problem(secret) if secret is not None else None
        if problem is not None:
            raise ValidationFailed("Invalid secret", [field_error("secret", problem)])
        now = utcnow()
        secret = secret or new_secret()
        held = rotated(found["secrets"], secret, now, keep_old_until or now + DEFAULT_OVERLAP)
        WebhookRepository(conn).update(webhook_id, {"secrets": held, "updated_at": now})
        return secret, self.get(conn, workspace_id, webhook_id)

    def for_workspace(
        self,
        conn: Connection,
        workspace_id: str,
        *,
        include_deleted: bool = False,
        provider_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """The workspace's webhooks, oldest first; deleted ones (still restorable) too
        when asked; only those a provider may deliver to when one is named."""
        repo = WebhookRepository(conn)
        hooks = repo.for_workspace(workspace_id)
        if provider_id is not None:
            allowed = repo.allowed_for_provider(workspace_id, provider_id)
            if allowed is None:
                raise NotFound(f"No provider '{provider_id}' in this workspace")
            hooks = [h for h in hooks if not allowed or h["id"] in allowed]
        now = utcnow()
        return [_shown(h, now) for h in hooks if include_deleted or h["deleted_at"] is None]

    def delete(
        self,
        conn: Connection,
        workspace_id: str,
        webhook_id: str,
        *,
        force: bool = False,
        now: datetime | None = None,
    ) -> dict[str, Any] | None:
        """Deleted softly (inactive, restorable for a day; the webhook as it is now), or
        at once with ``force`` (None). The leads it brought in stay."""
        found = self.get(conn, workspace_id, webhook_id)
        webhooks = WebhookRepository(conn)
        if force:
            webhooks.delete(webhook_id)
            return None
        if found["deleted_at"] is not None:
            raise Conflict(
                "This webhook is deleted already; restore it, or delete it with force=true"
            )
        now = now or utcnow()
        webhooks.update(webhook_id, {"is_active": False, "deleted_at": now, "updated_at": now})
        return self.get(conn, workspace_id, webhook_id)

    def restore(
        self, conn: Connection, workspace_id: str, webhook_id: str, now: datetime | None = None
    ) -> dict[str, Any]:
        found = self.get(conn, workspace_id, webhook_id)
        now = now or utcnow()
        if found["deleted_at"] is None:
            raise Conflict("This webhook is not deleted")
        if not may_restore(found["deleted_at"], now):
            raise Conflict("This webhook was deleted more than a day ago and cannot be restored")
        WebhookRepository(conn).update(
            webhook_id, {"is_active": True, "deleted_at": None, "updated_at": now}
        )
        return self.get(conn, workspace_id, webhook_id)

    def purge_deleted(self, conn: Connection, now: datetime | None = None) -> int:
        """Delete for good the webhooks deleted over a day ago; how many."""
        return WebhookRepository(conn).delete_deleted_before(purge_before(now or utcnow()))

    def update(
        self, conn: Connection, workspace_id: str, webhook_id: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Change some settings; deliveries after the commit see them (intake confirms its
        remembered settings with every batch)."""
        found = self._row(conn, workspace_id, webhook_id)
        if found["deleted_at"] is not None and changes:
            raise Conflict("This webhook is deleted; restore it first")
        if "preset_settings" in changes:
            held = found["preset_settings"]
            changes = {
                **changes,
                "preset_settings": merged_settings(held, changes["preset_settings"]),
            }
        errors = _settings_errors({**found, **changes})
        if errors:
            raise ValidationFailed("Invalid webhook", errors)
        changes = _with_checked_rules(conn, workspace_id, changes)
        if changes:
            WebhookRepository(conn).update(webhook_id, {**changes, "updated_at": utcnow()})
        return self.get(conn, workspace_id, webhook_id)


webhook = WebhookService()


def purge_deleted_webhooks(db: Database) -> int:
    """``WebhookService.purge_deleted`` in its own transaction (hourly, from the app)."""
    with db.transaction() as conn:
        return webhook.purge_deleted(conn)
