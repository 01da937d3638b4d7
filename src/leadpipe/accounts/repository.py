"""Every SQL statement about workspaces, API keys, users and memberships."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import insert as upsert
from leadpipe.storage.models import ApiKey, Membership, User, Workspace
from leadpipe.storage.work import Work

WORKSPACES = table_of(Workspace)
API_KEYS = table_of(ApiKey)
USERS = table_of(User)
MEMBERS = table_of(Membership)
_w = WORKSPACES.c
_u = USERS.c
_m = MEMBERS.c
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


class UserRepository:
    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def insert_if_new(self, values: dict[str, Any]) -> bool:
        """Insert unless the email is taken; whether it was inserted."""
        stmt = (
            upsert(self.conn.dialect.name, USERS)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(_u.id)
        )
        return self.conn.execute(stmt).scalar() is not None

    def none_yet(self) -> bool:
        return self.conn.execute(select(_u.id).limit(1)).first() is None

    def by_email(self, email: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(USERS).where(_u.email == email)).mappings().first()
        return dict(row) if row else None

    def change(self, user_id: Any, values: dict[str, Any]) -> None:
        self.conn.execute(update(USERS).where(_u.id == user_id).values(**values))

    def set_role(self, workspace_id: str, user_id: Any, role: str, now: Any) -> None:
        """Make the user a member with ``role``, or change the role it has."""
        stmt = upsert(self.conn.dialect.name, MEMBERS).values(
            workspace_id=workspace_id, user_id=user_id, role=role, created_at=now
        )
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[_m.workspace_id, _m.user_id], set_={"role": role}
            )
        )

    def memberships(self, user_id: Any) -> list[dict[str, Any]]:
        """The user's workspaces and roles, by workspace name."""
        rows = self.conn.execute(
            select(_m.workspace_id, _w.name.label("workspace_name"), _m.role)
            .join(WORKSPACES, _w.id == _m.workspace_id)
            .where(_m.user_id == user_id)
            .order_by(_w.name)
        ).mappings()
        return [dict(r) for r in rows]
