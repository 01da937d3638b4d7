"""Who a dashboard request is from: the session cookie, CSRF on every change, and the
role checks (``accounts.rules.may``) that every page and action goes through."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from leadpipe.accounts.rules import SESSION_COOKIE, SESSION_IDLE_LIFETIME, may
from leadpipe.accounts.sessions import SignedIn, session
from leadpipe.deps import DatabaseDep
from leadpipe.errors import Forbidden, LeadpipeError
from leadpipe.storage.engine import workspace_scope

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInRequired(LeadpipeError):
    """Answered with a redirect to the sign-in page (or, for htmx, an HX-Redirect)."""

    code = "UNAUTHORIZED"
    status_code = 401


class NoWorkspace(LeadpipeError):
    code = "FORBIDDEN"
    status_code = 403


def sign_in_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"


def over_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS: directly, or through a proxy that ends
    TLS in front of a server whose public URL is https (``LEADPIPE_PUBLIC_URL``)."""
    public_url: str = request.app.state.settings.public_url
    return request.url.scheme == "https" or public_url.startswith("https://")


def set_session_cookie(request: Request, response: object, value: str) -> None:
    """HttpOnly (no script reads it), SameSite=Lax (no cross-site POST carries it), and
    Secure when the dashboard is reached over HTTPS."""
    response.set_cookie(  # type: ignore[attr-defined]
        SESSION_COOKIE,
        value,
        max_age=int(SESSION_IDLE_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=over_https(request),
        path="/",
    )


def clear_session_cookie(response: object) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")  # type: ignore[attr-defined]


async def current_session(request: Request, db: DatabaseDep) -> SignedIn | None:
    value = request.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    found = await db.lookup(lambda conn: session.find(conn, value))
    if found is not None and found.needs_touch:
        await db.write(lambda conn: session.touch(conn, found.session_id))
    return found


async def signed_in(request: Request, db: DatabaseDep) -> SignedIn:
    """The signed-in user, their workspace bound to the request (row-level security on
    PostgreSQL), and, for a change, its CSRF token checked."""
    who = await current_session(request, db)
    if who is None:
        raise SignInRequired("Sign in to continue")
    if request.method in CHANGES:
        await _check_csrf(request, who)
    request.state.signed_in = who
    if who.workspace_id is not None:
        workspace_scope.set(who.workspace_id)
    return who


async def _check_csrf(request: Request, who: SignedIn) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not sent or not secrets.compare_digest(sent, who.csrf_token):
        raise Forbidden("This form has expired; reload the page and try again")


def member(action: str = "view") -> object:
    """A dependency: the signed-in user, who must be allowed ``action`` in their
    workspace."""

    async def check(who: Annotated[SignedIn, Depends(signed_in)]) -> SignedIn:
        if who.workspace_id is None or who.role is None:
            raise NoWorkspace("You are not a member of any workspace; ask an owner to add you")
        if not may(who.role, action):
            raise Forbidden(f"Your role ({who.role}) may not do this")
        return who

    return Depends(check)


Viewer = Annotated[SignedIn, member("view")]
Agent = Annotated[SignedIn, member("work_leads")]
Admin = Annotated[SignedIn, member("manage_workspace")]
Owner = Annotated[SignedIn, member("manage_members")]
SignedInUser = Annotated[SignedIn, Depends(signed_in)]
