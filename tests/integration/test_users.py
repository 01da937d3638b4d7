"""Dashboard users and their workspace roles, on SQLite and PostgreSQL: created with an
argon2 hash, one user per address, roles checked, passwords reset; and from the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from leadpipe.accounts.passwords import verify_password
from leadpipe.accounts.repository import MEMBERS
from leadpipe.accounts.rules import LOCK_AFTER_FAILURES, LOCKED_FOR
from leadpipe.accounts.service import user
from leadpipe.cli import app
from leadpipe.config import get_settings
from leadpipe.errors import Conflict, NotFound, ValidationFailed
from leadpipe.kit.clock import utcnow
from leadpipe.storage.engine import Database
from leadpipe.storage.models import User
from tests.conftest import Settings, Tenant
from tests.integration.helpers import count, one


def _memberships(db: Database) -> list[tuple[str, str]]:
    with db.transaction(write=False) as conn:
        found = conn.execute(select(MEMBERS.c.workspace_id, MEMBERS.c.role)).all()
    return [(workspace_id, role) for workspace_id, role in found]


def test_a_user_is_stored_with_a_hash_and_a_role(db: Database, tenant: Tenant) -> None:
    with db.transaction() as conn:
        created = user.create(
            conn,
            email=" Ann@Example.com",
            name="Ann",
            workspace_id=tenant.workspace_id,
            role="agent",
        )

    assert created.email == "ann@example.com"
    assert created.password is not None  # generated, shown once
    stored = one(db, User, email="ann@example.com")
    assert stored["password_hash"].startswith("$argon2id$")
    assert created.password not in stored["password_hash"]
    assert verify_password(stored["password_hash"], created.password)
    assert _memberships(db) == [(tenant.workspace_id, "agent")]


def test_one_address_is_one_user_whatever_its_case(db: Database, tenant: Tenant) -> None:
    with db.transaction() as conn:
        user.create(conn, email="ann@example.com", password="a long password 1")
    with pytest.raises(Conflict), db.transaction() as conn:
        user.create(conn, email="ANN@example.com", password="a long password 2")
    assert count(db, User) == 1


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"email": "not an address"}, ValidationFailed),
        ({"password": "too short"}, ValidationFailed),
        ({"role": "superuser"}, ValidationFailed),
        ({"workspace_id": "nowhere"}, NotFound),
    ],
)
def test_a_refused_user_leaves_nothing_behind(
    db: Database, tenant: Tenant, changes: dict[str, str], error: type[Exception]
) -> None:
    fields = {"email": "bob@example.com", "workspace_id": tenant.workspace_id, "role": "viewer"}
    with pytest.raises(error), db.transaction() as conn:
        user.create(conn, **{**fields, **changes})  # type: ignore[arg-type]
    assert count(db, User) == 0
    assert _memberships(db) == []


def test_a_role_changes_and_a_second_workspace_joins(db: Database, tenant: Tenant) -> None:
    other = Tenant("other", "", "")
    with db.transaction() as conn:
        from leadpipe.accounts.service import account

        account.create_workspace(conn, name="Other", workspace_id=other.workspace_id)
        user.create(conn, email="ann@example.com", workspace_id=tenant.workspace_id, role="agent")
        user.set_role(conn, email="ann@example.com", workspace_id=tenant.workspace_id, role="admin")
        user.set_role(conn, email="ann@example.com", workspace_id="other", role="viewer")
        memberships = user.memberships(conn, "Ann@example.com")

    assert sorted((m["workspace_id"], m["role"]) for m in memberships) == [
        (tenant.workspace_id, "admin"),
        ("other", "viewer"),
    ]


def test_a_reset_password_replaces_the_old_one_and_lifts_a_lockout(
    db: Database, tenant: Tenant
) -> None:
    with db.transaction() as conn:
        user.create(conn, email="ann@example.com", password="the old password")
    with db.transaction() as conn:
        from leadpipe.accounts.repository import UserRepository

        ann = UserRepository(conn).by_email("ann@example.com")
        assert ann is not None
        UserRepository(conn).change(
            ann["id"], {"failed_logins": 5, "locked_until": utcnow() + timedelta(minutes=15)}
        )
        new = user.reset_password(conn, email="ann@example.com")

    stored = one(db, User, email="ann@example.com")
    assert new is not None
    assert verify_password(stored["password_hash"], new)
    assert not verify_password(stored["password_hash"], "the old password")
    assert (stored["failed_logins"], stored["locked_until"]) == (0, None)


class TestCommands:
    @pytest.fixture
    def runner(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
        monkeypatch.setenv("LEADPIPE_DATABASE_URL", f"sqlite:///{tmp_path}/users.db")
        get_settings.cache_clear()
        runner = CliRunner()
        assert runner.invoke(app, ["workspace", "create", "Sunny", "--id", "39135"]).exit_code == 0
        yield runner
        get_settings.cache_clear()

    def test_create_then_reset_a_users_password(self, runner: CliRunner, tmp_path: Path) -> None:
        created = runner.invoke(
            app, ["user", "create", "ann@example.com", "--workspace", "39135", "--role", "admin"]
        )
        assert created.exit_code == 0, created.output
        assert "ann@example.com (admin of 39135)" in created.output
        first = created.output.split("Password (shown once): ")[1].split()[0]

        reset = runner.invoke(app, ["user", "reset-password", "ann@example.com"])
        assert reset.exit_code == 0, reset.output
        second = reset.output.split("New password (shown once): ")[1].split()[0]

        again = runner.invoke(app, ["user", "create", "ANN@example.com", "--workspace", "39135"])
        assert again.exit_code != 0
        assert "already exists" in again.output
        db = Database.from_settings(Settings(database_url=f"sqlite:///{tmp_path}/users.db"))
        try:
            stored = one(db, User, email="ann@example.com")["password_hash"]
            assert verify_password(stored, second)
            assert not verify_password(stored, first)
        finally:
            db.dispose()

    def test_a_role_that_does_not_exist_is_refused(self, runner: CliRunner) -> None:
        refused = runner.invoke(
            app, ["user", "create", "ann@example.com", "--workspace", "39135", "--role", "god"]
        )
        assert refused.exit_code != 0
        assert "role: must be one of owner, admin, agent, viewer" in refused.output


class TestSignIn:
    @pytest.fixture
    def ann(self, db: Database, tenant: Tenant) -> str:
        with db.transaction() as conn:
            user.create(
                conn,
                email="ann@example.com",
                password="the right password",
                workspace_id=tenant.workspace_id,
                role="agent",
            )
        return "ann@example.com"

    def _sign_in(self, db: Database, password: str, email: str = "Ann@example.com") -> Any:
        with db.transaction() as conn:
            return user.authenticate(conn, email=email, password=password)

    def test_the_right_password_signs_in_with_the_users_workspaces(
        self, db: Database, tenant: Tenant, ann: str
    ) -> None:
        signed_in = self._sign_in(db, "the right password")
        assert signed_in["email"] == ann
        assert [(m["workspace_id"], m["role"]) for m in signed_in["memberships"]] == [
            (tenant.workspace_id, "agent")
        ]
        assert one(db, User, email=ann)["last_login_at"] is not None

    @pytest.mark.parametrize(
        ("email", "password"),
        [("ann@example.com", "a wrong password"), ("nobody@example.com", "the right password")],
    )
    def test_a_wrong_password_and_an_unknown_address_look_alike(
        self, db: Database, ann: str, email: str, password: str
    ) -> None:
        assert self._sign_in(db, password, email) is None

    def test_repeated_failures_lock_the_account_even_for_the_right_password(
        self, db: Database, ann: str
    ) -> None:
        for _ in range(LOCK_AFTER_FAILURES):
            assert self._sign_in(db, "a wrong password") is None
        assert self._sign_in(db, "the right password") is None
        assert one(db, User, email=ann)["locked_until"] is not None

        with db.transaction() as conn:
            user.reset_password(conn, email=ann, password="a brand new password")
        assert self._sign_in(db, "a brand new password")["email"] == ann
        assert one(db, User, email=ann)["failed_logins"] == 0

    def test_a_lock_ends_by_itself(self, db: Database, ann: str) -> None:
        for _ in range(LOCK_AFTER_FAILURES):
            assert self._sign_in(db, "a wrong password") is None
        later = utcnow() + LOCKED_FOR + timedelta(seconds=1)
        with db.transaction() as conn:
            signed_in = user.authenticate(conn, email=ann, password="the right password", now=later)
        assert signed_in is not None
        assert signed_in["failed_logins"] == 0
