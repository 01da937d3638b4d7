"""Exports of leads, contacts and activities, through a real server (``/api/v3/exports``) and
the command line (``leadpipe export``), on SQLite and PostgreSQL: every record once, the
lists' filters, formulas kept as text, read scope, other workspaces never, streamed."""

from __future__ import annotations

import csv
import io
import json
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from typer.testing import CliRunner

from leadpipe.accounts.service import account
from leadpipe.cli import app as cli
from leadpipe.config import Settings, get_settings
from leadpipe.kit.ids import uuid7
from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead, LeadActivity
from tests.conftest import Tenant, make_tenant
from tests.integration.helpers import rows

FORMULA = '=HYPERLINK("http://evil.example/x","Click me")'
KINDS = ("leads", "contacts", "activities")


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


def _deliver(http: httpx.Client, tenant: Tenant, **payload: Any) -> dict[str, Any]:
    answer = http.post(tenant.url, json=payload)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.fixture
def seeded(http: httpx.Client, tenant: Tenant, db: Database) -> dict[str, Any]:
    """Leads made by intake and through the API, an activity logged through the API, and
    another workspace's lead."""
    headers = {"X-API-Key": tenant.api_key}
    ana = _deliver(
        http,
        tenant,
        firstname="Ana",
        phone="(555) 201-0001",
        email="ana@example.com",
        product="Solar Panels",
        source="Facebook Ads",
    )
    bob = _deliver(
        http, tenant, firstname="Bob", phone="5552010002", product="HVAC", source="Google"
    )
    _deliver(http, tenant, firstname=FORMULA, email="eve@example.com", product="Solar Panels")
    made = http.post(
        "/api/v3/contacts",
        headers=headers,
        json={
            "firstname": "Cy",
            "email": "cy@example.com",
            "product": "Roofing",
            "enable_lead_tracking": True,
        },
    )
    assert made.status_code == 201, made.text
    call = http.post(
        f"/api/v3/leads/{ana['lead_id']}/activities",
        headers=headers,
        json={"activity_type": "call", "title": "Called Ana", "outcome": "positive"},
    )
    assert call.status_code == 201, call.text
    other = make_tenant(db, "other")
    _deliver(http, other, firstname="Zed", email="zed@example.com", product="Solar Panels")
    return {"ana": ana, "bob": bob, "call": call.json()["data"], "other": other}


def _stored(db: Database, kind: str, workspace_id: str) -> set[str]:
    model = {"leads": Lead, "contacts": Contact, "activities": LeadActivity}[kind]
    return {str(r["id"]) for r in rows(db, model, workspace_id=workspace_id)}


def _records(text: str, fmt: str) -> list[dict[str, Any]]:
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text)))
    return [json.loads(line) for line in text.splitlines()]


def _api(http: httpx.Client, tenant: Tenant, kind: str, **params: Any) -> httpx.Response:
    return http.get(f"/api/v3/exports/{kind}", params=params, headers={"X-API-Key": tenant.api_key})


def _exported(http: httpx.Client, tenant: Tenant, kind: str, **params: Any) -> list[dict[str, Any]]:
    answer = _api(http, tenant, kind, **params)
    assert answer.status_code == 200, answer.text
    return _records(answer.text, params.get("format", "csv"))


@pytest.fixture
def run_cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``leadpipe ARGS`` in this process, on the test's database."""
    monkeypatch.setenv("LEADPIPE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli, list(args))
    get_settings.cache_clear()


def _cli_export(run_cli: Any, tmp_path: Path, kind: str, *options: str) -> str:
    fmt = options[options.index("--format") + 1] if "--format" in options else "csv"
    output = tmp_path / f"{kind}.{fmt}"
    done = run_cli("export", kind, "39135", "--output", str(output), *options)
    assert done.exit_code == 0, done.output
    return output.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_every_record_is_exported_once_through_the_api_and_the_command(
    fmt: str,
    http: httpx.Client,
    tenant: Tenant,
    seeded: dict[str, Any],
    db: Database,
    run_cli: Any,
    tmp_path: Path,
) -> None:
    for kind in KINDS:
        answer = _api(http, tenant, kind, format=fmt)
        assert answer.status_code == 200, answer.text
        expected_type = "text/csv" if fmt == "csv" else "application/x-ndjson"
        assert answer.headers["content-type"].startswith(expected_type)
        disposition = answer.headers["content-disposition"]
        assert disposition.startswith(f'attachment; filename="{kind}-39135-')
        assert disposition.endswith(f'.{fmt}"')
        records = _records(answer.text, fmt)
        ids = [r["id"] for r in records]
        assert len(ids) == len(set(ids)), kind  # each once
        assert set(ids) == _stored(db, kind, tenant.workspace_id), kind
        assert {r["workspace_id"] for r in records} == {"39135"}

        from_cli = _records(_cli_export(run_cli, tmp_path, kind, "--format", fmt), fmt)
        assert from_cli == records, kind

    leads = _exported(http, tenant, "leads", format=fmt)
    ana = next(r for r in leads if r["id"] == seeded["ana"]["lead_id"])
    if fmt == "csv":
        assert ana["contact_email"] == "ana@example.com"
        # A phone is a value, not a formula: written as it is, with no apostrophe.
        assert ana["contact_phone"] == "+15552010001"
    else:
        assert ana["contact"]["email"] == "ana@example.com"
        assert "raw_payload" not in ana  # as the list shows a lead


def test_the_lists_filters_narrow_an_export(
    http: httpx.Client, tenant: Tenant, seeded: dict[str, Any], run_cli: Any, tmp_path: Path
) -> None:
    solar = _exported(http, tenant, "leads", product="solar panels", format="jsonl")
    assert {r["product_interest"] for r in solar} == {"Solar Panels"}
    assert len(solar) == 2
    by_source = _exported(http, tenant, "leads", source="facebook ads", format="jsonl")
    assert [r["id"] for r in by_source] == [seeded["ana"]["lead_id"]]
    assert _exported(http, tenant, "leads", created_to="2000-01-01") == []
    assert len(_exported(http, tenant, "leads", created_from="2000-01-01")) == 4

    (contact,) = _exported(http, tenant, "contacts", phone="555-201-0001")
    assert contact["email"] == "ana@example.com"
    assert [c["firstname"] for c in _exported(http, tenant, "contacts", q="cy@example.com")] == [
        "Cy"
    ]

    (call,) = _exported(http, tenant, "activities", type="call")
    assert call["id"] == seeded["call"]["id"]
    assert _exported(http, tenant, "activities", product="HVAC", type="call") == []
    hvac = _exported(http, tenant, "activities", product="HVAC")
    assert hvac
    assert {r["lead_id"] for r in hvac} == {seeded["bob"]["lead_id"]}

    from_cli = _records(_cli_export(run_cli, tmp_path, "leads", "--product", "Solar Panels"), "csv")
    assert sorted(r["id"] for r in from_cli) == sorted(r["id"] for r in solar)
    calls = _cli_export(run_cli, tmp_path, "activities", "--type", "call", "--format", "jsonl")
    assert [r["id"] for r in _records(calls, "jsonl")] == [call["id"]]
    hvac_cli = _cli_export(
        run_cli, tmp_path, "activities", "--product", "HVAC", "--format", "jsonl"
    )
    assert sorted(r["id"] for r in _records(hvac_cli, "jsonl")) == sorted(r["id"] for r in hvac)


def test_a_formula_is_kept_as_text_in_csv_and_as_sent_in_json_lines(
    http: httpx.Client, tenant: Tenant, seeded: dict[str, Any], run_cli: Any, tmp_path: Path
) -> None:
    for text in (_api(http, tenant, "leads").text, _cli_export(run_cli, tmp_path, "leads")):
        (eve,) = [r for r in _records(text, "csv") if r["contact_email"] == "eve@example.com"]
        assert eve["contact_firstname"] == "'" + FORMULA
    (eve,) = _exported(http, tenant, "contacts", email="eve@example.com")
    assert eve["firstname"] == "'" + FORMULA
    (eve,) = _exported(http, tenant, "contacts", email="eve@example.com", format="jsonl")
    assert eve["firstname"] == FORMULA


def test_an_export_needs_the_read_scope(
    http: httpx.Client, tenant: Tenant, seeded: dict[str, Any], db: Database
) -> None:
    with db.transaction() as conn:
        writer = account.create_api_key(conn, workspace_id="39135", name="w", scopes=["write"])
    for kind in KINDS:
        refused = http.get(f"/api/v3/exports/{kind}", headers={"X-API-Key": writer.key})
        assert refused.status_code == 403, refused.text
        body = refused.json()
        assert (body["success"], body["code"]) == (False, "FORBIDDEN")
        assert "'read' scope" in body["error"]
        assert http.get(f"/api/v3/exports/{kind}").status_code == 401


def test_another_workspaces_records_never_appear(
    http: httpx.Client, tenant: Tenant, seeded: dict[str, Any], run_cli: Any, tmp_path: Path
) -> None:
    other: Tenant = seeded["other"]
    for kind in KINDS:
        for fmt in ("csv", "jsonl"):
            text = _api(http, tenant, kind, format=fmt).text
            assert "zed@example.com" not in text, (kind, fmt)
            assert {r["workspace_id"] for r in _records(text, fmt)} == {"39135"}
        assert "zed@example.com" not in _cli_export(run_cli, tmp_path, kind)
        theirs = _exported(http, other, kind, format="jsonl")
        assert theirs
        assert {r["workspace_id"] for r in theirs} == {"other"}
    # A filter naming another workspace's contact finds nothing.
    assert _exported(http, tenant, "contacts", email="zed@example.com") == []


def test_bad_filters_are_refused_in_the_envelope_and_by_the_command(
    http: httpx.Client, tenant: Tenant, seeded: dict[str, Any], run_cli: Any
) -> None:
    for kind, params in (
        ("leads", {"format": "xml"}),
        ("leads", {"created_from": "yesterday"}),
        ("leads", {"stage_name": "won"}),
        ("contacts", {"phone": "not a phone"}),
    ):
        refused = _api(http, tenant, kind, **params)
        assert refused.status_code == 400, (kind, params, refused.text)
        assert refused.json()["code"] == "VALIDATION_ERROR"

    unknown = run_cli("export", "leads", "nope")
    assert unknown.exit_code == 1
    assert "Workspace 'nope' not found" in unknown.output
    bad_date = run_cli("export", "leads", "39135", "--created-from", "yesterday")
    assert bad_date.exit_code == 2
    assert "--created-from" in bad_date.output
    bad_phone = run_cli("export", "contacts", "39135", "--phone", "not a phone")
    assert bad_phone.exit_code == 1
    assert "is not a phone number" in bad_phone.output


# -- a big export: streamed, and limited per workspace -----------------------------------

MANY = 5000


def _many_leads(db: Database) -> None:
    """``MANY`` copies of the workspace's first lead."""
    leads = table_of(Lead)
    with db.transaction() as conn:
        first = dict(
            conn.execute(select(leads).where(leads.c.workspace_id == "39135").limit(1))
            .mappings()
            .one()
        )
        copies = [{**first, "id": uuid7()} for _ in range(MANY - 1)]
        conn.execute(insert(leads), copies)


def _slow_reader(base_url: str) -> httpx.Client:
    """A client whose receive buffer is small: what it does not read stays on the
    server's side, whose export then waits (and keeps running)."""
    transport = httpx.HTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)])
    return httpx.Client(base_url=base_url, transport=transport, timeout=30)


def test_a_big_export_streams_and_a_workspace_runs_two_at_once(
    base_url: str, tenant: Tenant, db: Database, http: httpx.Client
) -> None:
    _deliver(http, tenant, firstname="Ana", email="ana@example.com", product="Solar")
    _many_leads(db)
    headers = {"X-API-Key": tenant.api_key}
    with ExitStack() as stack:
        firsts, held = [], []
        for _ in range(2):
            client = stack.enter_context(_slow_reader(base_url))
            request = client.build_request(
                "GET", "/api/v3/exports/leads", params={"format": "jsonl"}, headers=headers
            )
            answer = client.send(request, stream=True)
            stack.callback(answer.close)
            assert answer.status_code == 200
            # Its first bytes arrive while the rest is still being read and written.
            assert "content-length" not in answer.headers
            reading = answer.iter_raw()  # kept: a dropped iterator closes the connection
            held.append(reading)
            first = next(reading)
            assert first
            firsts.append(len(first))

        third = http.get("/api/v3/exports/contacts", headers=headers)
        assert third.status_code == 429, third.text
        body = third.json()
        assert (body["success"], body["code"]) == (False, "RATE_LIMITED")
        assert third.headers["retry-after"]
        other = make_tenant(db, "other")  # counted apart
        assert (
            http.get("/api/v3/exports/leads", headers={"X-API-Key": other.api_key}).status_code
            == 200
        )

    # Both give their slots back (once the server sees their clients gone); one read
    # whole has every lead once.
    deadline = time.monotonic() + 10
    while (
        whole := http.get("/api/v3/exports/leads", params={"format": "jsonl"}, headers=headers)
    ).status_code == 429:
        assert time.monotonic() < deadline, "the slots were not given back"
        time.sleep(0.1)
    assert whole.status_code == 200
    ids = [json.loads(line)["id"] for line in whole.text.splitlines()]
    assert len(ids) == len(set(ids)) == MANY
    assert max(firsts) < len(whole.content) / 10
