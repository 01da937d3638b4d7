"""API keys (how they look, stored hashed and shown once), users: roles, what each role
may do, passwords and lockout; and a workspace's time zone."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from leadpipe.kit.ids import token

KEY_PREFIX = "lp_"
SCOPES = ("read", "write", "admin")


# -- workspaces ------------------------------------------------------------------------

# The zone a workspace's dates are shown and its date filters read in, until set (in its
# ``settings``): workspaces made before there was a setting keep showing UTC.
DEFAULT_TIME_ZONE = "UTC"


def time_zone_of(settings: Mapping[str, Any] | None) -> str:
    """The workspace's time zone (an IANA name), from its settings."""
    return str((settings or {}).get("time_zone") or DEFAULT_TIME_ZONE)


def time_zone_problem(name: str) -> str | None:
    """Why ``name`` cannot be a workspace's time zone, or None: an IANA name spelled as the
    time zone database spells it (``America/Chicago``, ``Europe/Berlin``, ``UTC``)."""
    try:
        if ZoneInfo(name).key == name:
            return None
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder's name
        pass
    return "is not a time zone: give an IANA name, e.g. America/Chicago"


def new_api_key() -> str:
    return token(KEY_PREFIX, 24)


def hash_api_key(key: str) -> str:
    # Keys are 192 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:10]


# -- users and their roles -------------------------------------------------------------

ROLES = ("owner", "admin", "agent", "viewer")

# What each role may do, on every entrance (dashboard and API alike): a viewer looks; an
# agent works leads (stage, activities, assignment to self, notes); an admin also manages
# the workspace (stages, webhooks, custom fields, settings); an owner also its members.
ACTIONS = {
    "view": frozenset({"owner", "admin", "agent", "viewer"}),
    "work_leads": frozenset({"owner", "admin", "agent"}),
    "manage_workspace": frozenset({"owner", "admin"}),
    "manage_members": frozenset({"owner"}),
}

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this bounds the work per attempt
# Repeated failed logins lock the account for a while: enough to stop guessing, short
# enough that a person who mistyped is not locked out for the day.
LOCK_AFTER_FAILURES = 5
LOCKED_FOR = timedelta(minutes=15)


def may(role: str, action: str) -> bool:
    """Whether a member with ``role`` may do ``action`` (one of ``ACTIONS``)."""
    return role in ACTIONS[action]


def role_problem(role: str) -> str | None:
    return None if role in ROLES else f"must be one of {', '.join(ROLES)}"


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters"
    return None


def user_email(raw: str) -> str:
    """The address a user signs in with, as stored: checked, and lower-cased so that
    ``Ann@Example.com`` and ``ann@example.com`` are one user. Raises ValueError."""
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return checked.normalized.lower()


def new_password() -> str:
    """A generated password, shown once: 128 random bits in 22 URL-safe characters."""
    return token("", 16)


def lock_after_failure(failures: int, now: datetime) -> datetime | None:
    """When an account with ``failures`` failed logins in a row is locked until, if it is."""
    return now + LOCKED_FOR if failures >= LOCK_AFTER_FAILURES else None


# -- dashboard sessions ----------------------------------------------------------------

SESSION_COOKIE = "leadpipe_session"
# A session lasts this long after its last use; in between, its row is refreshed at most
# once per SESSION_TOUCH_EVERY, so that browsing writes almost nothing.
SESSION_IDLE_LIFETIME = timedelta(days=14)
SESSION_TOUCH_EVERY = timedelta(minutes=5)


def new_session_token() -> str:
    """The cookie's value: 256 random bits; only its hash is stored."""
    return token("", 32)


def hash_session_token(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_csrf_token() -> str:
    return token("", 24)


def session_expires(now: datetime) -> datetime:
    return now + SESSION_IDLE_LIFETIME


def session_needs_touch(last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= SESSION_TOUCH_EVERY


def chosen_workspace(memberships: list[dict[str, str]], wanted: str | None) -> str | None:
    """The workspace a session shows: the one wanted when the user is a member there, else
    their first; None for a user of no workspace."""
    ids = [m["workspace_id"] for m in memberships]
    if wanted in ids:
        return wanted
    return ids[0] if ids else None


# -- the workspace's reasons for losing a lead -------------------------------------------

DEFAULT_LOST_REASONS = (
    "Price",
    "Went with a competitor",
    "No response",
    "Not qualified",
    "Bad data",
)
LOST_REASON_MAX = 100
LOST_REASONS_MAX = 30


def lost_reasons_of(settings: dict[str, object] | None) -> list[str]:
    """The reasons a workspace offers when a lead is lost: its own, else the defaults."""
    chosen = (settings or {}).get("lost_reasons")
    if isinstance(chosen, list) and chosen:
        return [str(r) for r in chosen]
    return list(DEFAULT_LOST_REASONS)


def parse_lost_reasons(text: str) -> tuple[list[str], str | None]:
    """One reason a line, blank lines and repeats dropped; what is wrong with them."""
    reasons = list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if not reasons:
        return [], "give at least one reason, one a line"
    if len(reasons) > LOST_REASONS_MAX:
        return [], f"at most {LOST_REASONS_MAX} reasons"
    if any(len(r) > LOST_REASON_MAX for r in reasons):
        return [], f"each reason at most {LOST_REASON_MAX} characters"
    return reasons, None
