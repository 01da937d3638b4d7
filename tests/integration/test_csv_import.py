"""CSV import of leads (``leadpipe import leads``), on SQLite and PostgreSQL: columns read
by the webhooks' aliases and a column map, every row through the submission command (it
deduplicates and follows the decision matrix), a dry run that writes nothing, an error
report, a second run that adds nothing, and resuming after a crash; and the one command's
trail, the same whichever entrance a lead comes through."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from leadpipe.app import create_app
from leadpipe.cli import app as cli
from leadpipe.config import Settings, get_settings
from leadpipe.imports.runner import run_import
from leadpipe.imports.service import imports
from leadpipe.kit.clock import utcnow
from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import (
    Contact,
    Lead,
    LeadActivity,
    LeadCount,
    LeadImport,
    LeadStatusHistory,
)
from tests.conftest import Tenant
from tests.integration.helpers import activities, count, one, rows
from tests.integration.test_intake_http import post

HEADER = ["First Name", "Last Name", "E-mail", "Cell #", "Product", "Lead Status", "Budget", "Roof"]


@pytest.fixture
def run_cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``leadpipe ARGS`` in this process, on the test's database."""
    monkeypatch.setenv("LEADPIPE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli, list(args))
    get_settings.cache_clear()


def _csv(path: Path, body: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([header, *body])
    return path


ROWS = [
    ["Jane", "Smith", "jane@example.com", "512-555-0101", "Solar", "", "$25k", "shingle"],
    ["Bob", "Jones", "", "(512) 555-0102", "HVAC", "", "", ""],
    ["", "", "not-an-email", "", "Solar", "", "", ""],
    # Jane again, later in the file: her Solar lead moves on, no second lead.
    ["Jane", "Smith", "JANE@example.com", "", "Solar", "Qualified", "", ""],
]
MAP = ["--map", "Cell #=phone", "--map", "Budget=estimated_value"]


def _import(run_cli: Any, path: Path, *options: str) -> str:
    done = run_cli("import", "leads", str(path), "--workspace", "39135", *MAP, *options)
    assert done.exit_code == 0, done.output
    return str(done.output)


def _everything(db: Database) -> tuple[int, ...]:
    return tuple(count(db, model) for model in (Contact, Lead, LeadActivity, LeadStatusHistory))


def test_rows_become_contacts_and_leads_by_the_webhooks_rules(
    run_cli: Any, tenant: Tenant, db: Database, tmp_path: Path
) -> None:
    output = _import(run_cli, _csv(tmp_path / "leads.csv", ROWS))
    assert "2 created, 1 updated, 0 unchanged (imported before), 1 refused" in output
    assert "Cell # → phone" in output
    assert "Roof → custom field" in output
    jane = one(db, Contact, email="jane@example.com")
    assert (jane["firstname"], jane["phone_number"]) == ("Jane", "+15125550101")
    assert jane["custom_fields"] == {"Roof": "shingle"}
    (lead,) = rows(db, Lead, contact_id=jane["id"])
    assert (lead["stage"], lead["lead_source"], lead["estimated_value"]) == (
        "qualified",
        "CSV import",
        25000,
    )
    titles = [a["activity_type"] for a in activities(db, str(lead["id"]))]
    assert titles.count("lead_created") == 1
    assert "status_updated" in titles
    assert one(db, Contact, phone_number="+15125550102")["lastname"] == "Jones"


def test_a_dry_run_reports_and_writes_nothing(
    run_cli: Any, tenant: Tenant, db: Database, tmp_path: Path
) -> None:
    before = _everything(db)
    output = _import(run_cli, _csv(tmp_path / "leads.csv", ROWS), "--dry-run")
    assert "would be created" in output
    assert "1 refused" in output
    assert _everything(db) == before


def test_refused_rows_are_reported_with_why(
    run_cli: Any, tenant: Tenant, db: Database, tmp_path: Path
) -> None:
    report = tmp_path / "errors.csv"
    _import(run_cli, _csv(tmp_path / "leads.csv", ROWS), "--errors", str(report))
    with report.open(newline="", encoding="utf-8") as f:
        lines = list(csv.reader(f))
    assert lines[0] == ["row_number", "reason", *HEADER]
    (refused,) = lines[1:]
    assert refused[0] == "3"
    assert "not-an-email" in refused[1]
    assert refused[2:] == ROWS[2]  # as it was, to fix and import again


def test_a_file_imported_twice_adds_nothing(
    run_cli: Any, tenant: Tenant, db: Database, tmp_path: Path
) -> None:
    path = _csv(tmp_path / "leads.csv", ROWS)
    _import(run_cli, path)
    after_first = _everything(db)
    output = _import(run_cli, path)
    assert "0 created, 0 updated, 3 unchanged" in output
    assert _everything(db) == after_first


def test_an_import_stopped_by_a_crash_goes_on_from_its_row(
    run_cli: Any, tenant: Tenant, db: Database, tmp_path: Path
) -> None:
    body = [
        [f"P{n}", "Test", f"p{n}@example.com", f"512555{n:04d}", "Solar", "", "", ""]
        for n in range(1, 8)
    ]
    path = _csv(tmp_path / "leads.csv", body)
    with db.transaction() as conn:
        imp = imports.start(
            conn,
            tenant.workspace_id,
            filename=path.name,
            content=path.read_bytes(),
            column_map={"Cell #": "phone"},
            dry_run=False,
            created_by="cli",
            now=utcnow(),
        )

    def crash(done: int, _total: int) -> None:
        if done >= 3:
            raise KeyboardInterrupt  # the process stops after its chunk committed

    with pytest.raises(KeyboardInterrupt):
        run_import(db, tenant.workspace_id, imp["id"], on_progress=crash, chunk_rows=3)
    assert count(db, Lead) == 3
    assert one(db, LeadImport, id=imp["id"])["rows_done"] == 3

    done = run_cli("import", "leads", str(path), "--workspace", "39135", "--map", "Cell #=phone")
    assert done.exit_code == 0, done.output
    assert "after row 3" in done.output
    assert count(db, Lead) == 7
    assert count(db, Contact) == 7
    assert one(db, LeadImport, id=imp["id"])["status"] == "done"


def test_a_file_without_a_header_is_refused(
    run_cli: Any, tenant: Tenant, db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("\n", encoding="utf-8")
    done = run_cli("import", "leads", str(path), "--workspace", "39135")
    assert done.exit_code == 1
    assert "header" in done.output
    assert count(db, LeadImport) == 0


# -- one command: the same trail through every entrance ------------------------------------


def _trail(db: Database, lead_id: str) -> tuple[Any, ...]:
    """What a user sees of a new lead: its stage, its history and its timeline, less who
    brought it."""
    lead = one(db, Lead, id=lead_id)
    history = [
        (h["old_stage"], h["new_stage"]) for h in rows(db, LeadStatusHistory, lead_id=lead_id)
    ]
    timeline = sorted(a["activity_type"] for a in activities(db, lead_id))
    return (lead["stage"], lead["probability"], lead["product_key"], history, timeline)


def _kept_counts(db: Database) -> dict[tuple[str, str], int]:
    """The workspace's kept lead counts by stage and product (over every source)."""
    counted: dict[tuple[str, str], int] = {}
    with db.transaction(write=False) as conn:
        kept = conn.execute(select(table_of(LeadCount))).mappings().all()
    for r in kept:
        key = (r["stage"], r["product_key"])
        counted[key] = counted.get(key, 0) + r["lead_count"]
    return {key: n for key, n in counted.items() if n}


async def test_every_entrance_leaves_the_same_trail(
    client: httpx.AsyncClient, run_cli: Any, tenant: Tenant, db: Database, tmp_path: Path
) -> None:
    headers = {"X-API-Key": tenant.api_key}
    by_webhook = await post(client, tenant, {"phone": "5125550201", "product": "Solar"})
    assert by_webhook.status_code == 200, by_webhook.text
    by_contact_api = await client.post(
        "/api/v3/contacts",
        json={"phone_number": "5125550202", "enable_lead_tracking": True, "product": "Solar"},
        headers=headers,
    )
    assert by_contact_api.status_code == 201, by_contact_api.text
    contact = await client.post(
        "/api/v3/contacts", json={"phone_number": "5125550203"}, headers=headers
    )
    by_lead_api = await client.post(
        "/api/v3/leads",
        json={"contact_id": contact.json()["data"]["id"], "product_interest": "Solar"},
        headers=headers,
    )
    assert by_lead_api.status_code == 201, by_lead_api.text
    _import(run_cli, _csv(tmp_path / "one.csv", [["", "", "", "5125550204", "Solar", "", "", ""]]))
    by_import = one(db, Contact, phone_number="+15125550204")

    lead_ids = [
        by_webhook.json()["lead_id"],
        by_contact_api.json()["data"]["leads"][0]["id"],
        by_lead_api.json()["data"]["id"],
        str(one(db, Lead, contact_id=by_import["id"])["id"]),
    ]
    trails = [_trail(db, lead_id) for lead_id in lead_ids]
    assert trails[0][0] == "new"
    assert all(trail == trails[0] for trail in trails), trails
    # The kept counts follow every entrance: four Solar leads in New.
    assert _kept_counts(db) == {("new", "solar"): 4}


# -- the API: /api/v3/imports ---------------------------------------------------------------


def _csv_bytes(body: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([header, *body])
    return out.getvalue().encode()


async def _post_import(
    client: httpx.AsyncClient, tenant: Tenant, content: bytes, **params: Any
) -> httpx.Response:
    return await client.post(
        "/api/v3/imports",
        content=content,
        params={"map": ["Cell #=phone", "Budget=estimated_value"], **params},
        headers={"X-API-Key": tenant.api_key, "Content-Type": "text/csv"},
    )


async def test_a_file_posted_to_the_api_is_imported_with_its_report(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    posted = await _post_import(client, tenant, _csv_bytes(ROWS), filename="spring.csv")
    assert posted.status_code == 202, posted.text
    started = posted.json()["data"]
    assert (started["filename"], started["rows_total"]) == ("spring.csv", 4)
    headers = {"X-API-Key": tenant.api_key}
    ended = (await client.get(f"/api/v3/imports/{started['id']}", headers=headers)).json()["data"]
    assert ended["status"] == "done"
    assert (ended["created"], ended["updated"], ended["refused"]) == (2, 1, 1)
    assert count(db, Lead) == 2
    report = await client.get(f"/api/v3/imports/{started['id']}/errors", headers=headers)
    assert report.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(report.text)))
    assert [line[0] for line in lines] == ["row_number", "3"]
    listed = (await client.get("/api/v3/imports", headers=headers)).json()["data"]
    assert [imp["id"] for imp in listed] == [started["id"]]


async def test_the_page_s_form_upload_and_a_dry_run(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    posted = await client.post(
        "/api/v3/imports",
        params={"dry_run": "true", "map": "Cell #=phone"},
        files={"file": ("from-form.csv", _csv_bytes(ROWS), "text/csv")},
        headers={"X-API-Key": tenant.api_key},
    )
    assert posted.status_code == 202, posted.text
    imp_id = posted.json()["data"]["id"]
    ended = (
        await client.get(f"/api/v3/imports/{imp_id}", headers={"X-API-Key": tenant.api_key})
    ).json()["data"]
    assert (ended["filename"], ended["dry_run"], ended["created"]) == ("from-form.csv", True, 3)
    assert count(db, Lead) == 0
    assert count(db, Contact) == 0


@pytest.mark.parametrize(
    ("content", "content_type", "params", "status"),
    [
        (b"", "text/csv", {}, 400),
        (b"\n\n", "text/csv", {}, 400),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "text/csv", {}, 400),
        (b'{"phone": "5125550101"}', "application/json", {}, 415),
        (b"phone,phone\n5125550101,5125550102\n", "text/csv", {}, 400),
        (b"phone\n5125550101\n", "text/csv", {"map": "Nope=phone"}, 400),
        (b"phone\n5125550101\n", "text/csv", {"map": "no equals sign"}, 400),
        (b"phone\n" + b"5125550101\n" * 20, "text/csv", {}, 413),
    ],
)
async def test_a_file_that_cannot_be_imported_is_refused_and_writes_nothing(
    settings: Settings,
    db: Database,
    tenant: Tenant,
    content: bytes,
    content_type: str,
    params: dict[str, str],
    status: int,
) -> None:
    app = create_app(settings.model_copy(update={"max_import_bytes": 100}), db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answer = await client.post(
            "/api/v3/imports",
            content=content,
            params=params,
            headers={"X-API-Key": tenant.api_key, "Content-Type": content_type},
        )
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False
    assert body["error"]
    assert count(db, LeadImport) == 0
    assert count(db, Contact) == 0


async def test_resuming_a_done_import_is_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    posted = await _post_import(client, tenant, _csv_bytes(ROWS[:1]))
    imp_id = posted.json()["data"]["id"]
    again = await client.post(
        f"/api/v3/imports/{imp_id}/resume", headers={"X-API-Key": tenant.api_key}
    )
    assert again.status_code == 409


def test_imported_leads_export_back(
    run_cli: Any, tenant: Tenant, db: Database, tmp_path: Path
) -> None:
    _import(run_cli, _csv(tmp_path / "leads.csv", ROWS))
    output = tmp_path / "out.csv"
    done = run_cli("export", "leads", "39135", "--output", str(output))
    assert done.exit_code == 0, done.output
    with output.open(newline="", encoding="utf-8") as f:
        exported = list(csv.DictReader(f))
    # The phones come back as imported, in E.164 and with no formula guard before them.
    phones = sorted(r["contact_phone"] for r in exported)
    assert phones == ["+15125550101", "+15125550102"]
    assert {r["lead_source"] for r in exported} == {"CSV import"}
