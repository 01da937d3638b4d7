"""Signing in and out, switching workspaces, and the user's own account."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from leadpipe.accounts.service import user
from leadpipe.accounts.sessions import session
from leadpipe.deps import DASHBOARD_TAG, DatabaseDep
from leadpipe.errors import ValidationFailed, field_error
from leadpipe.kit.urls import same_site_path
from leadpipe.realtime.events import user_revoked
from leadpipe.realtime.hub import publish
from leadpipe.web.auth import (
    SignedInUser,
    clear_session_cookie,
    current_session,
    over_https,
    set_session_cookie,
)
from leadpipe.web.forms import form_values
from leadpipe.web.render import page, redirect
from leadpipe.web.tables import memberships_of

router = APIRouter(tags=[DASHBOARD_TAG], include_in_schema=False)

LOGIN_CSRF_COOKIE = "leadpipe_login"


# -- signing in ----------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, db: DatabaseDep) -> Response:
    who = await current_session(request, db)
    return redirect("/app" if who else "/login", request)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, db: DatabaseDep) -> Response:
    if await current_session(request, db) is not None:
        return redirect(same_site_path(request.query_params.get("next")), request)
    return _login_page(request, error=None)


def _login_page(request: Request, error: str | None, email: str = "") -> Response:
    # Signing in changes who the browser is: the form carries a token of its own, matched
    # with a cookie, so that another site cannot sign a visitor in as someone else.
    token = secrets.token_urlsafe(24)
    response = page(
        request,
        "login.html",
        {
            "login_token": token,
            "error": error,
            "email": email,
            "next": same_site_path(request.query_params.get("next")),
        },
        status_code=401 if error else 200,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=over_https(request),
        path="/login",
    )
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, db: DatabaseDep) -> Response:
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    sent, expected = str(form.get("login_token", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(sent, expected):
        return _login_page(request, "This form has expired; try again.", email)

    def sign_in(conn: Connection) -> str | None:
        found = user.authenticate(conn, email=email, password=password)
        return session.open(conn, signed_in_user=found) if found is not None else None

    value = await db.write(sign_in)
    if value is None:
        # One answer for every refusal: which addresses exist is nobody's business.
        return _login_page(
            request, "Wrong email or password, or the account is locked for now.", email
        )
    response = redirect(same_site_path(str(form.get("next", ""))), request)
    set_session_cookie(request, response, value)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, who: SignedInUser, db: DatabaseDep) -> Response:
    await db.write(lambda conn: session.close(conn, who.session_id))
    publish(request.app, [user_revoked(who.user_id)])  # the session's live sockets close
    response = redirect("/login", request)
    clear_session_cookie(response)
    return response


@router.post("/app/workspace")
async def switch_workspace(request: Request, who: SignedInUser, db: DatabaseDep) -> Response:
    wanted = (await form_values(request)).get("workspace_id", "")
    await db.write(lambda conn: session.switch(conn, who, wanted))
    return redirect("/app", request)


# -- the user's own account --------------------------------------------------------------


@router.get("/app/account", response_class=HTMLResponse)
async def account_page(request: Request, who: SignedInUser, db: DatabaseDep) -> Response:
    memberships = await db.read(lambda conn: memberships_of(conn, who))
    return page(
        request,
        "account.html",
        {"memberships": memberships, "changed": request.query_params.get("changed") == "1"},
    )


@router.post("/app/account/sign-out-everywhere")
async def sign_out_everywhere(request: Request, who: SignedInUser, db: DatabaseDep) -> Response:
    signed_out = await db.write(lambda conn: user.sign_out_everywhere(conn, who.user_id))
    publish(request.app, [signed_out])  # every session's live sockets close
    response = redirect("/login", request)
    clear_session_cookie(response)
    return response


@router.post("/app/account/password")
async def change_password(request: Request, who: SignedInUser, db: DatabaseDep) -> Response:
    values = await form_values(request)
    new = values.get("new_password", "")
    if new != values.get("repeat_password", ""):
        raise ValidationFailed(
            "Password not changed", [field_error("repeat_password", "does not match")]
        )

    def change(conn: Connection) -> None:
        user.change_password(
            conn,
            user_id=who.user_id,
            current=values.get("current_password", ""),
            new=new,
            keep_session=who.session_id,
        )

    await db.write(change)
    publish(request.app, [user_revoked(who.user_id)])  # so do the other sessions' sockets
    return redirect("/app/account?changed=1", request)
