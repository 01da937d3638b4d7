"""First start: migrate, and give a newcomer a workspace, a webhook and a key to try, and
an owner to sign in with."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from sqlalchemy import Connection, select

from leadpipe.accounts.repository import UserRepository, WorkspaceRepository
from leadpipe.accounts.rules import user_email
from leadpipe.accounts.service import CreatedUser, account, user
from leadpipe.config import Settings
from leadpipe.intake.line import forget_expired_deliveries
from leadpipe.storage import migrate
from leadpipe.storage.engine import Database
from leadpipe.webhooks.repository import WEBHOOKS
from leadpipe.webhooks.service import webhook

DEFAULT_WORKSPACE = "default"

log = logging.getLogger("leadpipe")


@dataclass(frozen=True, slots=True)
class Started:
    workspace_id: str
    webhook_id: str | None
    api_key: str | None  # only on the very first start: keys are stored hashed
    first_start: bool
    owner: CreatedUser | None = None  # made when no workspace had an owner yet


def prepare(
    db: Database,
    settings: Settings,
    *,
    workspace_id: str | None = None,
    owner_password: str | None = None,
) -> Started:
    """Migrate, and return the workspace to start in: ``workspace_id`` (which must exist,
    e.g. the demo's), with the configured owner as its owner; or else the first one (made
    when there is none), with an owner made when no workspace has one.
    ``owner_password`` is an owner's password when one is made and
    LEADPIPE_OWNER_PASSWORD is unset (the demo's, so that one password signs everyone in)."""
    migrate.upgrade(db.engine)
    if migrate.autovacuum_is_off(db.engine):
        log.warning(
            "PostgreSQL's autovacuum is off: run ANALYZE regularly (after the first "
            "thousands of leads, then daily), or searches and intake slow down as data grows"
        )
    # Delivery ids only matter inside the idempotency window; each start sweeps the rest
    # (and a running server every hour).
    forget_expired_deliveries(db, idempotency_days=settings.idempotency_window_days)
    password = settings.owner_password or owner_password
    with db.transaction() as conn:
        if workspace_id is not None:
            owner = owner_of(conn, settings.owner_email, workspace_id, password)
            return Started(workspace_id, first_webhook(conn, workspace_id), None, False, owner)
        started = _first_workspace(conn)
        users = UserRepository(conn)
        # The first start, or a start after `leadpipe demo` made its team: someone must
        # be able to sign in and manage the members.
        if users.no_owner_yet() and users.by_email(user_email(settings.owner_email)) is None:
            owner = user.create(
                conn,
                email=settings.owner_email,
                name="Owner",
                password=password,
                workspace_id=started.workspace_id,
                role="owner",
            )
            started = dataclasses.replace(started, owner=owner)
    return started


def owner_of(
    conn: Connection, email: str, workspace_id: str, password: str | None
) -> CreatedUser | None:
    """Make the user with ``email`` an owner of the workspace: made with ``password``
    (generated when None) when there is no such user, and then returned; an existing
    user keeps their password and sign-ins, and becomes (or stays) its owner."""
    found = UserRepository(conn).by_email(user_email(email))
    if found is None:
        return user.create(
            conn,
            email=email,
            name="Owner",
            password=password,
            workspace_id=workspace_id,
            role="owner",
        )
    user.set_role(conn, email=email, workspace_id=workspace_id, role="owner")
    return None


def _first_workspace(conn: Connection) -> Started:
    """The workspace a newcomer starts in: the first one, or a new one with a webhook and
    an API key to try."""
    existing = WorkspaceRepository(conn).first()
    if existing is not None:
        return Started(existing.id, first_webhook(conn, existing.id), None, first_start=False)
    workspace_id = account.create_workspace(
        conn, name="Default workspace", workspace_id=DEFAULT_WORKSPACE
    )
    webhook_id = webhook.create(conn, workspace_id=workspace_id, name="Website leads")
    key = account.create_api_key(conn, workspace_id=workspace_id, name="First key")
    return Started(workspace_id, webhook_id, key.key, first_start=True)


def first_webhook(conn: Connection, workspace_id: str) -> str | None:
    """The workspace's oldest active webhook: the one the welcome's curl posts to."""
    found: str | None = conn.execute(
        select(WEBHOOKS.c.id)
        .where(WEBHOOKS.c.workspace_id == workspace_id, WEBHOOKS.c.is_active)
        .order_by(WEBHOOKS.c.created_at)
        .limit(1)
    ).scalar_one_or_none()
    return found
