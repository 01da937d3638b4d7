"""What a new team trips over on a first day, in Chromium: pages wider than a phone, a
lead's address cut in its panel, a metric's comparison cut, and a follow-up planned on
an unassigned lead that lands on nobody's My tasks."""

from __future__ import annotations

from datetime import datetime, timedelta

from playwright.sync_api import Browser, Page, expect

from leadpipe.storage.engine import Database
from tests.browser.conftest import deliver, signed_in_page, watch_console
from tests.conftest import Tenant
from tests.integration.dashboard import add_member

# No hyphen: a hyphen lets the browser break the address, and the test is its cut.
LONG_EMAIL = "alexandra.montgomerywellington@example.com"


# How many "·" separators of an element are the first thing on their line.
SEPARATORS_AT_LINE_START = """(el) => {
  const left = el.getBoundingClientRect().left;
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let count = 0;
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const at = node.data.indexOf("·");
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + 1);
    if (range.getBoundingClientRect().left - left < 2) count += 1;
  }
  return count;
}"""


def _page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_pages_with_tables_fit_a_phone(agent_page: Page, base_url: str, tenant: Tenant) -> None:
    errors = watch_console(agent_page)
    answer = deliver(
        base_url, tenant, firstname="Wide", lastname="Tables", email=LONG_EMAIL, productid="Solar"
    )
    agent_page.set_viewport_size({"width": 390, "height": 844})
    contact = agent_page.locator(f"#lead-{answer['lead_id']} a.name").get_attribute("href")
    for path in ("/app/webhooks", "/app/providers", f"/app/webhooks/{tenant.webhook_id}", contact):
        agent_page.goto(f"{base_url}{path}")
        assert _page_width(agent_page) <= 390, f"{path} is {_page_width(agent_page)} px wide"
    assert errors == [], errors


def test_the_members_page_fits_a_phone(
    agent_page: Page, browser: Browser, base_url: str, db: Database, tenant: Tenant
) -> None:
    # Its table's screen-reader-only "Actions" header stretched the page to 505 px.
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "owner"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base_url}/app/settings")
    expect(page.locator("#members-title")).to_be_visible()
    assert _page_width(page) <= 390, f"{_page_width(page)} px wide"
    page.context.close()


def test_a_lead_panel_shows_the_whole_address_and_no_line_starts_with_a_separator(
    agent_page: Page, base_url: str, tenant: Tenant
) -> None:
    answer = deliver(
        base_url,
        tenant,
        firstname="Long",
        lastname="Address",
        email=LONG_EMAIL,
        phone_number="5551234567",
        productid="Solar",
    )
    agent_page.locator(f"#lead-{answer['lead_id']}").click()
    head = agent_page.locator("#detail .detail-head .sub")
    expect(head).to_contain_text(LONG_EMAIL)
    email = head.locator("a[href^=mailto]")
    cut = email.evaluate("a => a.closest('.sub').scrollWidth > a.closest('.sub').clientWidth")
    assert not cut, "the address is cut"
    starts = head.evaluate(SEPARATORS_AT_LINE_START)
    assert starts == 0, "a line of the panel's head starts with a separator"


def test_every_metric_says_what_it_is_compared_with_in_full(
    agent_page: Page, base_url: str, tenant: Tenant
) -> None:
    deliver(base_url, tenant, firstname="Today", lastname="Lead", email="t@example.com")
    expect(agent_page.locator("#metrics [data-metric=todayLeads]")).to_contain_text("vs yesterday")
    changes = agent_page.locator("#metrics .metric-change")
    # 1101 px: the narrowest cards, seven in a row just above the four-column layout.
    for width in (1280, 1101):
        agent_page.set_viewport_size({"width": width, "height": 800})
        for i in range(changes.count()):
            change = changes.nth(i)
            cut = change.evaluate("e => e.scrollWidth > e.clientWidth")
            assert not cut, f"{change.inner_text()} is cut at {width} px"


def test_a_follow_up_on_an_unassigned_lead_is_the_planners_own(
    agent_page: Page, base_url: str, tenant: Tenant
) -> None:
    answer = deliver(
        base_url,
        tenant,
        firstname="Nobody",
        lastname="Has",
        email="n@example.com",
        productid="Roof",
    )
    agent_page.locator(f"#lead-{answer['lead_id']}").click()
    form = agent_page.locator("#detail .task-form")
    form.locator("input[name=task_title]").fill("Call back about the roof")
    due = (datetime.now() + timedelta(days=2)).strftime("%Y-%m-%dT10:00")
    form.locator("input[name=due_at]").fill(due)
    form.get_by_role("button", name="Add task").click()
    expect(agent_page.locator("#detail .task-list")).to_contain_text("Call back about the roof")
    agent_page.goto(f"{base_url}/app/tasks")
    expect(agent_page.locator("main")).to_contain_text("Call back about the roof")
