"""Every SQL statement about workspaces, API keys, users and memberships."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from leadpipe.kit.ids import uuid7
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import insert as upsert
from leadpipe.storage.models import (
    ApiKey,
    DashboardSession,
    Membership,
    SavedView,
    User,
    Workspace,
)
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

    def change(self, workspace_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(update(WORKSPACES).where(_w.id == workspace_id).values(**values))

    def first(self) -> Any:
        return self.conn.execute(select(WORKSPACES).order_by(_w.created_at).limit(1)).first()

    def all(self) -> list[Any]:
        return list(self.conn.execute(select(WORKSPACES).order_by(_w.created_at)))

    def named(self, name: str) -> list[Any]:
        """The workspaces with this name, case aside."""
        return list(
            self.conn.execute(select(WORKSPACES).where(func.lower(_w.name) == name.lower()))
        )

    def insert(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(WORKSPACES), values)


class ApiKeyRepository:
    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def insert(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(API_KEYS), values)

    def for_workspace(self, workspace_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(API_KEYS).where(_k.workspace_id == workspace_id).order_by(_k.created_at)
        ).mappings()
        return [dict(r) for r in rows]

    def revoke(self, key_id: Any, now: Any) -> bool:
        """Whether an unrevoked key with this id was revoked."""
        done = self.conn.execute(
            update(API_KEYS).where(_k.id == key_id, _k.revoked_at.is_(None)).values(revoked_at=now)
        )
        return done.rowcount > 0

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

    def no_owner_yet(self) -> bool:
        """No workspace has an owner: nobody could manage the members."""
        found = self.conn.execute(select(_m.user_id).where(_m.role == "owner").limit(1))
        return found.first() is None

    def by_id(self, user_id: Any) -> dict[str, Any] | None:
        row = self.conn.execute(select(USERS).where(_u.id == user_id)).mappings().first()
        return dict(row) if row else None

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

    def is_member(self, workspace_id: str, user_id: Any) -> bool:
        found = self.conn.execute(
            select(_m.role).where(_m.workspace_id == workspace_id, _m.user_id == user_id)
        ).first()
        return found is not None

    def members(self, workspace_id: str) -> list[dict[str, Any]]:
        """The workspace's users and their roles, by name."""
        rows = self.conn.execute(
            select(_u.id, _u.email, _u.name, _u.is_active, _u.last_login_at, _m.role)
            .join(MEMBERS, _m.user_id == _u.id)
            .where(_m.workspace_id == workspace_id)
            .order_by(func.coalesce(_u.name, _u.email))
        ).mappings()
        return [dict(r) for r in rows]

    def table_columns(self, workspace_id: str, user_id: Any) -> list[Any] | None:
        """The lead table's columns the member chose (None: never chose)."""
        found = self.conn.execute(
            select(_m.table_columns).where(_m.workspace_id == workspace_id, _m.user_id == user_id)
        ).first()
        return found[0] if found is not None else None

    def set_table_columns(self, workspace_id: str, user_id: Any, columns: list[str] | None) -> None:
        self.conn.execute(
            update(MEMBERS)
            .where(_m.workspace_id == workspace_id, _m.user_id == user_id)
            .values(table_columns=columns)
        )

    def remove_member(self, workspace_id: str, user_id: Any) -> None:
        self.conn.execute(
            delete(MEMBERS).where(_m.workspace_id == workspace_id, _m.user_id == user_id)
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


SESSIONS = table_of(DashboardSession)
_s = SESSIONS.c

# A session, its user, and the user's role in the session's workspace (None when the
# membership is gone): everything a dashboard request needs, in one round trip.
_SIGNED_IN = (
    select(
        _s.id,
        _s.user_id,
        _s.workspace_id,
        _s.csrf_token,
        _s.last_seen_at,
        _s.expires_at,
        _u.email,
        _u.name,
        _u.is_active,
        _m.role,
        _w.name.label("workspace_name"),
    )
    .join(USERS, _u.id == _s.user_id)
    .outerjoin(MEMBERS, (_m.user_id == _s.user_id) & (_m.workspace_id == _s.workspace_id))
    .outerjoin(WORKSPACES, _w.id == _s.workspace_id)
    .where(_s.id == bindparam("id"))
)


class SessionRepository:
    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def insert(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(SESSIONS).values(**values))

    def signed_in(self, session_id: str) -> dict[str, Any] | None:
        return self.work.run(_SIGNED_IN, {"id": session_id}).first()

    def change(self, session_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(update(SESSIONS).where(_s.id == session_id).values(**values))

    def delete(self, session_id: str) -> None:
        self.conn.execute(delete(SESSIONS).where(_s.id == session_id))

    def delete_for_user(self, user_id: Any, *, keep: str | None = None) -> None:
        """The user's sessions, but ``keep`` (the one changing the password)."""
        stmt = delete(SESSIONS).where(_s.user_id == user_id)
        if keep is not None:
            stmt = stmt.where(_s.id != keep)
        self.conn.execute(stmt)

    def delete_expired(self, now: Any) -> int:
        return self.conn.execute(delete(SESSIONS).where(_s.expires_at < now)).rowcount


VIEWS = table_of(SavedView)
_v = VIEWS.c


class SavedViewRepository:
    def __init__(self, work: Connection | Work) -> None:
        self.conn = Work.of(work).conn

    def for_user(self, workspace_id: str, user_id: Any) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(_v.id, _v.name, _v.query)
            .where(_v.workspace_id == workspace_id, _v.user_id == user_id)
            .order_by(_v.name)
        ).mappings()
        return [dict(r) for r in rows]

    def save(self, workspace_id: str, user_id: Any, name: str, query: str, now: Any) -> None:
        """Under this name: a view saved again with the same name is replaced."""
        stmt = upsert(self.conn.dialect.name, VIEWS).values(
            id=uuid7(),
            workspace_id=workspace_id,
            user_id=user_id,
            name=name,
            query=query,
            created_at=now,
        )
        self.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[_v.workspace_id, _v.user_id, _v.name], set_={"query": query}
            )
        )

    def delete(self, workspace_id: str, user_id: Any, view_id: Any) -> bool:
        done = self.conn.execute(
            delete(VIEWS).where(
                _v.id == view_id, _v.workspace_id == workspace_id, _v.user_id == user_id
            )
        )
        return done.rowcount > 0
