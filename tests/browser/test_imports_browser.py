"""The imports page in Chromium: choosing a CSV file shows its columns and what each is
read as, the upload runs in the background, and the page follows it to its counts."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from leadpipe.imports.runner import run_import
from leadpipe.imports.service import imports
from leadpipe.kit.clock import utcnow
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead, LeadImport
from tests.browser.conftest import screenshot
from tests.conftest import Tenant
from tests.integration.helpers import count, one

HEADER = ["First Name", "E-mail", "Cell #", "Product", "Budget", "Roof"]
ROWS = [
    ["Jane", "jane@example.com", "512-555-0101", "Solar", "$25k", "shingle"],
    ["Bob", "", "(512) 555-0102", "HVAC", "", ""],
    ["", "not-an-email", "", "Solar", "", ""],
]


def _csv_file(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([HEADER, *rows])
    return path


def test_an_agent_uploads_a_file_maps_a_column_and_sees_the_counts(
    agent_page: Page, base_url: str, db: Database, tmp_path: Path
) -> None:
    page = agent_page
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.get_by_role("link", name="Imports").click()
    expect(page).to_have_url(f"{base_url}/app/imports")
    expect(page.get_by_text("No imports yet.")).to_be_visible()

    page.get_by_label("CSV file").set_input_files(_csv_file(tmp_path / "spring.csv", ROWS))
    choices = page.locator(".column-choice")
    expect(choices).to_have_count(len(HEADER))
    cell = page.get_by_label("Read Cell # as")
    expect(cell.locator("option:checked")).to_have_text("phone (by name)")
    roof = page.get_by_label("Read Roof as")
    expect(roof.locator("option:checked")).to_have_text("custom field (by name)")
    budget = page.get_by_label("Read Budget as")
    expect(budget.locator("option:checked")).to_have_text("budget_range (by name)")
    budget.select_option(label="estimated_value")
    screenshot(page, "imports-form")

    page.get_by_role("button", name="Import").click()
    expect(page).to_have_url(re.compile(r"/app/imports/[0-9a-f-]{36}$"))
    progress = page.locator("#import-progress")
    expect(progress.locator("[data-state]")).to_have_text("Done")
    expect(progress.locator("[data-count=rows_done]")).to_have_text("3")
    expect(progress.locator("[data-count=created]")).to_have_text("2")
    expect(progress.locator("[data-count=refused]")).to_have_text("1")
    expect(progress.get_by_role("link", name="Download the refused rows (CSV)")).to_be_visible()
    expect(progress.get_by_role("button", name="Resume")).to_be_hidden()
    listed = page.locator(".imports-list tbody tr")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("spring.csv")
    expect(listed).to_contain_text("Agent")
    screenshot(page, "imports-done")

    # The mapped column was read as asked, the others by their names.
    jane = one(db, Contact, email="jane@example.com")
    assert jane["custom_fields"] == {"Roof": "shingle"}
    assert one(db, Lead, contact_id=jane["id"])["estimated_value"] == 25000
    assert one(db, Contact, phone_number="+15125550102")["firstname"] == "Bob"

    with page.expect_download() as download:
        progress.get_by_role("link", name="Download the refused rows (CSV)").click()
    with Path(download.value.path()).open(newline="", encoding="utf-8") as f:
        report = list(csv.reader(f))
    assert report[0] == ["row_number", "reason", *HEADER]
    assert [line[0] for line in report[1:]] == ["3"]

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(progress.locator("[data-state]")).to_have_text("Done")
    screenshot(page, "imports-done-phone")
    page.get_by_label("CSV file").set_input_files(_csv_file(tmp_path / "again.csv", ROWS))
    expect(choices).to_have_count(len(HEADER))
    screenshot(page, "imports-form-phone")
    assert errors == []


def test_a_header_that_cannot_be_imported_is_shown_before_the_upload(
    agent_page: Page, base_url: str, db: Database, tmp_path: Path
) -> None:
    page = agent_page
    page.goto(f"{base_url}/app/imports")
    path = tmp_path / "twice.csv"
    path.write_text("Phone,phone\n5125550101,5125550102\n", encoding="utf-8")
    page.get_by_label("CSV file").set_input_files(path)
    expect(page.locator("[data-file-problem]")).to_contain_text("is named twice in the header row")
    expect(page.locator(".column-choice")).to_have_count(0)
    page.get_by_role("button", name="Import").click()
    expect(page.locator(".import-form .form-error[role=alert]")).to_contain_text("named twice")
    assert count(db, LeadImport) == 0


def test_the_page_follows_a_running_import_every_second_to_its_end(
    agent_page: Page, base_url: str, db: Database, tenant: Tenant, tmp_path: Path
) -> None:
    """The import runs here, chunk by chunk, while the page shows how far it got."""
    rows = [[f"P{n}", f"p{n}@example.com", "", "Solar", "", ""] for n in range(1, 10)]
    content = _csv_file(tmp_path / "nine.csv", rows).read_bytes()
    with db.transaction() as conn:
        imp = imports.start(
            conn,
            tenant.workspace_id,
            filename="nine.csv",
            content=content,
            column_map={},
            dry_run=False,
            created_by="cli",
            now=utcnow(),
        )
    page = agent_page
    page.goto(f"{base_url}/app/imports/{imp['id']}")
    progress = page.locator("#import-progress")
    expect(progress.locator("[data-state]")).to_have_text("Waiting")
    expect(progress.locator("[data-count=rows_total]")).to_have_text("9")
    seen: list[str] = []

    def shown(done: int, _total: int) -> None:
        # Each chunk is on the page within the poll's second before the next one runs.
        expect(progress.locator("[data-count=rows_done]")).to_have_text(str(done))
        expect(progress.locator("[data-count=created]")).to_have_text(str(done))
        seen.append(progress.locator("[data-state]").inner_text())
        if done == 3:
            screenshot(page, "imports-running")

    run_import(db, tenant.workspace_id, imp["id"], on_progress=shown, chunk_rows=3)
    assert seen == ["Importing", "Importing", "Importing"]
    expect(progress.locator("[data-state]")).to_have_text("Done")
    expect(progress.locator(".import-bar")).to_have_attribute("max", "9")
    expect(progress.locator(".import-bar")).to_have_attribute("value", "9")
    row = page.locator(f'.imports-list tr[data-import="{imp["id"]}"]')
    expect(row.locator("[data-state]")).to_have_text("Done")
    expect(row.locator("[data-count=created]")).to_have_text("9")
    expect(progress.get_by_role("link", name="Download the refused rows (CSV)")).to_be_hidden()
    assert count(db, Lead) == 9
