"""How the dashboard's pages look and what their consoles say, in Chromium."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from contextlib import ExitStack, closing

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from leadpipe.storage.engine import Database
from tests.browser.conftest import deliver, screenshot, sign_in, signed_in_page, watch_console
from tests.conftest import Tenant
from tests.integration.dashboard import add_member
from tests.integration.test_export_limits import _held_open, _many_leads, _signed_in


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
        "imports": "/app/imports",
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


def _colour_emoji_font() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    families = subprocess.run([fc_list, ":", "family"], capture_output=True, text=True).stdout
    return "Color Emoji" in families


def _coloured_pixels(page: Page, element: Locator) -> int:
    """How many pixels of the element as shown are clearly coloured (not grey): decoded by
    the browser from a screenshot of it."""
    png = base64.b64encode(element.screenshot()).decode()
    count: int = page.evaluate(
        """async (png) => {
            const image = new Image();
            image.src = "data:image/png;base64," + png;
            await image.decode();
            const canvas = document.createElement("canvas");
            canvas.width = image.width;
            canvas.height = image.height;
            const context = canvas.getContext("2d");
            context.drawImage(image, 0, 0);
            const data = context.getImageData(0, 0, image.width, image.height).data;
            let coloured = 0;
            for (let i = 0; i < data.length; i += 4) {
                const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
                if (Math.max(r, g, b) - Math.min(r, g, b) > 100) coloured += 1;
            }
            return coloured;
        }""",
        png,
    )
    return count


def test_an_activity_title_shows_its_emoji_in_colour(
    agent_page: Page, base_url: str, tenant: Tenant
) -> None:
    if not _colour_emoji_font():
        message = "no colour emoji font (apt-get install fonts-noto-color-emoji)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI=true requires {message}")
        pytest.skip(message)
    answer = deliver(base_url, tenant, firstname="Emo", email="e@example.com", productid="Solar")
    agent_page.locator(f"#lead-{answer['lead_id']}").click()
    sidebar = agent_page.locator("#detail")
    # Pictographs the common text fonts (DejaVu Sans) draw too, in black and white.
    sidebar.locator("input[name=title]").fill("⚡😀☕")
    sidebar.get_by_role("button", name="Add to timeline").click()
    title = sidebar.locator(".timeline .entry-head strong", has_text="⚡😀☕")
    expect(title).to_be_visible()
    title.scroll_into_view_if_needed()
    screenshot(agent_page, "timeline-emoji")
    assert _coloured_pixels(agent_page, title) > 100


def test_the_stage_history_puts_each_change_s_time_on_a_line_of_its_own(
    agent_page: Page, base_url: str, tenant: Tenant
) -> None:
    answer = deliver(base_url, tenant, firstname="Hist", email="h@example.com", productid="Solar")
    agent_page.locator(f"#lead-{answer['lead_id']}").click()
    stage = agent_page.locator("#detail select[name=stage]")
    for slug, name in (("qualified", "Qualified"), ("proposal", "Proposal")):
        stage.select_option(slug)
        expect(agent_page.locator(f"#lead-{answer['lead_id']} .badge")).to_have_text(name)
    changes = agent_page.locator("#detail .stage-history li")
    expect(changes).to_have_count(3)
    expect(changes.first).to_contain_text("Qualified → Proposal")
    times = agent_page.locator("#detail .stage-history li .muted")
    assert [t.evaluate("e => e.getClientRects().length") for t in times.all()] == [1, 1, 1]
    # Newest first: not numbered, as if the newest were the first change.
    assert changes.first.evaluate("li => getComputedStyle(li).listStyleType") == "none"
    changes.first.evaluate("li => li.scrollIntoView({block: 'center'})")
    screenshot(agent_page, "sidebar-stage-history")


def test_saved_intake_rules_are_shown_below_the_top_bar_lower_priority_first(
    browser: Browser, base_url: str, db: Database, tenant: Tenant
) -> None:
    for i in range(12):  # a page long enough to scroll the rules to its top
        deliver(base_url, tenant, firstname=f"P{i}", email=f"p{i}@example.com", productid="Solar")
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "admin"))
    page.goto(f"{base_url}/app/webhooks/{tenant.webhook_id}")
    page.get_by_text("Edit rules").click()
    always = [{"field": "source", "operator": "exists"}]
    rules = [
        {"name": "Written first", "priority": 20, "conditions": always, "actions": {"tags": ["a"]}},
        {"name": "Runs first", "priority": 5, "conditions": always, "actions": {"tags": ["b"]}},
    ]
    page.get_by_label("Rules (JSON)").fill(json.dumps(rules))
    page.get_by_role("button", name="Save rules").click()
    page.wait_for_url(re.compile(r"#rules$"))
    page.wait_for_load_state("networkidle")

    section = page.locator("#rules")
    top_bar, shown = page.locator(".topbar").bounding_box(), section.bounding_box()
    assert top_bar is not None
    assert shown is not None
    assert shown["y"] >= top_bar["y"] + top_bar["height"], "the top bar covers the rules"
    expect(section.locator("tbody tr").first).to_contain_text("Runs first")
    expect(section.locator("thead")).to_contain_text("Priority (lower runs first)")
    expect(section).to_contain_text("a lower priority number first (1 before 2)")
    screenshot(page, "webhook-intake-rules")
    page.context.close()


def test_an_export_refused_while_two_run_says_why_and_when_and_leads_back(
    browser: Browser, base_url: str, db: Database, tenant: Tenant
) -> None:
    deliver(base_url, tenant, firstname="Ann", email="ann@example.com", productid="Solar")
    _many_leads(db, tenant)  # exports big enough to stay running while nobody reads them
    viewer = add_member(db, tenant.workspace_id, "viewer")
    page = signed_in_page(browser, base_url, viewer)
    page.goto(f"{base_url}/app?product=Solar")
    with ExitStack() as stack:
        for _ in range(2):
            client = stack.enter_context(closing(_signed_in(base_url, viewer)))
            assert stack.enter_context(_held_open(client)).status_code == 200
        page.get_by_role("link", name=re.compile(r"^Export [\d,]+ as CSV$")).click()
        card = page.locator(".error-card")
        expect(card.get_by_role("heading")).to_have_text("Too many at once")
        expect(card).to_contain_text("running 2 exports already")
        expect(card).to_contain_text("Try again in about 30 seconds.")
        expect(page).to_have_title("Too many at once · leadpipe")
        screenshot(page, "export-refused")
    card.get_by_role("link", name="← Back").click()
    expect(page).to_have_url(f"{base_url}/app?product=Solar")
    page.context.close()
