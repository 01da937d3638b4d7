"""URLs from users and payloads are followed or linked only when they are safe: ``next=``
after sign-in only to a path of this site, links and redirects only to http(s)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead, Webhook
from tests.conftest import Tenant
from tests.integration.dashboard import PASSWORD, add_member, login_form_token, sign_in
from tests.integration.helpers import one
from tests.integration.test_lead_api import auth

OFF_SITE = [
    "//evil.example",
    "/\\evil.example",
    "/%5Cevil.example",
    "/%2F/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\nSet-Cookie: x=1",
    "https://evil.example/app",
    "http:evil.example",
    "javascript:alert(1)",
    "\\\\evil.example",
    "/app/caf\u00e9",
]


@pytest.mark.parametrize("target", OFF_SITE)
async def test_signing_in_never_sends_the_user_off_site(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, target: str
) -> None:
    email = add_member(db, tenant.workspace_id, "agent")
    form = await client.get("/login", params={"next": target})
    assert form.status_code == 200
    answer = await client.post(
        "/login",
        data={
            "email": email,
            "password": PASSWORD,
            "login_token": login_form_token(form.text),
            "next": target,
        },
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/app")

    signed_in = await client.get("/login", params={"next": target})
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/app")


async def test_a_path_of_this_site_is_still_where_sign_in_goes(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    answer = await client.get("/login", params={"next": "/app/pipeline?x=1"})
    assert answer.headers["location"] == "/app/pipeline?x=1"


async def test_a_javascript_trustedform_url_is_kept_but_never_a_link(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    answer = await client.post(
        tenant.url,
        json={
            "phone": "5125550190",
            "product": "Solar",
            "consent": True,
            "xxTrustedFormCertUrl": "javascript:alert(document.cookie)",
        },
    )
    assert answer.status_code == 200, answer.text
    lead = one(db, Lead, id=answer.json()["lead_id"])
    assert lead["consent_proof"]["trustedform_cert_url"] == "javascript:alert(document.cookie)"

    await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    sidebar = await client.get(f"/app/leads/{lead['id']}")
    assert "TrustedForm" in sidebar.text
    assert 'href="javascript:' not in sidebar.text
    assert "javascript:alert(document.cookie)" in sidebar.text  # shown as text


@pytest.mark.parametrize(
    "redirect_url", ["javascript:alert(1)", "data:text/html,hi", "/relative", "ftp://x.example"]
)
async def test_a_form_webhook_takes_only_an_http_thank_you_page(
    client: httpx.AsyncClient, tenant: Tenant, redirect_url: str
) -> None:
    made = await client.post(
        "/api/v3/webhooks",
        json={
            "name": "Form",
            "preset": "html_form",
            "preset_settings": {"redirect_url": redirect_url},
        },
        headers=auth(tenant),
    )
    assert made.status_code == 400, made.text
    assert made.json()["details"][0]["field"] == "preset_settings.redirect_url"

    changed = await client.patch(
        f"/api/v3/webhooks/{tenant.webhook_id}",
        json={"preset": "html_form", "preset_settings": {"redirect_url": redirect_url}},
        headers=auth(tenant),
    )
    assert changed.status_code == 400, changed.text


async def test_a_stored_unsafe_thank_you_page_is_not_followed(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    with db.transaction() as conn:  # stored before http(s) was required
        conn.execute(
            update(Webhook.__table__)
            .where(Webhook.__table__.c.id == tenant.webhook_id)
            .values(preset="html_form", preset_settings={"redirect_url": "javascript:alert(1)"})
        )
    answer = await client.post(
        tenant.url, data={"name": "Lee Park", "email": "lee@example.com", "phone": "2065550111"}
    )
    assert answer.status_code == 200, answer.text
    assert "location" not in answer.headers
