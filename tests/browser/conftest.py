"""The dashboard in real headless Chromium: Debian's ``chromium`` driven by Playwright
(browsers cannot be downloaded here). Required when CI=true, skipped otherwise."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from leadpipe.config import Settings
from leadpipe.storage.engine import Database
from tests.conftest import Tenant
from tests.integration.dashboard import PASSWORD, add_member

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def _chromium() -> str | None:
    for path in (os.environ.get("LEADPIPE_CHROMIUM"), *CHROMIUM_PATHS):
        if path and Path(path).exists():
            return path
    return shutil.which("chromium")


# Per module, not per session: Playwright's sync API runs an event loop on this thread
# while it is open, and the asyncio tests after these need the thread to themselves.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium()
    if executable is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI=true requires Chromium (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


# The browser tests run on SQLite: what they check is the page, and the HTTP and live
# tests cover both databases.
@pytest.fixture
def settings(tmp_path: Path, sqlite_template: Path) -> Settings:
    path = tmp_path / "leadpipe.db"
    shutil.copy(sqlite_template, path)
    return Settings(database_url=f"sqlite:///{path}")


def screenshot(page: Page, name: str) -> None:
    """Saved for a person to look at (an ignored folder)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def signed_in_page(browser: Browser, base_url: str, email: str, **context: object) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 800}, **context).new_page()
    page.goto(f"{base_url}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/app")
    # Waited for by its attribute: a polled string predicate is evaluated in the page,
    # where the Content-Security-Policy refuses eval.
    expect(page.locator("html")).to_have_attribute("data-live", "ready")
    return page


@pytest.fixture
def agent_page(browser: Browser, base_url: str, db: Database, tenant: Tenant) -> Iterator[Page]:
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "agent"))
    yield page
    page.context.close()
