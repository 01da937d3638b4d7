"""How the dashboard's pages look and what their consoles say, in Chromium."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, expect

from leadpipe.storage.engine import Database
from tests.browser.conftest import deliver, screenshot, sign_in, watch_console
from tests.conftest import Tenant
from tests.integration.dashboard import add_member


def test_no_page_logs_an_error_or_has_a_style_refused(
    browser: Browser, base_url: str, db: Database, tenant: Tenant
) -> None:
    """Every page under the Content-Security-Policy: a style attribute or block in the
    HTML, served or fetched and inserted, is refused and logged."""
    answer = deliver(
        base_url,
        tenant,
        firstname="Page",
        lastname="Tour",
        email="tour@example.com",
        productid="Solar",
    )
    httpx.post(f"{base_url}{tenant.url}", json={"firstname": "Refused"})
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = watch_console(page)
    page.goto(f"{base_url}/login")
    screenshot(page, "login")
    sign_in(page, base_url, add_member(db, tenant.workspace_id, "owner"))
    screenshot(page, "inbound")

    page.locator(f"#lead-{answer['lead_id']}").click()
    sidebar = page.locator("#detail")
    sidebar.locator("input[name=title]").fill("Left a voicemail")
    sidebar.get_by_role("button", name="Add to timeline").click()
    expect(sidebar.locator(".timeline")).to_contain_text("Left a voicemail")
    sidebar.locator("select[name=stage]").select_option("qualified")
    expect(page.locator(f"#lead-{answer['lead_id']} .badge")).to_have_text("Qualified")
    screenshot(page, "inbound-sidebar-open")

    pages = {
        "contact": f"/app/contacts/{answer['contact_id']}",
        "pipeline": "/app/pipeline",
        "webhooks": "/app/webhooks",
        "webhook": f"/app/webhooks/{tenant.webhook_id}",
        "providers": "/app/providers",
        "settings": "/app/settings",
        "account": "/app/account",
    }
    for name, path in pages.items():
        page.goto(base_url + path)
        page.wait_for_load_state("networkidle")
        screenshot(page, name)
    page.goto(f"{base_url}/app/webhooks/{tenant.webhook_id}?status=error")
    page.get_by_role("link", name="Details").first.click()
    expect(page.get_by_role("button", name="Replay this delivery")).to_be_visible()
    screenshot(page, "delivery")
    page.set_viewport_size({"width": 768, "height": 1024})
    page.goto(base_url + "/app")
    page.wait_for_load_state("networkidle")
    screenshot(page, "inbound-tablet")
    assert errors == []
    page.context.close()
