"""Workspaces, API keys, and users with their roles."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from leadpipe.accounts.passwords import (
    hash_password,
    needs_rehash,
    spend_a_verification,
    verify_password,
)
from leadpipe.accounts.repository import (
    ApiKeyRepository,
    SessionRepository,
    UserRepository,
    WorkspaceRepository,
)
from leadpipe.accounts.rules import (
    SCOPES,
    display_prefix,
    hash_api_key,
    lock_after_failure,
    new_api_key,
    new_password,
    password_problem,
    role_problem,
    time_zone_problem,
    user_email,
)
from leadpipe.errors import Conflict, Forbidden, NotFound, ValidationFailed, field_error
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import short_id, uuid7
from leadpipe.pipeline.repository import StageRepository
from leadpipe.realtime.events import Revocation, key_revoked, user_revoked


def _check_time_zone(name: str | None) -> None:
    if name is not None and (problem := time_zone_problem(name)):
        raise ValidationFailed("Invalid workspace", [field_error("time_zone", problem)])


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
        _check_time_zone((settings or {}).get("time_zone"))
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

    def change_workspace(
        self,
        conn: Connection,
        workspace_id: str,
        *,
        name: str,
        default_region: str,
        lead_window_days: int,
        time_zone: str,
        lost_reasons: list[str] | None = None,
    ) -> None:
        """The settings an admin changes on the dashboard or with ``leadpipe workspace
        update`` (checked by the caller, the time zone here too); ``lost_reasons`` None
        keeps them."""
        _check_time_zone(time_zone)
        workspaces = WorkspaceRepository(conn)
        found = workspaces.get(workspace_id)
        if found is None:
            raise NotFound(f"Workspace '{workspace_id}' not found")
        workspaces.change(
            workspace_id,
            {
                "name": name,
                "default_region": default_region,
                "lead_window_days": lead_window_days,
                "settings": {
                    **(found.settings or {}),
                    "time_zone": time_zone,
                    **({"lost_reasons": lost_reasons} if lost_reasons is not None else {}),
                },
                "updated_at": utcnow(),
            },
        )

    def resolve_workspace(self, conn: Connection, given: str) -> str:
        """A workspace named by its id or by its name (as the CLI takes it)."""
        workspaces = WorkspaceRepository(conn)
        if workspaces.get(given) is not None:
            return given
        named = workspaces.named(given)
        if len(named) == 1:
            return str(named[0].id)
        if named:
            ids = ", ".join(str(w.id) for w in named)
            raise Conflict(f"Several workspaces are named '{given}' ({ids}): give the id")
        raise NotFound(f"No workspace with id or name '{given}'")

    def revoke_api_key(self, conn: Connection, key_id: str) -> Revocation:
        """Refuse the key from now on; what to announce once committed (its live sockets
        close)."""
        try:
            parsed = uuid.UUID(key_id)
        except ValueError:
            raise NotFound(f"No API key '{key_id}'") from None
        if not ApiKeyRepository(conn).revoke(parsed, utcnow()):
            raise NotFound(f"No API key '{key_id}' that is not revoked already")
        return key_revoked(parsed)

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


@dataclass(frozen=True, slots=True)
class CreatedUser:
    id: uuid.UUID
    email: str
    password: str | None  # generated ones are shown once; only the hash is stored


class UserService:
    """Users who sign in to the dashboard, and their roles in workspaces."""

    def create(
        self,
        conn: Connection,
        *,
        email: str,
        name: str | None = None,
        password: str | None = None,
        workspace_id: str | None = None,
        role: str | None = None,
    ) -> CreatedUser:
        """A new user, a member of ``workspace_id`` with ``role`` when given. Without a
        password, one is generated and returned (shown once)."""
        address = _checked_email(email)
        chosen, generated = _password_or_generated(password)
        if workspace_id is not None:
            _refuse_role(role or "")
            _workspace_must_exist(conn, workspace_id)
        now = utcnow()
        user_id = uuid7()
        created = UserRepository(conn).insert_if_new(
            {
                "id": user_id,
                "email": address,
                "name": name,
                "password_hash": hash_password(chosen),
                "created_at": now,
                "updated_at": now,
            }
        )
        if not created:
            raise Conflict(f"A user with email {address} already exists")
        if workspace_id is not None and role is not None:
            UserRepository(conn).set_role(workspace_id, user_id, role, now)
        return CreatedUser(user_id, address, generated)

    def set_role(self, conn: Connection, *, email: str, workspace_id: str, role: str) -> None:
        _refuse_role(role)
        _workspace_must_exist(conn, workspace_id)
        user = self._user(conn, email)
        UserRepository(conn).set_role(workspace_id, user["id"], role, utcnow())

    def reset_password(
        self, conn: Connection, *, email: str, password: str | None = None
    ) -> str | None:
        """Set a new password (generated when none is given, and returned) and lift any
        lockout."""
        user = self._user(conn, email)
        chosen, generated = _password_or_generated(password)
        UserRepository(conn).change(
            user["id"],
            {
                "password_hash": hash_password(chosen),
                "failed_logins": 0,
                "locked_until": None,
                "updated_at": utcnow(),
            },
        )
        SessionRepository(conn).delete_for_user(user["id"])  # a new password signs out
        return generated

    def change_password(
        self,
        conn: Connection,
        *,
        user_id: uuid.UUID,
        current: str,
        new: str,
        keep_session: str | None = None,
    ) -> None:
        """A user's own change: the current password first; every other session of the
        user ends (a stolen cookie stops working)."""
        users = UserRepository(conn)
        found = users.by_id(user_id)
        if found is None or not verify_password(found["password_hash"], current):
            raise ValidationFailed(
                "Password not changed", [field_error("current_password", "is not your password")]
            )
        _refuse_password(new)
        users.change(user_id, {"password_hash": hash_password(new), "updated_at": utcnow()})
        SessionRepository(conn).delete_for_user(user_id, keep=keep_session)

    def authenticate(
        self, conn: Connection, *, email: str, password: str, now: datetime | None = None
    ) -> dict[str, Any] | None:
        """The user whose address and password these are, with its memberships; or None,
        the same for an unknown address, a wrong password, a locked or a disabled account
        (so that none can be told apart, by answer or by time). Failed attempts in a
        row lock the account for a while (``rules.LOCK_AFTER_FAILURES``); they are counted
        in the caller's transaction, which must commit even when this refuses."""
        now = now or utcnow()
        try:
            address = user_email(email)
        except ValueError:
            spend_a_verification(password)
            return None
        users = UserRepository(conn)
        found = users.by_email(address)
        if found is None or not found["is_active"]:
            spend_a_verification(password)  # as long as for a real account
            return None
        if found["locked_until"] is not None and found["locked_until"] > now:
            spend_a_verification(password)
            return None
        if not verify_password(found["password_hash"], password):
            failures = found["failed_logins"] + 1
            users.change(
                found["id"],
                {"failed_logins": failures, "locked_until": lock_after_failure(failures, now)},
            )
            return None
        changes: dict[str, Any] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if needs_rehash(found["password_hash"]):
            changes["password_hash"] = hash_password(password)
        users.change(found["id"], changes)
        return {**found, **changes, "memberships": users.memberships(found["id"])}

    def set_member_role(
        self, conn: Connection, *, workspace_id: str, user_id: uuid.UUID, role: str
    ) -> None:
        _refuse_role(role)
        users = UserRepository(conn)
        if not users.is_member(workspace_id, user_id):
            raise NotFound("Not a member of this workspace")
        if role != "owner":
            _keep_an_owner(users, workspace_id, user_id)
        users.set_role(workspace_id, user_id, role, utcnow())

    def remove_member(self, conn: Connection, *, workspace_id: str, user_id: uuid.UUID) -> None:
        users = UserRepository(conn)
        if not users.is_member(workspace_id, user_id):
            raise NotFound("Not a member of this workspace")
        _keep_an_owner(users, workspace_id, user_id)
        users.remove_member(workspace_id, user_id)

    def set_active(self, conn: Connection, email: str, *, active: bool) -> Revocation:
        """Disable an account (it cannot sign in; its sessions end) or enable it again;
        what to announce once committed (a disabled user's live sockets close)."""
        found = self._user(conn, email)
        UserRepository(conn).change(found["id"], {"is_active": active, "updated_at": utcnow()})
        if not active:
            SessionRepository(conn).delete_for_user(found["id"])
        return user_revoked(found["id"])

    def member_to_manage(
        self, conn: Connection, *, workspace_id: str, by: uuid.UUID, role: str, user_id: uuid.UUID
    ) -> dict[str, Any]:
        """The member whose password an owner or admin (``by``, ``role``) resets, or whom
        they deactivate: not themselves, not an owner unless they are one, and no one who
        belongs to another workspace too (an account shared with another tenant is not
        this workspace's to lock)."""
        users = UserRepository(conn)
        member = next((m for m in users.members(workspace_id) if m["id"] == user_id), None)
        if member is None:
            raise NotFound("Not a member of this workspace")
        if user_id == by:
            raise Forbidden("Use your account page for your own password")
        if member["role"] == "owner" and role != "owner":
            raise Forbidden("Only an owner may do this to an owner")
        if len(users.memberships(user_id)) > 1:
            raise Conflict("This user belongs to other workspaces too; remove them from this one")
        found = users.by_id(user_id)
        assert found is not None
        return found

    def sign_out_everywhere(self, conn: Connection, user_id: uuid.UUID) -> Revocation:
        """End every session of the user, this one included (a lost laptop, a shared
        computer); what to announce once committed."""
        SessionRepository(conn).delete_for_user(user_id)
        return user_revoked(user_id)

    def revocation(self, conn: Connection, email: str) -> Revocation:
        """What announces, once committed, that the user's sessions, memberships or
        account changed: their live sockets look their rights up again."""
        return user_revoked(self._user(conn, email)["id"])

    def memberships(self, conn: Connection, email: str) -> list[dict[str, Any]]:
        return UserRepository(conn).memberships(self._user(conn, email)["id"])

    @staticmethod
    def _user(conn: Connection, email: str) -> dict[str, Any]:
        user = UserRepository(conn).by_email(_checked_email(email))
        if user is None:
            raise NotFound(f"No user with email {email.strip()}")
        return user


def _keep_an_owner(users: UserRepository, workspace_id: str, leaving: uuid.UUID) -> None:
    """A workspace always keeps an owner: the last one cannot leave or step down."""
    owners = [m["id"] for m in users.members(workspace_id) if m["role"] == "owner"]
    if owners == [leaving]:
        raise Conflict("A workspace needs an owner: make someone else owner first")


def _checked_email(email: str) -> str:
    try:
        return user_email(email)
    except ValueError as exc:
        raise ValidationFailed("Invalid user", [field_error("email", str(exc))]) from None


def _password_or_generated(password: str | None) -> tuple[str, str | None]:
    """The password to set, checked, and the generated one to show once (None when the
    caller chose it)."""
    generated = None if password is not None else new_password()
    chosen = password if password is not None else generated
    assert chosen is not None
    _refuse_password(chosen)
    return chosen, generated


def _refuse_password(password: str) -> None:
    problem = password_problem(password)
    if problem is not None:
        raise ValidationFailed("Invalid user", [field_error("password", problem)])


def _refuse_role(role: str) -> None:
    problem = role_problem(role)
    if problem is not None:
        raise ValidationFailed("Invalid membership", [field_error("role", problem)])


def _workspace_must_exist(conn: Connection, workspace_id: str) -> None:
    if WorkspaceRepository(conn).get(workspace_id) is None:
        raise NotFound(f"Workspace '{workspace_id}' not found")


user = UserService()
