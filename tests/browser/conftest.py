"""The dashboard in real headless Chromium: Debian's ``chromium`` driven by Playwright
(browsers cannot be downloaded here). Required when CI=true, skipped otherwise."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
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


def deliver(base_url: str, tenant: Tenant, **payload: object) -> dict[str, object]:
    """A lead posted to the tenant's webhook, as a lead provider does; its answer."""
    answer = httpx.post(f"{base_url}{tenant.url}", json=payload)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def screenshot(page: Page, name: str) -> None:
    """Saved for a person to look at (an ignored folder)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def signed_in_page(browser: Browser, base_url: str, email: str, **context: object) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 800}, **context).new_page()
    sign_in(page, base_url, email)
    return page


def sign_in(page: Page, base_url: str, email: str) -> None:
    """Through the sign-in form; returns once the inbound page is live."""
    page.goto(f"{base_url}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/app")
    # Waited for by its attribute: a polled string predicate is evaluated in the page,
    # where the Content-Security-Policy refuses eval.
    expect(page.locator("html")).to_have_attribute("data-live", "ready")


@pytest.fixture
def agent_page(browser: Browser, base_url: str, db: Database, tenant: Tenant) -> Iterator[Page]:
    page = signed_in_page(browser, base_url, add_member(db, tenant.workspace_id, "agent"))
    yield page
    page.context.close()


# Run in every page of a watched context before its own scripts (the DevTools protocol's
# scripts are not the page's: its Content-Security-Policy does not refuse them). A refused
# style or script is logged as an error too; the event says which directive refused it.
_REPORT_REFUSALS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP refused " + e.violatedDirective + ": " + (e.sample || e.blockedURI));
});
"""


def watch_console(page: Page) -> list[str]:
    """The errors the page's console shows from now on, in every page of its context:
    console errors, uncaught exceptions and what the Content-Security-Policy refuses."""
    errors: list[str] = []
    page.context.add_init_script(_REPORT_REFUSALS)
    page.on("console", lambda m: m.type == "error" and errors.append(f"{page.url}: {m.text}"))
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    return errors
