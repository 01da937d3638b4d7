"""Dashboard sign-in sessions, kept server-side: the cookie holds a random token, the
database its hash, so that a session can be ended (sign-out, new password) at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection

from leadpipe.accounts.repository import SessionRepository, UserRepository
from leadpipe.accounts.rules import (
    chosen_workspace,
    hash_session_token,
    new_csrf_token,
    new_session_token,
    session_expires,
    session_needs_touch,
)
from leadpipe.errors import NotFound
from leadpipe.kit.clock import utcnow
from leadpipe.storage.engine import Database

Standing = Literal["member", "signed_out", "excluded"]


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who a dashboard request is from, and the workspace it acts in."""

    session_id: str
    user_id: uuid.UUID
    email: str
    name: str | None
    workspace_id: str | None
    workspace_name: str | None
    role: str | None  # None: no longer a member of the session's workspace
    csrf_token: str
    needs_touch: bool = False  # its expiry should move on (``SessionService.touch``)

    @property
    def display_name(self) -> str:
        return self.name or self.email


class SessionService:
    """Opens, finds, refreshes, switches and ends sessions."""

    def open(
        self, conn: Connection, *, signed_in_user: dict[str, Any], now: datetime | None = None
    ) -> str:
        """A new session for an authenticated user (``UserService.authenticate``), showing
        their first workspace; the cookie's token."""
        now = now or utcnow()
        value = new_session_token()
        SessionRepository(conn).insert(
            {
                "id": hash_session_token(value),
                "user_id": signed_in_user["id"],
                "workspace_id": chosen_workspace(signed_in_user["memberships"], None),
                "csrf_token": new_csrf_token(),
                "created_at": now,
                "last_seen_at": now,
                "expires_at": session_expires(now),
            }
        )
        return value

    def find(self, conn: Connection, value: str, now: datetime | None = None) -> SignedIn | None:
        """The live session whose token this is; None when it is unknown, expired or its
        user disabled. Reads only: ``touch`` it when it says so."""
        now = now or utcnow()
        session_id = hash_session_token(value)
        row = SessionRepository(conn).signed_in(session_id)
        if row is None or not row["is_active"] or row["expires_at"] <= now:
            return None
        return SignedIn(
            session_id=session_id,
            user_id=row["user_id"],
            email=row["email"],
            name=row["name"],
            workspace_id=row["workspace_id"] if row["role"] else None,
            workspace_name=row["workspace_name"] if row["role"] else None,
            role=row["role"],
            csrf_token=row["csrf_token"],
            needs_touch=session_needs_touch(row["last_seen_at"], now),
        )

    def standing(
        self, conn: Connection, session_id: str, workspace_id: str, now: datetime | None = None
    ) -> Standing:
        """Whether the session may still watch ``workspace_id`` (a live socket asks again
        while it is open): ``signed_out`` when the session has ended or expired,
        ``excluded`` when its user is disabled or no longer a member there."""
        row = SessionRepository(conn).signed_in(session_id)
        if row is None or row["expires_at"] <= (now or utcnow()):
            return "signed_out"
        if not row["is_active"]:
            return "excluded"
        if row["workspace_id"] == workspace_id and row["role"]:
            return "member"
        # Switched to another workspace meanwhile: the page showing this one may stay.
        member = UserRepository(conn).is_member(workspace_id, row["user_id"])
        return "member" if member else "excluded"

    def touch(self, conn: Connection, session_id: str, now: datetime | None = None) -> None:
        """Used now: it lasts its idle lifetime from here."""
        now = now or utcnow()
        SessionRepository(conn).change(
            session_id, {"last_seen_at": now, "expires_at": session_expires(now)}
        )

    def switch(self, conn: Connection, who: SignedIn, workspace_id: str) -> None:
        """Show another of the user's workspaces; refused when they are not a member."""
        memberships = UserRepository(conn).memberships(who.user_id)
        if chosen_workspace(memberships, workspace_id) != workspace_id:
            raise NotFound(f"Workspace '{workspace_id}' not found")
        SessionRepository(conn).change(who.session_id, {"workspace_id": workspace_id})

    def close(self, conn: Connection, session_id: str) -> None:
        SessionRepository(conn).delete(session_id)

    def forget_expired(self, conn: Connection, now: datetime | None = None) -> int:
        return SessionRepository(conn).delete_expired(now or utcnow())


session = SessionService()


def forget_expired_sessions(db: Database) -> int:
    """Delete the sessions past their idle lifetime (every hour, from the running app)."""
    with db.transaction() as conn:
        return session.forget_expired(conn)
