"""Every SQL statement about workspaces and API keys."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from leadpipe.storage.base import table_of
from leadpipe.storage.models import ApiKey, Workspace
from leadpipe.storage.work import Work

WORKSPACES = table_of(Workspace)
API_KEYS = table_of(ApiKey)
_w = WORKSPACES.c
_k = API_KEYS.c

_FIND_ACTIVE = (
    select(_k.id, _k.workspace_id, _k.scopes)
    .join(WORKSPACES, _w.id == _k.workspace_id)
    .where(_k.key_hash == bindparam("key_hash"), _k.revoked_at.is_(None), _w.is_active)
)


class WorkspaceRepository:
    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def get(self, workspace_id: str) -> Any:
        return self.conn.execute(select(WORKSPACES).where(_w.id == workspace_id)).first()

    def region(self, workspace_id: str) -> str:
        """The workspace's default phone region (US when unknown)."""
        region = self.conn.execute(
            select(_w.default_region).where(_w.id == workspace_id)
        ).scalar_one_or_none()
        return str(region) if region else "US"

    def first(self) -> Any:
        return self.conn.execute(select(WORKSPACES).order_by(_w.created_at).limit(1)).first()

    def insert(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(WORKSPACES), values)


class ApiKeyRepository:
    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def insert(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(API_KEYS), values)

    def find_active(self, key_hash: str) -> dict[str, Any] | None:
        """The unrevoked key with this hash, if its workspace is active."""
        return self.work.run(_FIND_ACTIVE, {"key_hash": key_hash}).first()
