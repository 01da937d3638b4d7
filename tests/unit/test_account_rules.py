"""Users' roles, passwords, emails and lockout: pure rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadpipe.accounts.passwords import hash_password, needs_rehash, verify_password
from leadpipe.accounts.rules import (
    ACTIONS,
    LOCK_AFTER_FAILURES,
    LOCKED_FOR,
    ROLES,
    lock_after_failure,
    may,
    new_password,
    password_problem,
    role_problem,
    user_email,
)

# The whole matrix, as the issue states it: a viewer changes nothing; an agent works
# leads; an admin manages the workspace; an owner also manages its members.
ALLOWED = {
    "owner": {"view", "work_leads", "manage_workspace", "manage_members"},
    "admin": {"view", "work_leads", "manage_workspace"},
    "agent": {"view", "work_leads"},
    "viewer": {"view"},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_role_may_do_exactly_its_actions(role: str, action: str) -> None:
    assert may(role, action) is (action in ALLOWED[role])


def test_only_the_four_roles_exist() -> None:
    assert [r for r in ROLES if role_problem(r) is None] == ["owner", "admin", "agent", "viewer"]
    assert role_problem("superuser") == "must be one of owner, admin, agent, viewer"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short", "must be at least 12 characters"),
        ("x" * 11, "must be at least 12 characters"),
        ("x" * 12, None),
        ("x" * 1025, "must be at most 1024 characters"),
    ],
)
def test_passwords_have_a_length(password: str, problem: str | None) -> None:
    assert password_problem(password) == problem


def test_generated_passwords_are_long_and_different() -> None:
    passwords = {new_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(password_problem(p) is None for p in passwords)


def test_a_password_is_stored_as_an_argon2id_hash_that_only_it_matches() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "correct horse battery!")
    assert not verify_password("not a hash", "correct horse battery")
    assert not needs_rehash(stored)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [(" Ann@Example.COM ", "ann@example.com"), ("bob@example.com", "bob@example.com")],
)
def test_a_user_signs_in_with_one_lower_cased_address(raw: str, stored: str) -> None:
    assert user_email(raw) == stored


@pytest.mark.parametrize("raw", ["", "ann", "ann@", "@example.com"])
def test_an_address_that_is_none_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        user_email(raw)


def test_an_account_locks_after_repeated_failures_for_a_while() -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert lock_after_failure(LOCK_AFTER_FAILURES - 1, now) is None
    assert lock_after_failure(LOCK_AFTER_FAILURES, now) == now + LOCKED_FOR
