"""What a person sees and does on the dashboard, in Chromium."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead, LeadActivity
from tests.browser.conftest import screenshot, signed_in_page
from tests.conftest import Tenant
from tests.integration.dashboard import add_member
from tests.integration.helpers import count, one


def _post(base_url: str, tenant: Tenant, **payload: object) -> dict[str, object]:
    answer = httpx.post(f"{base_url}{tenant.url}", json=payload)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_signing_in_shows_the_leads(
    browser: Browser, base_url: str, db: Database, tenant: Tenant
) -> None:
    _post(
        base_url,
        tenant,
        firstname="Ana",
        lastname="Lopez",
        email="a@example.com",
        productid="Solar",
    )
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{base_url}/app")
    expect(page).to_have_url(f"{base_url}/login?next=%2Fapp")
    screenshot(page, "login")
    page.fill("#email", add_member(db, tenant.workspace_id, "viewer"))
    page.fill("#password", "wrong password here")
    page.click("button[type=submit]")
    expect(page.locator(".form-error")).to_contain_text("Wrong email or password")
    page.fill("#password", "a-long-enough-password")
    page.click("button[type=submit]")
    expect(page.locator(".lead-row")).to_have_count(1)
    expect(page.locator(".lead-row .name")).to_have_text("Ana Lopez")
    expect(page.locator("[data-metric=totalLeads] .metric-value")).to_have_text("1")
    page.close()


def test_a_posted_lead_appears_live_with_its_toast_within_a_second(
    agent_page: Page, base_url: str, tenant: Tenant
) -> None:
    expect(agent_page.locator(".lead-row")).to_have_count(0)
    posted = time.monotonic()
    answer = _post(
        base_url,
        tenant,
        firstname="Live",
        lastname="Person",
        email="live@example.com",
        productid="HVAC Replacement",
        source="Google Ads",
    )
    row = agent_page.locator(f"#lead-{answer['lead_id']}")
    expect(row).to_be_visible(timeout=1000)
    expect(agent_page.locator(".toast")).to_contain_text("New Lead Received", timeout=1000)
    expect(agent_page.locator(".toast")).to_contain_text("Live Person via Test webhook")
    assert time.monotonic() - posted < 1.0
    expect(agent_page.locator("[data-metric=totalLeads] .metric-value")).to_have_text("1")
    screenshot(agent_page, "inbound-live")


def test_new_rows_do_not_reshuffle_a_selection(
    agent_page: Page, base_url: str, tenant: Tenant
) -> None:
    _post(base_url, tenant, firstname="First", email="first@example.com", productid="Roofing")
    expect(agent_page.locator(".lead-row")).to_have_count(1)
    agent_page.locator("[data-select-row]").first.check()
    expect(agent_page.locator(".bulk-bar")).to_be_visible()
    _post(base_url, tenant, firstname="Second", email="second@example.com", productid="Roofing")
    expect(agent_page.locator("#new-leads")).to_contain_text("1 new lead")
    expect(agent_page.locator(".lead-row")).to_have_count(1)
    agent_page.locator("#new-leads").click()
    expect(agent_page.locator(".lead-row")).to_have_count(2)


def test_an_agent_adds_an_activity_and_moves_the_stage_in_the_sidebar(
    agent_page: Page, base_url: str, db: Database, tenant: Tenant
) -> None:
    answer = _post(
        base_url,
        tenant,
        firstname="Side",
        lastname="Bar",
        email="s@example.com",
        productid="Windows",
    )
    agent_page.locator(f"#lead-{answer['lead_id']}").click()
    sidebar = agent_page.locator("#detail")
    expect(sidebar.locator("h2")).to_have_text("Side Bar")
    expect(sidebar).to_contain_text("Why intake did this")
    sidebar.locator("select[name=activity_type]").select_option("call")
    sidebar.locator("select[name=outcome]").select_option("positive")
    sidebar.locator("input[name=title]").fill("Discovery call")
    sidebar.locator("input[name=duration_minutes]").fill("15")
    sidebar.locator("input[name=next_step]").fill("Send the quote")
    sidebar.get_by_role("button", name="Add to timeline").click()
    expect(sidebar.locator(".timeline")).to_contain_text("Discovery call")
    expect(sidebar.locator(".timeline")).to_contain_text("Next: Send the quote")
    assert one(db, LeadActivity, activity_type="call")["duration_minutes"] == 15

    sidebar.locator("select[name=stage]").select_option("qualified")
    expect(agent_page.locator(f"#lead-{answer['lead_id']} .badge")).to_have_text("Qualified")
    assert one(db, Lead)["stage"] == "qualified"
    screenshot(agent_page, "inbound-sidebar")
    agent_page.keyboard.press("Escape")
    expect(sidebar.locator(".detail-body")).to_have_count(0)


def test_dragging_a_card_on_the_board_moves_the_lead(
    agent_page: Page, base_url: str, db: Database, tenant: Tenant
) -> None:
    answer = _post(
        base_url,
        tenant,
        firstname="Drag",
        lastname="Me",
        email="d@example.com",
        productid="Roofing",
    )
    agent_page.goto(f"{base_url}/app/pipeline")
    card = agent_page.locator(f".board-card[data-lead-id='{answer['lead_id']}']")
    expect(card).to_be_visible()
    target = agent_page.locator("[data-stage=proposal] [data-board-column]")
    card.drag_to(target)
    expect(
        agent_page.locator(f"[data-stage=proposal] .board-card[data-lead-id='{answer['lead_id']}']")
    ).to_be_visible()
    expect(agent_page.locator("[data-stage=proposal] [data-column-count]")).to_have_text("1")
    deadline = time.monotonic() + 3
    while one(db, Lead)["stage"] != "proposal" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert one(db, Lead)["stage"] == "proposal"
    assert count(db, LeadActivity, activity_type="status_updated") == 1
    screenshot(agent_page, "pipeline")


def test_exporting_the_selection_downloads_its_rows(
    agent_page: Page, base_url: str, tenant: Tenant
) -> None:
    for name in ("Alpha", "Beta", "Gamma"):
        _post(base_url, tenant, firstname=name, email=f"{name}@example.com", productid="Solar")
    agent_page.reload()
    expect(agent_page.locator(".lead-row")).to_have_count(3)
    agent_page.locator("tr:has-text('Beta') [data-select-row]").check()
    agent_page.locator("tr:has-text('Gamma') [data-select-row]").check()
    expect(agent_page.locator(".bulk-count")).to_have_text("2 selected")
    with agent_page.expect_download() as download:
        agent_page.get_by_role("button", name="Export CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    names = sorted(r["first_name"] for r in csv.DictReader(io.StringIO(text)))
    assert names == ["Beta", "Gamma"]


def test_a_name_holding_a_script_is_shown_as_text(
    agent_page: Page, base_url: str, tenant: Tenant
) -> None:
    dialogs: list[str] = []
    agent_page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _post(
        base_url,
        tenant,
        firstname="<script>alert(1)</script>",
        lastname="<img src=x onerror=alert(2)>",
        email="x@example.com",
        productid="Roofing",
    )
    row = agent_page.locator(".lead-row").first
    expect(row.locator(".name")).to_have_text(
        "<script>alert(1)</script> <img src=x onerror=alert(2)>"
    )
    expect(agent_page.locator(".toast")).to_contain_text("<script>alert(1)</script>")
    row.click()
    expect(agent_page.locator("#detail h2")).to_contain_text("<script>")
    agent_page.wait_for_timeout(200)
    assert dialogs == []


def test_a_viewer_cannot_change_a_lead(
    browser: Browser, base_url: str, db: Database, tenant: Tenant
) -> None:
    answer = _post(base_url, tenant, firstname="Look", email="look@example.com", productid="HVAC")
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "viewer"))
    page.locator(f"#lead-{answer['lead_id']}").click()
    stage = page.locator("#detail select[name=stage]")
    expect(stage).to_be_disabled()
    expect(page.locator("#detail .activity-form")).to_have_count(0)
    # Even a hand-made request is refused by the server.
    refused = page.evaluate(
        """async (id) => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch('/app/leads/' + id + '/stage', {method: 'POST',
              headers: {'X-CSRF-Token': csrf, 'Content-Type': 'application/x-www-form-urlencoded'},
              body: 'stage=won'});
            return r.status;
        }""",
        answer["lead_id"],
    )
    assert refused == 403
    assert one(db, Lead)["stage"] == "new"
    page.context.close()


def test_every_page_renders_for_an_owner(
    browser: Browser, base_url: str, db: Database, tenant: Tenant
) -> None:
    answer = _post(
        base_url,
        tenant,
        firstname="Page",
        lastname="Tour",
        email="tour@example.com",
        productid="Solar",
    )
    httpx.post(f"{base_url}{tenant.url}", json={"firstname": "Refused"})
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "owner"))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    pages = {
        "inbound": "/app",
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
    screenshot(page, "inbound-tablet")
    assert errors == []
    page.context.close()


def test_an_admin_tests_a_payload_and_adds_a_provider(
    browser: Browser, base_url: str, db: Database, tenant: Tenant
) -> None:
    _post(base_url, tenant, firstname="Known", email="known@example.com", productid="Solar")
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "admin"))
    page.goto(f"{base_url}/app/webhooks/{tenant.webhook_id}")
    page.get_by_label("Payload (JSON)").fill(
        '{"first_name": "Known", "Email Address": "known@example.com", "status": "Qualified"}'
    )
    page.get_by_role("button", name="Test it").click()
    result = page.locator(".dry-run")
    expect(result).to_contain_text("Would be accepted (200)")
    expect(result).to_contain_text("matched by email")
    screenshot(page, "webhook-dry-run")

    page.goto(f"{base_url}/app/providers")
    page.get_by_label("Name", exact=True).fill("Click Ventures")
    page.get_by_label("Company").fill("Click Ventures LLC")
    page.get_by_role("button", name="Add provider").click()
    key = page.locator("#new-key")
    expect(key).to_contain_text("lpp_")
    screenshot(page, "provider-created")
    answer = httpx.post(
        f"{base_url}{tenant.url}",
        json={"email": "fromprovider@example.com", "productid": "HVAC"},
        headers={"Authorization": f"Bearer {key.inner_text().strip()}"},
    )
    assert answer.status_code == 200
    page.goto(f"{base_url}/app/providers")
    expect(page.get_by_text("1 accepted")).to_be_visible()
    page.context.close()


def test_the_first_load_of_a_full_inbound_page_stays_under_300_kb(
    browser: Browser, base_url: str, db: Database, tenant: Tenant
) -> None:
    with httpx.Client(base_url=base_url) as client:
        for i in range(60):
            client.post(
                tenant.url,
                json={
                    "firstname": f"Person{i}",
                    "lastname": "Weight",
                    "email": f"w{i}@example.com",
                    "phone_number": f"512555{i:04d}",
                    "productid": ["Solar Panels", "HVAC", "Roofing"][i % 3],
                    "source": ["Google Ads", "Facebook Ads"][i % 2],
                },
            )
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.fill("#email", add_member(db, tenant.workspace_id, "agent"))
    page.fill("#password", "a-long-enough-password")
    sizes: list[int] = []
    page.on("response", lambda r: sizes.append(len(r.body())))
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    expect(page.locator(".lead-row")).to_have_count(50)
    expect(page.locator("#heat table")).to_be_visible()
    assert sum(sizes) <= 300 * 1024, f"{sum(sizes) / 1024:.0f} KB"
    context.close()
