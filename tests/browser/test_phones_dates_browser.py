"""Phones, dates and the delivery log in Chromium (issue 24): a phone in the lead table is
shown whole at every width, the search box finds a phone by its last digits, and the
webhook page's delivery log pages and filters."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from leadpipe.storage.engine import Database
from tests.browser.conftest import deliver, signed_in_page
from tests.conftest import Tenant
from tests.integration.dashboard import add_member
from tests.integration.test_verticals_and_consent import CONSENTING

SIZES = {"desktop": (1280, 800), "tablet": (768, 1024), "phone": (390, 844)}
# Where the pictures go for a person to look at (not checked by the test).
SHOTS = Path(os.environ.get("LEADPIPE_SHOTS", str(Path(__file__).parent / "screenshots")))


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _whole(page: Page, selector: str) -> bool:
    """Whether every element ``selector`` finds shows all its text (none cut off)."""
    return bool(
        page.eval_on_selector_all(
            selector, "els => els.length > 0 && els.every(e => e.scrollWidth <= e.clientWidth)"
        )
    )


@pytest.fixture
def people(base_url: str, tenant: Tenant) -> dict[str, dict[str, object]]:
    long_email = "maximiliana.featherstonehaugh-worthington@example-enterprises.com"
    return {
        "ana": deliver(
            base_url,
            tenant,
            firstname="Ana",
            lastname="Featherstonehaugh-Worthington",
            email=long_email,
            phone="(626) 737-2686",
            product="Solar Panels",
        ),
        "tia": deliver(
            base_url, tenant, **{**CONSENTING, "consent_timestamp": "2026-12-07T19:58:00Z"}
        ),
        **{
            f"p{i}": deliver(base_url, tenant, firstname=f"P{i}", phone=f"555070{i:04d}")
            for i in range(52)
        },
    }


@pytest.mark.parametrize("size", list(SIZES))
def test_phones_are_whole_and_found_by_their_last_digits(
    browser: Browser,
    base_url: str,
    db: Database,
    tenant: Tenant,
    people: dict[str, dict[str, object]],
    size: str,
) -> None:
    width, height = SIZES[size]
    email = add_member(db, tenant.workspace_id, "agent")
    page = signed_in_page(browser, base_url, email)
    page.set_viewport_size({"width": width, "height": height})
    try:
        ana = page.locator("#lead-rows tr", has_text="Ana")
        expect(ana.locator(".phone")).to_have_text("(626) 737-2686")
        assert _whole(page, "#lead-rows .phone")
        _shot(page, f"lead-table-{size}")

        page.fill("#q", "2686")
        expect(page.locator("#lead-rows tr")).to_have_count(1)
        expect(page.locator("#lead-rows tr").first).to_contain_text("Ana")

        page.fill("#q", "")
        page.locator(f"#lead-{people['tia']['lead_id']}").click()
        sidebar = page.locator("#detail")
        expect(sidebar.get_by_text("Consent (TCPA)")).to_be_visible()
        expect(sidebar.locator("dd", has_text="yes ·").locator("time")).to_have_attribute(
            "datetime", "2026-12-07T19:58:00+00:00"
        )
        _shot(page, f"lead-consent-{size}")

        page.goto(f"{base_url}/app/contacts/{people['tia']['contact_id']}")
        expect(page.locator(".detail-head .phone")).to_have_text("(512) 555-0190")
        _shot(page, f"contact-{size}")

        page.goto(f"{base_url}/app/webhooks/{tenant.webhook_id}")
        _shot(page, f"webhook-{size}")
        page.locator("#deliveries").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"webhook-log-{size}.png"))
    finally:
        page.context.close()


def test_the_delivery_log_pages_and_filters_in_the_browser(
    browser: Browser,
    base_url: str,
    db: Database,
    tenant: Tenant,
    people: dict[str, dict[str, object]],
) -> None:
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "viewer"))
    try:
        page.goto(f"{base_url}/app/webhooks/{tenant.webhook_id}")
        log = page.locator("#deliveries")
        expect(log.locator("#log-count")).to_have_text("54 deliveries · 2 leads created or updated")
        expect(log.locator("tbody tr")).to_have_count(50)

        log.locator("a[rel=next]").click()
        expect(log.get_by_text("Page 2 of 2")).to_be_visible()
        expect(log.locator("tbody tr")).to_have_count(4)
        _shot(page, "webhook-log-page-2")

        log.get_by_role("link", name="Refused").click()
        expect(log.locator("#log-count")).to_have_text(
            "0 deliveries refused · 0 leads created or updated"
        )
        expect(log.get_by_text("No deliveries match.")).to_be_visible()
        log.get_by_role("link", name="Accepted").click()
        expect(log.locator("tbody tr")).to_have_count(50)
        log.get_by_label("From").fill("2000-01-01")
        log.get_by_label("to").fill("2000-01-02")
        log.get_by_role("button", name="Show").click()
        expect(log.get_by_text("No deliveries match.")).to_be_visible()
        assert "status=success" in page.url  # the outcome stays chosen
    finally:
        page.context.close()
