"""Signing in to the dashboard from tests, as a browser does: through the sign-in form."""

from __future__ import annotations

import re

import httpx

from leadpipe.accounts.service import user
from leadpipe.storage.engine import Database

PASSWORD = "a-long-enough-password"
_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def add_member(db: Database, workspace_id: str, role: str, email: str | None = None) -> str:
    """A user with ``role`` in the workspace; their email."""
    address = email or f"{role}@example.com"
    with db.transaction() as conn:
        user.create(
            conn,
            email=address,
            name=role.capitalize(),
            password=PASSWORD,
            workspace_id=workspace_id,
            role=role,
        )
    return address


def login_form_token(text: str) -> str:
    found = _LOGIN_TOKEN.search(text)
    assert found, "the sign-in form carries its token"
    return found.group(1)


def csrf_of(text: str) -> str:
    found = _CSRF.search(text)
    assert found, "a signed-in page carries the CSRF token"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """Signs ``client`` in (its cookie jar keeps the session); the page's CSRF token."""
    form = await client.get("/login")
    answer = await client.post(
        "/login",
        data={"email": email, "password": password, "login_token": login_form_token(form.text)},
    )
    assert answer.status_code == 303, answer.text
    page = await client.get("/app")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)
