"""Workspaces and API keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from leadpipe.accounts.repository import ApiKeyRepository, WorkspaceRepository
from leadpipe.accounts.rules import SCOPES, display_prefix, hash_api_key, new_api_key
from leadpipe.errors import Conflict, ValidationFailed, field_error
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import short_id, uuid7
from leadpipe.pipeline.repository import StageRepository


@dataclass(frozen=True, slots=True)
class CreatedKey:
    id: str
    workspace_id: str
    key: str  # shown once; only its hash is stored
    scopes: tuple[str, ...]


class AccountService:
    def create_workspace(
        self,
        conn: Connection,
        *,
        name: str,
        workspace_id: str | None = None,
        default_region: str = "US",
        lead_window_days: int = 30,
        settings: dict[str, Any] | None = None,
    ) -> str:
        """A workspace with seed 000's default pipeline."""
        workspace_id = workspace_id or short_id("ws_", 8)
        if lead_window_days < 1:
            raise ValidationFailed(
                "Invalid workspace", [field_error("lead_window_days", "must be at least 1")]
            )
        workspaces = WorkspaceRepository(conn)
        if workspaces.get(workspace_id) is not None:
            raise Conflict(f"Workspace '{workspace_id}' already exists")
        now = utcnow()
        workspaces.insert(
            {
                "id": workspace_id,
                "name": name,
                "default_region": default_region.upper(),
                "lead_window_days": lead_window_days,
                "settings": settings or {},
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
        )
        StageRepository(conn).ensure_default_pipeline(workspace_id, now)
        return workspace_id

    def create_api_key(
        self,
        conn: Connection,
        *,
        workspace_id: str,
        name: str,
        scopes: Sequence[str] = SCOPES,
    ) -> CreatedKey:
        unknown = sorted(set(scopes) - set(SCOPES))
        if unknown:
            raise ValidationFailed(
                "Invalid API key",
                [field_error("scopes", f"unknown scopes {unknown}; use {', '.join(SCOPES)}")],
            )
        if WorkspaceRepository(conn).get(workspace_id) is None:
            raise ValidationFailed(
                "Invalid API key",
                [field_error("workspace_id", f"workspace '{workspace_id}' does not exist")],
            )
        key = new_api_key()
        key_id = uuid7()
        ApiKeyRepository(conn).insert(
            {
                "id": key_id,
                "workspace_id": workspace_id,
                "name": name,
                "prefix": display_prefix(key),
                "key_hash": hash_api_key(key),
                "scopes": list(scopes),
                "created_at": utcnow(),
            }
        )
        return CreatedKey(str(key_id), workspace_id, key, tuple(scopes))


account = AccountService()
