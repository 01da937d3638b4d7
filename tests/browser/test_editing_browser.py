"""Issue 24 in Chromium: editing a lead in its panel, the reason asked when a lead is
lost (panel, board), tasks in the panel and on My tasks, the reminder when one falls
due, the contact page's editing and the members page. Screenshots at three sizes go to
/tmp/shots/editing/ for a person to look at."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead, LeadTask, User
from tests.browser.conftest import deliver, signed_in_page, watch_console
from tests.conftest import Tenant
from tests.integration.dashboard import add_member
from tests.integration.helpers import one

SHOTS = Path("/tmp/shots/editing")
SIZES = {"desktop": (1280, 800), "tablet": (768, 1024), "phone": (390, 844)}


def _shots(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(150)
        page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def _wait_for(check: object, seconds: float = 3) -> None:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


def test_an_agent_edits_a_lead_in_its_panel_and_loses_it_with_a_reason(
    agent_page: Page, base_url: str, db: Database, tenant: Tenant
) -> None:
    errors = watch_console(agent_page)
    agent_page.reload()
    answer = deliver(
        base_url, tenant, firstname="Edit", lastname="Me", email="e@example.com", productid="Solar"
    )
    agent_page.locator(f"#lead-{answer['lead_id']}").click()
    panel = agent_page.locator("#detail")
    expect(panel.locator("h2")).to_have_text("Edit Me")
    panel.get_by_text("Edit details").click()
    form = panel.locator(".edit-form")
    form.locator("input[name=estimated_value]").fill("18000")
    form.locator("select[name=priority]").select_option("urgent")
    form.locator("input[name=tags]").fill("roof, callback")
    form.locator("input[name=expected_close_date]").fill("2030-06-30")
    form.get_by_role("button", name="Save details").click()
    expect(panel.locator(".fields")).to_contain_text("$18,000")
    expect(panel.locator(".fields")).to_contain_text("2030-06-30")
    expect(panel.locator(".timeline")).to_contain_text("Agent changed value from nothing to 18000")
    expect(agent_page.locator(f"#lead-{answer['lead_id']} .pill.p-urgent")).to_be_visible()
    assert errors == [], errors
    panel.get_by_text("Edit details").click()
    _shots(agent_page, "panel-editing")

    panel.locator("select[name=stage]").select_option("lost")
    fields = panel.locator("[data-lost-fields]")
    expect(fields).to_be_visible()
    assert one(db, Lead)["stage"] == "new", "nothing moves before a reason is given"
    fields.locator("select[name=lost_reason]").select_option("No response")
    fields.locator("input[name=lost_note]").fill("three calls, no answer")
    fields.get_by_role("button", name="Mark lost").click()
    expect(panel.locator(".fields")).to_contain_text("No response: three calls, no answer")
    expect(panel.locator(".timeline")).to_contain_text("Agent moved the lead from new to lost")
    assert one(db, Lead)["lost_reason"] == "No response: three calls, no answer"
    # Not asserted here: a lead leaving the table's view then logs one refused inline
    # style (style-src-attr) from the table's code, a debt noted apart.


def test_dropping_a_card_on_lost_asks_why_and_cancelling_puts_it_back(
    agent_page: Page, base_url: str, db: Database, tenant: Tenant
) -> None:
    answer = deliver(
        base_url, tenant, firstname="Drag", lastname="Lost", email="d@example.com", productid="HVAC"
    )
    agent_page.set_viewport_size({"width": 1900, "height": 900})  # every column in sight
    agent_page.goto(f"{base_url}/app/pipeline")
    card = agent_page.locator(f".board-card[data-lead-id='{answer['lead_id']}']")
    lost = agent_page.locator("[data-stage=lost] [data-board-column]")
    card.drag_to(lost)
    dialog = agent_page.locator("#lost-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(
        agent_page.locator(f"[data-stage=new] .board-card[data-lead-id='{answer['lead_id']}']")
    ).to_be_visible()
    assert one(db, Lead)["stage"] == "new"
    card.drag_to(lost)
    dialog.get_by_role("button", name="Mark lost").click()
    expect(dialog.locator("[data-lost-error]")).to_be_visible()  # neither reason nor words
    dialog.locator("select[name=lost_reason]").select_option("Price")
    dialog.get_by_role("button", name="Mark lost").click()
    _wait_for(lambda: one(db, Lead)["stage"] == "lost")
    assert (one(db, Lead)["stage"], one(db, Lead)["lost_reason"]) == ("lost", "Price")


def test_my_tasks_and_the_reminder_when_one_falls_due(
    agent_page: Page, base_url: str, db: Database, tenant: Tenant
) -> None:
    errors = watch_console(agent_page)
    me = one(db, User, email="agent@example.com")["id"]
    answer = deliver(
        base_url,
        tenant,
        firstname="Task",
        lastname="Owner",
        email="t@example.com",
        productid="Roof",
    )
    lead_id = str(answer["lead_id"])
    key = {"X-API-Key": tenant.api_key}
    now = datetime.now(UTC)
    for title, due in (
        ("Overdue call", now - timedelta(hours=2)),
        ("Send the quote", now + timedelta(days=3)),
    ):
        made = httpx.post(
            f"{base_url}/api/v3/leads/{lead_id}/tasks",
            json={"title": title, "due_at": due.isoformat(), "assignee_id": str(me)},
            headers=key,
        )
        assert made.status_code == 201, made.text
    agent_page.goto(f"{base_url}/app/tasks")
    expect(agent_page.locator("#group-overdue").locator("..")).to_contain_text("Overdue call")
    expect(agent_page.locator(".task-group.upcoming")).to_contain_text("Send the quote")
    expect(agent_page.locator("[data-tasks-badge]")).to_have_text("1")
    _shots(agent_page, "my-tasks")

    # One falls due in a few seconds while the page is open: a toast says so.
    soon = datetime.now(UTC) + timedelta(seconds=3)
    httpx.post(
        f"{base_url}/api/v3/leads/{lead_id}/tasks",
        json={"title": "Call at three", "due_at": soon.isoformat(), "assignee_id": str(me)},
        headers=key,
    )
    agent_page.goto(f"{base_url}/app")
    expect(agent_page.locator(f"#lead-{lead_id} .task-badge")).to_contain_text("1 due")
    toast = agent_page.locator(".toast", has_text="Call at three")
    expect(toast).to_be_visible(timeout=8000)
    expect(agent_page.locator("[data-tasks-badge]")).to_have_text("2")

    agent_page.goto(f"{base_url}/app/tasks")
    agent_page.get_by_role("button", name="Complete Overdue call").click()
    expect(agent_page.locator("#my-tasks")).not_to_contain_text("Overdue call")
    _wait_for(lambda: one(db, LeadTask, title="Overdue call")["done_at"] is not None)
    assert one(db, LeadTask, title="Overdue call")["done_at"] is not None
    agent_page.goto(f"{base_url}/app/tasks?show=done")
    agent_page.get_by_role("button", name="Reopen Overdue call").click()
    _wait_for(lambda: one(db, LeadTask, title="Overdue call")["done_at"] is None)
    assert one(db, LeadTask, title="Overdue call")["done_at"] is None

    agent_page.goto(f"{base_url}/app")
    agent_page.locator(f"#lead-{lead_id}").click()
    expect(agent_page.locator("#detail .lead-tasks")).to_contain_text("Send the quote")
    assert errors == [], errors


def test_the_contact_page_and_the_members_page(
    browser: Browser, base_url: str, db: Database, tenant: Tenant
) -> None:
    add_member(db, tenant.workspace_id, "agent")
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "owner"))
    errors = watch_console(page)
    answer = deliver(
        base_url, tenant, firstname="Cora", lastname="Tact", phone="5125550111", productid="Roof"
    )
    contact_id = answer["contact_id"]
    page.goto(f"{base_url}/app/contacts/{contact_id}")
    page.get_by_text("Edit contact").click()
    page.fill("input[name=city]", "Austin")
    page.fill("input[name=lastname]", "Contact")
    page.get_by_role("button", name="Save contact").click()
    expect(page.locator("h1")).to_have_text("Cora Contact")
    expect(page.locator(".timeline")).to_contain_text(
        "Owner changed last name from Tact to Contact"
    )
    page.get_by_text("Edit contact").click()
    _shots(page, "contact-page")

    page.goto(f"{base_url}/app/settings")
    page.on("dialog", lambda d: d.accept())
    row = page.locator("tr", has_text="agent@example.com")
    row.get_by_role("button", name="Deactivate").click()
    expect(page.locator("tr", has_text="agent@example.com")).to_contain_text("deactivated")
    assert not one(db, User, email="agent@example.com")["is_active"]
    _shots(page, "members")
    page.context.close()
    assert errors == [], errors
