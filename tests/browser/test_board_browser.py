"""The pipeline board as a sales team uses it, in Chromium: every stage in sight, cards
that say who and how much, filters, the side panel, the keyboard, and a colleague's moves
shown live."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead, User
from tests.browser.conftest import deliver, screenshot, signed_in_page
from tests.conftest import Tenant
from tests.integration.dashboard import add_member
from tests.integration.helpers import one


def _change(base_url: str, tenant: Tenant, lead_id: object, **fields: object) -> None:
    """A colleague's change through the API (another channel than this page)."""
    answer = httpx.put(
        f"{base_url}/api/v3/leads/{lead_id}", json=fields, headers={"X-API-Key": tenant.api_key}
    )
    assert answer.status_code == 200, answer.text


@pytest.fixture
def board(browser: Browser, base_url: str, db: Database, tenant: Tenant) -> Iterator[Page]:
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "agent"))
    yield page
    page.context.close()


def _card(page: Page, lead_id: object, stage: str | None = None) -> object:
    column = f"[data-stage={stage}] " if stage else ""
    return page.locator(f"{column}.board-card[data-lead-id='{lead_id}']")


def test_every_stage_fits_at_1280_and_cards_say_who_how_much_and_how_long(
    board: Page, base_url: str, db: Database, tenant: Tenant
) -> None:
    agent = one(db, User, email="agent@example.com")
    ann = deliver(base_url, tenant, firstname="Ann", lastname="Lee", email="a@example.com",
                  productid="Solar")  # fmt: skip
    _change(base_url, tenant, ann["lead_id"], stage="proposal", estimated_value=10000,
            assigned_user_id=str(agent["id"]))  # fmt: skip
    board.goto(f"{base_url}/app/pipeline")

    columns = board.locator("#board [data-stage]")
    expect(columns).to_have_count(7)  # the seven default stages, New to Inactive
    widths = board.evaluate(
        "() => { const b = document.getElementById('board');"
        " return [b.scrollWidth, b.clientWidth, document.documentElement.scrollWidth]; }"
    )
    assert widths[0] <= widths[1], "the board scrolls sideways at 1280 px"
    assert widths[2] <= 1280, "the page scrolls sideways at 1280 px"

    card = _card(board, ann["lead_id"], "proposal")
    expect(card.locator(".avatar")).to_have_text("A")  # the agent's initials ("Agent")
    expect(card.locator(".value")).to_have_text("$10,000")
    expect(card).to_contain_text("in stage")
    # Proposal wins 60% of the time: $10,000 weighs $6,000.
    expect(board.locator("[data-stage=proposal] .column-sum")).to_contain_text("$6,000 weighted")
    screenshot(board, "board-1280")


def test_a_colleagues_move_shows_on_the_board_within_a_second(
    board: Page, base_url: str, tenant: Tenant
) -> None:
    lead = deliver(base_url, tenant, firstname="Live", email="live@example.com", productid="Solar")
    board.goto(f"{base_url}/app/pipeline")
    expect(board.locator("html")).to_have_attribute("data-live", "ready")
    expect(_card(board, lead["lead_id"], "new")).to_be_visible()

    started = time.monotonic()
    _change(base_url, tenant, lead["lead_id"], stage="negotiation")
    expect(_card(board, lead["lead_id"], "negotiation")).to_be_visible(timeout=2000)
    assert time.monotonic() - started < 1.5
    expect(_card(board, lead["lead_id"], "new")).to_have_count(0)

    # A new lead from a provider appears too, with the column's count.
    deliver(base_url, tenant, firstname="Fresh", email="fresh@example.com", productid="Solar")
    expect(board.locator("[data-stage=new] [data-column-count]")).to_have_text("1")


def test_a_card_opens_the_side_panel_and_moves_with_the_keyboard(
    board: Page, base_url: str, db: Database, tenant: Tenant
) -> None:
    lead = deliver(base_url, tenant, firstname="Kay", lastname="Board", email="k@example.com",
                   productid="Solar")  # fmt: skip
    board.goto(f"{base_url}/app/pipeline")
    card = _card(board, lead["lead_id"], "new")
    card.click()
    expect(board.locator("#detail .detail-body")).to_contain_text("Kay Board")
    board.wait_for_timeout(300)  # the panel's slide-in
    screenshot(board, "board-side-panel")
    board.locator("[data-close-detail]").click()

    card.focus()
    board.keyboard.press("Shift+ArrowRight")
    expect(_card(board, lead["lead_id"], "qualified")).to_be_visible()
    expect(board.locator("#board-said")).to_have_text("Moved to Qualified")
    deadline = time.monotonic() + 3
    while one(db, Lead)["stage"] != "qualified" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert one(db, Lead)["stage"] == "qualified"
    # The card keeps the focus through the board's redraw: it can move on at once.
    expect(_card(board, lead["lead_id"], "qualified")).to_be_focused()


def test_filters_narrow_the_board_and_stay_in_its_address(
    board: Page, base_url: str, db: Database, tenant: Tenant
) -> None:
    agent = one(db, User, email="agent@example.com")
    mine = deliver(base_url, tenant, firstname="Mine", email="m@example.com", productid="Solar")
    deliver(base_url, tenant, firstname="Other", email="o@example.com", productid="Roofing",
            source="Google Ads")  # fmt: skip
    _change(base_url, tenant, mine["lead_id"], assigned_user_id=str(agent["id"]))
    board.goto(f"{base_url}/app/pipeline")
    expect(board.locator(".board-card")).to_have_count(2)

    board.get_by_label("Only mine").check()
    expect(board.locator(".board-card")).to_have_count(1)
    expect(board.locator(".board-card")).to_contain_text("Mine")
    expect(board).to_have_url(f"{base_url}/app/pipeline?mine=1&product=&source=")

    board.get_by_label("Only mine").uncheck()
    board.get_by_label("Product").select_option("Roofing")  # at once: the last choice wins
    expect(board.locator(".board-card", has_text="Mine")).to_have_count(0)
    expect(board.locator(".board-card")).to_have_count(1)
    expect(board.locator(".board-card")).to_contain_text("Other")
    expect(board).to_have_url(f"{base_url}/app/pipeline?product=Roofing&source=")
    board.reload()  # the address keeps the filter
    expect(board.locator(".board-card")).to_have_count(1)
    expect(board.get_by_label("Product")).to_have_value("Roofing")


@pytest.mark.parametrize(("width", "height"), [(768, 1024), (390, 844)])
def test_the_board_on_narrower_screens_scrolls_sideways_inside_itself(
    browser: Browser, base_url: str, db: Database, tenant: Tenant, width: int, height: int
) -> None:
    deliver(base_url, tenant, firstname="Narrow", email="n@example.com", productid="Solar")
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "agent"))
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{base_url}/app/pipeline")
    expect(page.locator(".board-card")).to_have_count(1)
    page_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert page_width <= width, "the page itself scrolls sideways"
    screenshot(page, f"board-{width}")
    page.context.close()
