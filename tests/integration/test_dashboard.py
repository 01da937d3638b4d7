"""The dashboard over HTTP: signing in and out, CSRF, roles, the lead table and sidebar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from leadpipe.accounts.service import user
from leadpipe.accounts.sessions import forget_expired_sessions
from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import (
    DashboardSession,
    Lead,
    LeadActivity,
    LeadStatusHistory,
    SavedView,
    User,
)
from tests.conftest import Tenant, make_tenant
from tests.integration.dashboard import PASSWORD, add_member, login_form_token, sign_in
from tests.integration.helpers import count, one
from tests.integration.test_lead_api import deliver


@pytest.fixture
async def lead_id(client: httpx.AsyncClient, tenant: Tenant) -> str:
    answer = await deliver(
        client,
        tenant,
        firstname="Ana",
        lastname="Lopez",
        phone_number="(512) 555-0142",
        email="ana@example.com",
        productid="Solar Panels",
        source="Facebook Ads",
    )
    return str(answer["lead_id"])


# -- signing in and out -----------------------------------------------------------------


async def test_signing_in_shows_the_leads_and_signing_out_ends_the_session(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    email = add_member(db, tenant.workspace_id, "agent")
    before = await client.get("/app")
    assert before.status_code == 303
    assert before.headers["location"].startswith("/login?next=")

    csrf = await sign_in(client, email)
    page = await client.get("/app")
    assert "Ana Lopez" in page.text
    assert f'id="lead-{lead_id}"' in page.text
    cookie = next(c for c in client.cookies.jar if c.name == "leadpipe_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite") == "lax"

    out = await client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert count(db, DashboardSession) == 0
    assert (await client.get("/app")).status_code == 303


async def test_a_stolen_cookie_is_worthless_after_sign_out(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    email = add_member(db, tenant.workspace_id, "agent")
    csrf = await sign_in(client, email)
    stolen = client.cookies.get("leadpipe_session")
    await client.post("/logout", data={"csrf_token": csrf})
    client.cookies.set("leadpipe_session", stolen or "")
    assert (await client.get("/app")).status_code == 303


async def test_wrong_passwords_get_one_answer_and_lock_the_account(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    email = add_member(db, tenant.workspace_id, "agent")
    answers = []
    for attempt in ["wrong-password-1", "nobody@example.com", *["wrong-password-2"] * 5]:
        form = await client.get("/login")
        address = attempt if "@" in attempt else email
        password = PASSWORD if "@" in attempt else attempt
        answer = await client.post(
            "/login",
            data={
                "email": address,
                "password": password,
                "login_token": login_form_token(form.text),
            },
        )
        answers.append((answer.status_code, "Wrong email or password" in answer.text))
    assert set(answers) == {(401, True)}
    # Locked now: the right password is refused too, with the same words.
    form = await client.get("/login")
    answer = await client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "login_token": login_form_token(form.text)},
    )
    assert answer.status_code == 401
    assert "Wrong email or password" in answer.text
    assert count(db, DashboardSession) == 0


async def test_the_sign_in_form_needs_its_own_token(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    """Another site cannot post the form to sign a visitor in as someone else."""
    email = add_member(db, tenant.workspace_id, "agent")
    answer = await client.post("/login", data={"email": email, "password": PASSWORD})
    assert answer.status_code == 401
    assert "expired" in answer.text
    assert count(db, DashboardSession) == 0


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
async def test_after_sign_in_only_our_own_pages_are_next(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, target: str
) -> None:
    email = add_member(db, tenant.workspace_id, "agent")
    form = await client.get("/login", params={"next": target})
    answer = await client.post(
        "/login",
        data={
            "email": email,
            "password": PASSWORD,
            "login_token": login_form_token(form.text),
            "next": target,
        },
    )
    assert answer.headers["location"] == "/app"


async def test_htmx_requests_of_the_signed_out_are_sent_to_sign_in(
    client: httpx.AsyncClient, lead_id: str
) -> None:
    answer = await client.get(f"/app/leads/{lead_id}", headers={"HX-Request": "true"})
    assert answer.headers["HX-Redirect"].startswith("/login?next=")


async def test_pages_carry_a_content_security_policy(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    policy = (await client.get("/app")).headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


# -- CSRF and roles ---------------------------------------------------------------------


async def test_a_change_without_its_csrf_token_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        answer = await client.post(
            f"/app/leads/{lead_id}/stage", data={"stage": "qualified"}, headers=headers
        )
        assert answer.status_code == 403
    assert one(db, Lead)["stage"] == "new"


async def _act(
    client: httpx.AsyncClient, csrf: str, action: str, lead_id: str, me: str, other: str
) -> httpx.Response:
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    posts: dict[str, tuple[str, dict[str, Any]]] = {
        "stage": (f"/app/leads/{lead_id}/stage", {"stage": "qualified"}),
        "activity": (
            f"/app/leads/{lead_id}/activities",
            {"activity_type": "call", "title": "Called", "outcome": "positive"},
        ),
        "assign_self": (f"/app/leads/{lead_id}/assign", {"assigned_user_id": me}),
        "assign_other": (f"/app/leads/{lead_id}/assign", {"assigned_user_id": other}),
    }
    if action == "view":
        return await client.get(f"/app/leads/{lead_id}", headers=headers)
    path, data = posts[action]
    return await client.post(path, data=data, headers=headers)


ROLE_MATRIX = {
    # action: the roles that may do it
    "view": {"owner", "admin", "agent", "viewer"},
    "stage": {"owner", "admin", "agent"},
    "activity": {"owner", "admin", "agent"},
    "assign_self": {"owner", "admin", "agent"},
    "assign_other": {"owner", "admin"},
}


@pytest.mark.parametrize("role", ["owner", "admin", "agent", "viewer"])
async def test_every_role_may_do_what_its_role_allows_and_nothing_else(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str, role: str
) -> None:
    email = add_member(db, tenant.workspace_id, role, email=f"{role}-acting@example.com")
    other_email = add_member(db, tenant.workspace_id, "agent", email="colleague@example.com")
    csrf = await sign_in(client, email)
    ids = {
        r["email"]: str(r["id"])
        for r in [one(db, User, email=address) for address in (email, other_email)]
    }
    for action, allowed in ROLE_MATRIX.items():
        before = _lead_state(db)
        answer = await _act(client, csrf, action, lead_id, ids[email], ids[other_email])
        if role in allowed:
            assert answer.status_code == 200, (role, action, answer.text)
        else:
            assert answer.status_code == 403, (role, action, answer.text)
            assert answer.json()["code"] == "FORBIDDEN"
            assert _lead_state(db) == before, (role, action)


def _lead_state(db: Database) -> tuple[Any, ...]:
    lead = one(db, Lead)
    return (lead["stage"], lead["assigned_user_id"], count(db, LeadActivity))


async def test_a_stage_change_goes_through_the_lead_lifecycle(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    answer = await client.post(
        f"/app/leads/{lead_id}/stage",
        data={"stage": "won"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert answer.headers["HX-Trigger"] == "leadChanged"
    lead = one(db, Lead)
    assert (lead["stage"], bool(lead["is_converted"])) == ("won", True)
    history = one(db, LeadStatusHistory, new_stage="won")
    assert (history["old_stage"], history["new_stage"]) == ("new", "won")
    assert history["changed_by"].startswith("user:")
    assert "Won" in answer.text


async def test_an_activity_from_the_sidebar_lands_on_the_timeline(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    answer = await client.post(
        f"/app/leads/{lead_id}/activities",
        data={
            "activity_type": "meeting",
            "title": "Site visit",
            "outcome": "positive",
            "duration_minutes": "45",
            "next_step": "Send the proposal",
        },
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert answer.status_code == 200
    entry = one(db, LeadActivity, activity_type="meeting")
    assert (entry["title"], entry["outcome"], entry["duration_minutes"]) == (
        "Site visit",
        "positive",
        45,
    )
    assert "Send the proposal" in answer.text


async def test_an_invalid_activity_is_refused_with_the_field_named(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    answer = await client.post(
        f"/app/leads/{lead_id}/activities",
        data={"activity_type": "call", "duration_minutes": "-5"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert answer.status_code == 400
    assert answer.json()["details"][0]["field"] == "duration_minutes"
    assert count(db, LeadActivity, activity_type="call") == 0


async def test_an_assignee_must_be_a_user_of_the_workspace(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    outsider = make_tenant(db, workspace_id="elsewhere")
    add_member(db, outsider.workspace_id, "agent", email="outsider@example.com")
    outsider_id = one(db, User, email="outsider@example.com")["id"]
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    answer = await client.post(
        f"/app/leads/{lead_id}/assign",
        data={"assigned_user_id": str(outsider_id)},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert answer.status_code == 400
    assert one(db, Lead)["assigned_user_id"] is None


# -- what the pages show ----------------------------------------------------------------


async def test_names_are_shown_as_text_never_as_markup(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    answer = await deliver(
        client,
        tenant,
        firstname="<script>alert(1)</script>",
        lastname="<b>Bold</b>",
        email="x@example.com",
        productid="<img src=x onerror=alert(2)>",
    )
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    for path in ("/app", f"/app/leads/{answer['lead_id']}"):
        text = (await client.get(path)).text
        assert "<script>alert(1)</script>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "<img src=x" not in text


async def test_the_table_filters_searches_sorts_and_pages(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    for i in range(7):
        await deliver(
            client,
            tenant,
            firstname=f"Person{i}",
            lastname="Test",
            phone_number=f"(512) 555-01{i:02d}",
            productid="Roofing" if i % 2 else "Solar Panels",
            source="Google Ads" if i < 3 else "Website",
        )
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))

    async def names(**params: str) -> list[str]:
        text = (await client.get("/app", params=params)).text
        return [n for n in (f"Person{i} Test" for i in range(7)) if n in text]

    assert len(await names()) == 7
    assert await names(product="Roofing") == ["Person1 Test", "Person3 Test", "Person5 Test"]
    assert await names(source="google ads") == ["Person0 Test", "Person1 Test", "Person2 Test"]
    assert await names(q="1-512-555-0104") == ["Person4 Test"]
    assert await names(q="person6") == ["Person6 Test"]
    assert await names(assignee="none") == [f"Person{i} Test" for i in range(7)]
    assert await names(idle_days="3") == []
    assert await names(created_from="2001-01-01", created_to="2001-12-31") == []
    page_two = (await client.get("/app", params={"size": "25", "page": "2"})).text
    assert "Person0 Test" not in page_two
    assert "Nothing on page 2: 7 leads in all" in page_two
    ignored = (await client.get("/app", params={"priority": "sky-high"})).text
    assert "Ignored: priority" in ignored


async def test_a_row_is_served_for_live_updates_only_while_it_matches(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    row = await client.get(f"/app/leads/{lead_id}/row")
    assert row.status_code == 200
    assert row.text.strip().startswith(f'<tr id="lead-{lead_id}"')
    assert (
        await client.get(f"/app/leads/{lead_id}/row", params={"stage": "won"})
    ).status_code == 204


async def test_the_sidebar_says_why_intake_opened_the_lead(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    text = (await client.get(f"/app/leads/{lead_id}")).text
    assert "Why intake did this" in text
    assert "no_matching_lead" in text
    assert "disabled" in text  # a viewer's stage selector


async def test_another_workspaces_lead_is_not_found(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    other = make_tenant(db, workspace_id="other")
    theirs = await deliver(client, other, firstname="Zed", email="zed@example.com", productid="X")
    await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    answer = await client.get(f"/app/leads/{theirs['lead_id']}")
    assert answer.status_code == 404
    assert "Zed" not in (await client.get("/app")).text


async def test_an_unknown_dashboard_address_shows_the_error_page_to_a_browser(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    answer = await client.get("/app/no-such-page", headers=browser)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "Not found" in answer.text
    assert "There is no page at this address" in answer.text
    assert 'href="/app"' in answer.text  # a way back
    # A script or htmx asking the same address keeps the JSON envelope.
    scripted = await client.get("/app/no-such-page")
    assert scripted.status_code == 404
    assert scripted.json()["code"] == "NOT_FOUND"
    htmx = await client.get("/app/no-such-page", headers={**browser, "HX-Request": "true"})
    assert htmx.headers["content-type"].startswith("application/json")
    # Outside the dashboard, an unknown address is the API's 404 for everyone.
    api = await client.get("/api/v3/no-such-thing", headers=browser)
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/json")


async def test_a_member_of_two_workspaces_switches_between_them(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    other = make_tenant(db, workspace_id="second")
    await deliver(client, other, firstname="Bea", email="bea@example.com", productid="HVAC")
    email = add_member(db, tenant.workspace_id, "agent")
    with db.transaction() as conn:
        user.set_role(conn, email=email, workspace_id="second", role="viewer")
    csrf = await sign_in(client, email)
    first = (await client.get("/app")).text
    assert "Ana Lopez" in first
    assert 'name="workspace_id"' in first

    await client.post("/app/workspace", data={"workspace_id": "second", "csrf_token": csrf})
    second = (await client.get("/app")).text
    assert "Bea" in second
    assert "Ana Lopez" not in second
    refused = await client.post(
        "/app/workspace", data={"workspace_id": "nobody-here", "csrf_token": csrf}
    )
    assert refused.status_code == 404


async def test_saved_views_are_the_users_own(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    saved = await client.post(
        "/app/views",
        data={"name": "Hot solar", "temperature": "hot", "product": "Solar", "csrf_token": csrf},
    )
    assert saved.status_code == 303
    assert "temperature=hot" in saved.headers["location"]
    assert "Hot solar" in (await client.get("/app")).text
    view = one(db, SavedView)
    assert "product=Solar" in view["query"]

    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        await sign_in(other, add_member(db, tenant.workspace_id, "agent"))
        assert "Hot solar" not in (await other.get("/app")).text
    await client.post(f"/app/views/{view['id']}/delete", data={"csrf_token": csrf})
    assert count(db, SavedView) == 0


async def test_the_session_cookie_is_secure_behind_https(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    """Behind a proxy that ends TLS, the public URL says https: the cookie is Secure."""
    behind_tls = settings.model_copy(update={"public_url": "https://leads.example.com"})
    app = create_app(behind_tls, db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        email = add_member(db, tenant.workspace_id, "agent")
        form = await client.get("/login")
        answer = await client.post(
            "/login",
            data={"email": email, "password": PASSWORD, "login_token": login_form_token(form.text)},
        )
    assert "secure" in answer.headers["set-cookie"].lower()
    assert "httponly" in answer.headers["set-cookie"].lower()


async def test_an_idle_session_expires_and_is_forgotten(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    with db.transaction() as conn:
        conn.execute(
            update(table_of(DashboardSession)).values(
                expires_at=datetime.now(UTC) - timedelta(minutes=1)
            )
        )
    assert (await client.get("/app")).status_code == 303
    assert forget_expired_sessions(db) == 1
    assert count(db, DashboardSession) == 0


async def test_a_user_changes_their_password_and_their_other_sessions_end(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    email = add_member(db, tenant.workspace_id, "agent")
    other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with other:
        await sign_in(other, email)
        csrf = await sign_in(client, email)
        form = {"csrf_token": csrf, "current_password": "wrong-password-entirely"}
        wrong = await client.post(
            "/app/account/password",
            data={
                **form,
                "new_password": "a-brand-new-password",
                "repeat_password": "a-brand-new-password",
            },
            headers={"HX-Request": "true"},
        )
        assert wrong.status_code == 400
        assert wrong.json()["details"][0]["field"] == "current_password"
        changed = await client.post(
            "/app/account/password",
            data={
                **form,
                "current_password": PASSWORD,
                "new_password": "a-brand-new-password",
                "repeat_password": "a-brand-new-password",
            },
        )
        assert changed.status_code == 303
        assert (await client.get("/app")).status_code == 200  # this session stays
        assert (await other.get("/app")).status_code == 303  # the other one ended
    await client.post("/logout", data={"csrf_token": csrf})
    await sign_in(client, email, "a-brand-new-password")


async def test_pages_and_assets_are_compressed_and_versioned_assets_cached_for_a_year(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, lead_id: str
) -> None:
    await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    gzip = {"Accept-Encoding": "gzip"}
    page = await client.get("/app", headers=gzip)
    assert page.headers["content-encoding"] == "gzip"
    assert page.headers["cache-control"] == "no-store"  # a page is never served stale
    assert "<html" in page.text  # httpx unpacks it, as a browser does
    versioned = await client.get(
        "/assets/app.js", params={"v": "1"}, headers={**gzip, "Accept": "*/*"}
    )
    assert versioned.headers["content-encoding"] == "gzip"
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    vendored = await client.get("/static/vendor/htmx-2.0.11/htmx.min.js", headers=gzip)
    assert vendored.headers["cache-control"] == "public, max-age=31536000, immutable"
    # Without a version in its address an asset may change: the browser asks again.
    plain = await client.get("/assets/app.js", headers=gzip)
    assert "immutable" not in plain.headers.get("cache-control", "")
    # The API answers programs as they are: no CPU spent on compressing them.
    api = await client.get("/api/v3/leads", headers={**gzip, "X-API-Key": tenant.api_key})
    assert api.status_code == 200
    assert "content-encoding" not in api.headers
    # A CSV export streams as it is read (its concurrency cap depends on it).
    export = await client.get("/app/export.csv", headers=gzip)
    assert export.status_code == 200
    assert "content-encoding" not in export.headers
