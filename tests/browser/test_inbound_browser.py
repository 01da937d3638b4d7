"""The inbound lead table in Chromium (issue 24): the URL keeps the view, rows follow their
changes, bulk actions answer, bursts collapse, the layout fits phones and tablets, every
text reads at AA contrast, and the keyboard works the table."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from leadpipe.storage.engine import Database
from tests.browser.conftest import deliver, screenshot, signed_in_page, watch_console
from tests.conftest import Tenant
from tests.integration.dashboard import add_member

PEOPLE = [
    ("Ana", "Solar Panels", "Google Ads"),
    ("Ben", "Roofing", "Website"),
    ("Cara", "Solar Panels", "Website"),
    ("Dan", "Windows", "Google Ads"),
]


@pytest.fixture
def leads(base_url: str, tenant: Tenant) -> list[str]:
    return [
        str(
            deliver(
                base_url,
                tenant,
                firstname=name,
                lastname="Lopez",
                email=f"{name.lower()}@example.com",
                productid=product,
                source=source,
            )["lead_id"]
        )
        for name, product, source in PEOPLE
    ]


@pytest.fixture
def owner_page(
    browser: Browser, base_url: str, db: Database, tenant: Tenant, leads: list[str]
) -> Iterator[Page]:
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "owner"))
    yield page
    page.context.close()


def at(path: str) -> re.Pattern[str]:
    """The page's address ends with ``path`` (its origin is the test server's)."""
    return re.compile(re.escape(path) + "$")


def _query(page: Page) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(page.url).query)


def test_every_control_keeps_the_views_state_in_the_url_and_a_view_saves_it(
    owner_page: Page, leads: list[str]
) -> None:
    page = owner_page
    errors = watch_console(page)
    page.click("#f-stage summary")
    page.check("#f-stage input[value=new]")
    page.check("#f-stage input[value=qualified]")
    expect(page).to_have_url(at("/app?stage=new&stage=qualified"), timeout=3000)
    page.select_option("#period", "90")
    expect(page).to_have_url(at("/app?stage=new&stage=qualified&period=90"))
    expect(page.locator("#metrics .metrics")).to_have_attribute(
        "aria-label", "Metrics over the last 90 days"
    )
    page.click("th a:has-text('Value')")
    expect(page).to_have_url(at("/app?stage=new&stage=qualified&sort=estimated_value&period=90"))
    # A filter chosen after the sort keeps the sort and the period.
    page.select_option("#f-priority", "medium")
    expect(page).to_have_url(
        at("/app?stage=new&stage=qualified&priority=medium&sort=estimated_value&period=90")
    )
    page.fill("#view-name", "Hot Google")
    page.click("button:has-text('Save view')")
    saved = page.locator(".chip.saved a")
    expect(saved).to_have_attribute(
        "href", "/app?stage=new&stage=qualified&priority=medium&sort=estimated_value&period=90"
    )
    page.goto(page.url.split("/app")[0] + "/app")
    page.click(".chip.saved a")
    expect(page.locator("#f-stage input[value=qualified]")).to_be_checked()
    expect(page.locator("#period")).to_have_value("90")
    expect(page.locator(".lead-row")).to_have_count(4)
    assert errors == []


def test_a_change_in_the_sidebar_redraws_its_row_or_removes_it_with_a_note(
    owner_page: Page, leads: list[str]
) -> None:
    page = owner_page
    page.click(".chip:has-text('Unassigned')")
    expect(page.locator(".lead-row")).to_have_count(4)
    row = page.locator(f"#lead-{leads[0]}")
    row.locator("td").nth(3).click()
    page.wait_for_selector("#detail .detail-body")
    page.select_option("#detail select[name=stage]", "qualified")
    expect(row.locator(".badge")).to_have_text("Qualified")
    page.select_option("#detail select[name=assigned_user_id]", index=1)
    expect(row).to_have_count(0)
    expect(page.locator(".row-note")).to_contain_text("Ana Lopez is now Qualified, assigned to ")
    expect(page.locator(".row-note")).to_contain_text("no longer matches this view")
    expect(page.locator("#lead-count")).to_have_text("1\u20133 of 3 leads")


def test_a_bulk_action_says_what_it_did_and_its_tags_show_filter_and_undo(
    owner_page: Page, leads: list[str]
) -> None:
    page = owner_page
    for lead_id in leads[:2]:
        page.check(f"#sel-{lead_id}")
    page.select_option("#bulk-action", "stage")
    page.select_option("#bulk-stage", "qualified")
    page.click(".bulk-bar button.primary")
    expect(page.locator(".bulk-result")).to_have_text("2 leads moved to Qualified")
    for lead_id in leads[1:3]:
        page.check(f"#sel-{lead_id}")
    page.select_option("#bulk-action", "tag")
    page.fill("#bulk-tags", "vip")
    page.click(".bulk-bar button.primary")
    expect(page.locator(".bulk-result")).to_contain_text("vip added to 2 leads")
    expect(page.locator(f"#lead-{leads[1]} .tag")).to_have_text("vip")
    screenshot(page, "inbound-bulk-result")
    page.fill("#f-tag", "vip")
    page.press("#f-tag", "Enter")
    expect(page.locator(".lead-row")).to_have_count(2)
    expect(page).to_have_url(at("/app?tag=vip"))
    page.goto(page.url.split("/app")[0] + "/app")
    for lead_id in leads[1:3]:
        page.check(f"#sel-{lead_id}")
    page.select_option("#bulk-action", "untag")
    page.fill("#bulk-tags", "vip")
    page.click(".bulk-bar button.primary")
    expect(page.locator(".bulk-result")).to_contain_text("vip removed from 2 leads")
    page.click(".bulk-result button:has-text('Undo')")
    expect(page.locator(".bulk-result")).to_have_text("Undone: vip added to 2 leads")
    expect(page.locator(".lead-row .tag")).to_have_count(2)


def test_a_burst_of_new_leads_is_one_toast_its_rows_in_order_and_the_count_follows(
    browser: Browser, base_url: str, db: Database, tenant: Tenant
) -> None:
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "agent"))
    expect(page.locator("[data-metric=totalLeads] .metric-value")).to_have_text("0")
    posted = time.monotonic()
    names = [f"Burst{i:02d}" for i in range(10)]
    for name in names:
        deliver(base_url, tenant, firstname=name, email=f"{name}@example.com", productid="Solar")
    expect(page.locator(".lead-row")).to_have_count(10, timeout=3000)
    expect(page.locator("[data-metric=totalLeads] .metric-value")).to_have_text("10", timeout=1500)
    assert time.monotonic() - posted < 4
    expect(page.locator(".toast")).to_have_count(1)
    expect(page.locator(".toast strong")).to_have_text("10 new leads")
    expect(page.locator("#lead-count")).to_have_text("1\u201310 of 10 leads")
    shown = page.locator(".lead-row .name").all_inner_texts()
    assert shown == list(reversed(names))
    page.context.close()


def test_the_new_leads_banner_counts_only_leads_of_the_filter(
    owner_page: Page, base_url: str, tenant: Tenant
) -> None:
    page = owner_page
    page.goto(f"{base_url}/app?product=Roofing")
    expect(page.locator(".lead-row")).to_have_count(1)
    expect(page.locator("html")).to_have_attribute("data-live", "ready")
    for i, product in enumerate(["Roofing", "Solar Panels", "Windows", "Roofing"]):
        deliver(
            base_url, tenant, firstname=f"New{i}", email=f"new{i}@example.com", productid=product
        )
    expect(page.locator("#new-leads")).to_have_text("2 new leads — show", timeout=3000)


def test_a_heat_map_cell_opens_as_many_leads_as_it_shows(owner_page: Page) -> None:
    page = owner_page
    cell = page.locator(".heatmap td a").first
    shown = int(cell.inner_text())
    cell.click()
    expect(page.locator(".lead-row")).to_have_count(shown)
    assert dict(_query(page))["within"] == "30"
    expect(page.locator(".chip.active")).to_contain_text("Created in the last 30 days")


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (768, 1024), (390, 844)])
def test_the_page_fits_the_screen_and_metric_values_are_whole(
    browser: Browser, base_url: str, db: Database, tenant: Tenant, width: int, height: int
) -> None:
    owner = add_member(db, tenant.workspace_id, "owner")
    page = signed_in_page(browser, base_url, owner)
    page.set_viewport_size({"width": width, "height": height})
    deliver(base_url, tenant, firstname="Wide", email="w@example.com", productid="Solar Panels")
    page.reload()
    expect(page.locator("[data-metric=totalLeads] .metric-value")).to_have_text("1")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    cut = page.evaluate(
        """Array.from(document.querySelectorAll('.metric-value'))
             .filter((el) => el.scrollWidth > el.clientWidth).map((el) => el.textContent)"""
    )
    assert cut == []
    screenshot(page, f"inbound-{width}x{height}")
    page.context.close()


# Every visible text's colour against the background it sits on (the first opaque one up
# its ancestors), as WCAG computes contrast.
CONTRASTS = """() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/) || c.match(/color\\(srgb ([^)]+)\\)/);
    if (!m) return null;
    const parts = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    const scale = c.startsWith("color(") ? 255 : 1;
    const rgb = parts.slice(0, 3).map((v) => v * scale);
    return { rgb, alpha: parts.length > 3 ? parts[3] : 1 };
  };
  const lum = (rgb) => {
    const [r, g, b] = rgb.map((v) => {
      v /= 255;
      return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (let at = el; at; at = at.parentElement) {
      const bg = parse(getComputedStyle(at).backgroundColor);
      if (bg && bg.alpha > 0.5) return bg.rgb;
    }
    return [255, 255, 255];
  };
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el) continue;
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
    const box = el.getBoundingClientRect();
    if (box.width < 2 || box.height < 2) continue;
    if (el.closest(".sr-only, option, [aria-hidden=true]")) continue;
    const fg = parse(getComputedStyle(el).color);
    const a = lum(fg.rgb), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) found.push(node.textContent.trim().slice(0, 30) + " " + ratio.toFixed(2));
  }
  return found;
}"""


def test_every_text_reads_at_aa_contrast(owner_page: Page, base_url: str, tenant: Tenant) -> None:
    page = owner_page
    page.locator("[data-select-row]").first.check()  # the bulk bar shows
    page.click(".lead-row >> nth=1")
    page.wait_for_selector("#detail .detail-body")
    page.wait_for_timeout(2500)  # a fresh row's green has faded
    assert page.evaluate(CONTRASTS) == []
    screenshot(page, "inbound-contrast")
    page.goto(f"{base_url}/app/pipeline")
    assert page.evaluate(CONTRASTS) == []


def test_the_keyboard_works_the_table(owner_page: Page, leads: list[str]) -> None:
    page = owner_page
    page.click("h1")
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.click("h1")
    page.keyboard.press("j")
    expect(page.locator(".lead-row").first).to_be_focused()
    page.keyboard.press("j")
    expect(page.locator(".lead-row").nth(1)).to_be_focused()
    page.keyboard.press("k")
    expect(page.locator(".lead-row").first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#detail .detail-body")).to_have_attribute("data-lead-id", leads[-1])
    page.keyboard.press("Escape")
    page.keyboard.press("e")
    expect(page.locator("#detail select[name=stage]")).to_be_focused()
    page.click("h1")
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()
