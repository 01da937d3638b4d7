"""The lead table's column chooser in Chromium (issue 24): each tick redraws the table
with its filters kept and the menu open, the choice outlives a reload, and rows arriving
live have the chosen cells."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from leadpipe.kit.clock import utcnow
from leadpipe.storage.engine import Database
from tests.browser.conftest import deliver, signed_in_page, watch_console
from tests.conftest import Tenant
from tests.integration.dashboard import add_member

SHOTS = Path("/tmp/shots/columns")
SIZES = {"desktop": (1280, 800), "tablet": (768, 1024), "phone": (390, 844)}


def _headers(page: Page) -> list[str]:
    names = page.locator("table.leads thead th:not(.check)").all_inner_texts()
    return [n.strip(" ▼▲") for n in names if n.strip()]


def _workspace(base_url: str, tenant: Tenant) -> str:
    """Leads with tags, a custom field and a task; the first lead's id."""
    key = {"X-API-Key": tenant.api_key}
    made = httpx.post(
        f"{base_url}/api/v3/custom-fields",
        headers=key,
        json={"field_key": "roof_type", "label": "Roof type", "field_type": "text"},
    )
    assert made.status_code == 201, made.text
    people = [
        ("Ana", "5559000001", ["vip"], "shingle"),
        ("Ben", "5559000002", ["spring"], "metal"),
        ("Cara", "5559000003", ["vip", "hoa"], "tile"),
    ]
    ids = []
    for name, phone, tags, roof in people:
        lead_id = str(
            deliver(base_url, tenant, firstname=name, phone=phone, product="Solar", tags=tags)[
                "lead_id"
            ]
        )
        changed = httpx.put(
            f"{base_url}/api/v3/leads/{lead_id}",
            headers=key,
            json={"custom_fields": {"roof_type": roof}, "lead_score": 40 + len(name)},
        )
        assert changed.status_code == 200, changed.text
        ids.append(lead_id)
    task = httpx.post(
        f"{base_url}/api/v3/leads/{ids[2]}/tasks",
        headers=key,
        json={"title": "Call Cara back", "due_at": (utcnow() + timedelta(days=1)).isoformat()},
    )
    assert task.status_code == 201, task.text
    return ids[0]


def _tick(page: Page, label: str, *, on: bool) -> None:
    box = page.locator("#columns-menu").get_by_label(label, exact=True)
    box.check() if on else box.uncheck()


def test_choosing_columns_redraws_the_table_and_is_kept(
    browser: Browser, base_url: str, db: Database, tenant: Tenant
) -> None:
    _workspace(base_url, tenant)
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "agent"))
    errors = watch_console(page)
    # A filtered table first: the choice must keep it.
    page.fill("#f-tag", "vip")
    page.locator("#f-tag").press("Enter")
    expect(page.locator("tr.lead-row")).to_have_count(2)

    page.click("#columns-menu summary")
    _tick(page, "Phone", on=True)
    expect(page.locator("table.leads thead th", has_text="Phone")).to_be_visible()
    # The menu stays open for the next tick, and the table keeps its filter.
    _tick(page, "Next task", on=True)
    _tick(page, "Roof type", on=True)
    _tick(page, "Source", on=False)
    expect(page.locator("table.leads thead th", has_text="Source")).to_have_count(0)
    expect(page.locator("#columns-menu")).to_have_attribute("open", "")
    expect(page.locator("tr.lead-row")).to_have_count(2)
    expected = [
        "Lead",
        "Product",
        "Tags",
        "Stage",
        "Priority",
        "Value",
        "Assignee",
        "Phone",
        "Next task",
        "Created",
        "Roof type",
    ]
    assert _headers(page) == expected
    cara = page.locator("tr.lead-row", has_text="Cara")
    expect(cara).to_contain_text("Call Cara back")
    expect(cara).to_contain_text("(555) 900-0003")
    expect(cara).to_contain_text("tile")
    assert "tag=vip" in page.url

    # A click elsewhere closes the menu; a reload shows the same columns.
    page.click("h1")
    expect(page.locator("#columns-menu")).not_to_have_attribute("open", "")
    page.reload()
    assert _headers(page) == expected
    _screenshots(page)

    # A lead arriving live is drawn with the chosen cells.
    page.goto(f"{base_url}/app")
    expect(page.locator("html")).to_have_attribute("data-live", "ready")
    deliver(base_url, tenant, firstname="Dora", phone="5559000009", product="Solar", tags=["vip"])
    dora = page.locator("tr.lead-row", has_text="Dora")
    expect(dora).to_contain_text("(555) 900-0009")
    assert dora.locator("td").count() == len(expected) + 1  # and the check box

    # "Default columns" puts the table back as it was.
    page.click("#columns-menu summary")
    page.locator("#columns-menu").get_by_role("button", name="Default columns").click()
    expect(page.locator("table.leads thead th", has_text="Phone")).to_have_count(0)
    assert _headers(page)[:4] == ["Lead", "Product", "Source", "Tags"]
    assert errors == []
    page.context.close()


def _screenshots(page: Page) -> None:
    """The chosen columns at each size, the menu closed and open, for a person to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"app-columns-{name}.png"))
        page.click("#columns-menu summary")
        page.screenshot(path=str(SHOTS / f"app-columns-menu-{name}.png"))
        page.click("h1")
    page.set_viewport_size({"width": 1280, "height": 800})
