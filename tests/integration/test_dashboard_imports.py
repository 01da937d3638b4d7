"""The imports page over HTTP, on SQLite and PostgreSQL: an upload with a session starts
the import (with its column map and dry run), its progress as JSON, the error report,
resuming, who may import, and another workspace's imports out of sight."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import httpx
import pytest

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.imports.runner import run_import
from leadpipe.imports.service import imports
from leadpipe.kit.clock import utcnow
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead, LeadImport, User
from tests.conftest import Tenant, make_tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.helpers import count, one
from tests.integration.test_csv_import import ROWS, _csv_bytes, _post_import

MAP = ["Cell #=phone", "Budget=estimated_value"]
_IMPORT_URL = re.compile(r"^/app/imports/([0-9a-f-]{36})$")


async def _upload(
    client: httpx.AsyncClient,
    csrf: str,
    content: bytes,
    *,
    filename: str = "spring.csv",
    fields: dict[str, Any] | None = None,
) -> httpx.Response:
    """The page's form as a browser posts it: multipart, the file and the CSRF field."""
    return await client.post(
        "/app/imports",
        data={"csrf_token": csrf, "map": MAP, **(fields or {})},
        files={"file": (filename, content, "text/csv")},
    )


def _hx(csrf: str) -> dict[str, str]:
    """As the page's script asks: refusals come back in the envelope, not as a page."""
    return {"X-CSRF-Token": csrf, "HX-Request": "true"}


def _import_id(answer: httpx.Response) -> str:
    assert answer.status_code == 303, answer.text
    found = _IMPORT_URL.match(answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1)


async def _progress(client: httpx.AsyncClient, import_id: str) -> dict[str, Any]:
    answer = await client.get(f"/app/imports/{import_id}/progress")
    assert answer.status_code == 200, answer.text
    return dict(answer.json()["data"])


async def test_an_agent_uploads_a_file_and_sees_its_progress_counts_and_report(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    email = add_member(db, tenant.workspace_id, "agent")
    csrf = await sign_in(client, email)
    import_id = _import_id(await _upload(client, csrf, _csv_bytes(ROWS)))

    ended = await _progress(client, import_id)
    assert ended["status"] == "done"
    assert (ended["rows_done"], ended["rows_total"]) == (4, 4)
    assert (ended["created"], ended["updated"], ended["unchanged"], ended["refused"]) == (
        2,
        1,
        0,
        1,
    )
    assert ended["resumable"] is False
    assert ended["created_by"] == f"user:{one(db, User, email=email)['id']}"
    # The column map was applied: Bob is known by his cell number.
    assert one(db, Contact, phone_number="+15125550102")["lastname"] == "Jones"
    assert count(db, Lead) == 2

    page = (await client.get(f"/app/imports/{import_id}")).text
    assert "spring.csv" in page
    assert f'href="/app/imports/{import_id}/errors.csv"' in page
    assert "<td>Agent</td>" in page  # who imported it, by name, in the list

    report = await client.get(f"/app/imports/{import_id}/errors.csv")
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    assert "attachment" in report.headers["content-disposition"]
    lines = list(csv.reader(io.StringIO(report.text)))
    assert [line[0] for line in lines] == ["row_number", "3"]
    assert "not-an-email" in lines[1][1]


async def test_a_dry_run_from_the_page_reports_and_writes_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    answer = await _upload(client, csrf, _csv_bytes(ROWS), fields={"dry_run": "on"})
    import_id = _import_id(answer)
    ended = await _progress(client, import_id)
    # Each row planned against what is stored: Jane's second row too (as the API's).
    assert (ended["status"], ended["dry_run"], ended["created"], ended["refused"]) == (
        "done",
        True,
        3,
        1,
    )
    assert count(db, Lead) == 0
    assert count(db, Contact) == 0
    page = (await client.get(f"/app/imports/{import_id}")).text
    assert "Would be created" in page


async def test_the_page_says_what_each_column_will_be_read_as(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    answer = await client.post(
        "/app/imports/columns",
        content=b"First Name;E-mail;Cell #;Roof\nJane;j@example.com;5125550101;tile\n",
        headers={**_hx(csrf), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert [(c["name"], c["read_as"]) for c in data["columns"]] == [
        ("First Name", "firstname"),
        ("E-mail", "email"),
        ("Cell #", "phone"),
        ("Roof", "custom field"),
    ]
    assert "estimated_value" in data["fields"]

    repeated = await client.post(
        "/app/imports/columns",
        content=b"phone,Phone\n5125550101,5125550102\n",
        headers={**_hx(csrf), "Content-Type": "text/csv"},
    )
    assert repeated.status_code == 400
    assert repeated.json()["details"][0]["message"] == "is named twice in the header row"


async def test_a_file_that_cannot_be_imported_is_shown_on_the_form_and_writes_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    no_header = await _upload(client, csrf, b"\n\n")
    assert no_header.status_code == 400
    assert "has no header row" in no_header.text
    assert 'action="/app/imports"' in no_header.text  # the form, to choose another file
    unknown_column = await _upload(client, csrf, _csv_bytes(ROWS), fields={"map": ["Nope=phone"]})
    assert unknown_column.status_code == 400
    assert "is not a column of the file" in unknown_column.text
    assert count(db, LeadImport) == 0
    assert count(db, Contact) == 0


async def test_an_upload_without_its_csrf_token_is_refused(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    answer = await client.post(
        "/app/imports",
        data={"map": MAP},
        files={"file": ("spring.csv", _csv_bytes(ROWS), "text/csv")},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 403
    assert count(db, LeadImport) == 0


async def test_the_page_takes_files_over_the_body_limit_up_to_the_import_limit(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    content = _csv_bytes(
        [[f"P{n}", "Big", "", f"512555{n:04d}", "Solar", "", "", ""] for n in range(200)]
    )
    assert len(content) > 4000
    small = settings.model_copy(update={"max_body_bytes": 2000, "max_import_bytes": 20000})
    transport = httpx.ASGITransport(app=create_app(small, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        csrf = await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
        _import_id(await _upload(client, csrf, content))
        too_big = await _upload(client, csrf, content * 6)
        assert too_big.status_code == 413
    assert count(db, Contact) == 200
    assert count(db, LeadImport) == 1


@pytest.mark.parametrize("role", ["owner", "admin", "agent", "viewer"])
async def test_agents_and_up_import_and_viewers_see_the_list_only(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, role: str
) -> None:
    posted = await _post_import(client, tenant, _csv_bytes(ROWS), filename="by-api.csv")
    by_api = posted.json()["data"]["id"]
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, role))
    hx = _hx(csrf)
    page = await client.get("/app/imports")
    assert page.status_code == 200
    assert "by-api.csv" in page.text
    assert "<td>an API key</td>" in page.text
    assert (await client.get(f"/app/imports/{by_api}/progress")).status_code == 200
    assert (await client.get(f"/app/imports/{by_api}/errors.csv")).status_code == 200
    may_import = role != "viewer"
    assert ('action="/app/imports"' in page.text) is may_import
    answers = {
        "upload": await _upload(client, csrf, _csv_bytes(ROWS[:1]), filename="by-page.csv"),
        "columns": await client.post("/app/imports/columns", content=b"phone\n", headers=hx),
        "resume": await client.post(f"/app/imports/{by_api}/resume", headers=hx),
    }
    expected = {"upload": 303, "columns": 200, "resume": 409} if may_import else {}
    for action, answer in answers.items():
        assert answer.status_code == expected.get(action, 403), (role, action, answer.text)
    assert count(db, LeadImport) == (2 if may_import else 1)


async def test_another_workspaces_imports_are_not_found(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    theirs = make_tenant(db, workspace_id="elsewhere")
    posted = await _post_import(client, theirs, _csv_bytes(ROWS), filename="their-secret.csv")
    their_id = posted.json()["data"]["id"]
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "owner"))
    assert "their-secret.csv" not in (await client.get("/app/imports")).text
    for path in ("", "/progress", "/errors.csv"):
        answer = await client.get(f"/app/imports/{their_id}{path}")
        assert answer.status_code == 404, (path, answer.text)
        assert "their-secret" not in answer.text
        assert "not-an-email" not in answer.text
    resumed = await client.post(f"/app/imports/{their_id}/resume", headers=_hx(csrf))
    assert resumed.status_code == 404


async def test_a_failed_import_is_resumed_from_its_page(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    content = _csv_bytes(
        [
            [f"P{n}", "Test", f"p{n}@example.com", f"512555{n:04d}", "Solar", "", "", ""]
            for n in range(1, 8)
        ]
    )
    with db.transaction() as conn:
        imp = imports.start(
            conn,
            tenant.workspace_id,
            filename="broken.csv",
            content=content,
            column_map={"Cell #": "phone"},
            dry_run=False,
            created_by="cli",
            now=utcnow(),
        )

    def fail(done: int, _total: int) -> None:
        if done >= 3:
            raise RuntimeError("the disk went away")

    with pytest.raises(RuntimeError):
        run_import(db, tenant.workspace_id, imp["id"], on_progress=fail, chunk_rows=3)
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    failed = await _progress(client, str(imp["id"]))
    assert (failed["status"], failed["rows_done"], failed["resumable"]) == ("failed", 3, True)
    page = (await client.get(f"/app/imports/{imp['id']}")).text
    assert f'action="/app/imports/{imp["id"]}/resume"' in page
    assert "RuntimeError" in page  # why it failed

    resumed = await client.post(f"/app/imports/{imp['id']}/resume", data={"csrf_token": csrf})
    assert resumed.status_code == 303
    ended = await _progress(client, str(imp["id"]))
    assert (ended["status"], ended["rows_done"], ended["created"]) == ("done", 7, 7)
    assert count(db, Lead) == 7
    again = await client.post(f"/app/imports/{imp['id']}/resume", data={"csrf_token": csrf})
    assert again.status_code == 409
