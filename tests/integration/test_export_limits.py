"""How many CSV exports a workspace runs at once, through a real server: exports held open
by clients that stop reading, the next one refused, a slot given back when a client leaves."""

from __future__ import annotations

import csv
import io
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager

import httpx
from sqlalchemy import insert, select, update

from leadpipe.config import Settings
from leadpipe.kit.ids import uuid7
from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead
from tests.conftest import Tenant, make_tenant, serving
from tests.integration.dashboard import PASSWORD, add_member, csrf_of, login_form_token

# Leads per workspace, and a tag long enough that an export of them (about 4 MB) cannot
# fit in the sockets' buffers: the server waits for a client that stops reading, and its
# export stays running.
LEADS = 1500
TAG = "t" * 2500


def _many_leads(db: Database, tenant: Tenant) -> None:
    """``LEADS`` copies of one delivered lead, with a very long tag."""
    leads = table_of(Lead)
    with db.transaction() as conn:
        first = dict(conn.execute(select(leads)).mappings().one())
        copies = [{**first, "id": uuid7()} for _ in range(LEADS - 1)]
        conn.execute(insert(leads), copies)
        conn.execute(update(leads).values(tags=[TAG]))


def _slow_reader() -> httpx.HTTPTransport:
    """A client whose receive buffer is small, so that what it does not read stays on
    the server's side."""
    return httpx.HTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)])


def _signed_in(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, transport=_slow_reader(), timeout=30)
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "login_token": login_form_token(form.text)},
    )
    assert answer.status_code == 303, answer.text
    csrf_of(client.get("/app").text)
    return client


@contextmanager
def _held_open(client: httpx.Client) -> Iterator[httpx.Response]:
    """An export whose answer has begun and is not read further."""
    request = client.build_request("GET", "/app/export.csv", params={"status": "all"})
    answer = client.send(request, stream=True)
    try:
        yield answer
    finally:
        answer.close()


def _setup(db: Database) -> tuple[Tenant, str, str]:
    tenant = make_tenant(db)
    other = make_tenant(db, "other")
    return (
        tenant,
        add_member(db, tenant.workspace_id, "viewer"),
        add_member(db, other.workspace_id, "viewer", email="other@example.com"),
    )


def _deliver(base: str, tenant: Tenant) -> None:
    answer = httpx.post(
        base + tenant.url, json={"firstname": "Ann", "email": "ann@example.com", "productid": "X"}
    )
    assert answer.status_code == 200, answer.text


def test_a_workspace_runs_two_exports_at_once_and_the_third_is_refused_readably(
    settings: Settings, db: Database
) -> None:
    tenant, viewer, other_viewer = _setup(db)
    with serving(settings, db) as base:
        _deliver(base, tenant)
        _many_leads(db, tenant)
        with ExitStack() as stack:
            clients = [stack.enter_context(closing(_signed_in(base, viewer))) for _ in range(3)]
            first = stack.enter_context(_held_open(clients[0]))
            second = stack.enter_context(_held_open(clients[1]))
            assert (first.status_code, second.status_code) == (200, 200)

            page = clients[2].get("/app/export.csv")
            assert page.status_code == 429
            assert page.headers["content-type"].startswith("text/html")
            assert "running 2 exports already" in page.text

            htmx = clients[2].get("/app/export.csv", headers={"HX-Request": "true"})
            assert htmx.status_code == 429
            body = htmx.json()
            assert (body["success"], body["code"]) == (False, "RATE_LIMITED")
            assert body["request_id"]

            # Another workspace's exports are counted apart.
            with closing(_signed_in(base, other_viewer)) as elsewhere:
                assert elsewhere.get("/app/export.csv").status_code == 200

            # A client that leaves gives its export's slot back.
            first.close()
            deadline = time.monotonic() + 10
            while True:
                with _held_open(clients[2]) as third:
                    if third.status_code == 200:
                        break
                assert time.monotonic() < deadline, "the slot was not given back"
                time.sleep(0.1)

            second.close()

        # An export read to its end is whole, and gives its slot back when it ends.
        with httpx.Client(base_url=base, timeout=30) as reader:
            reader.cookies = clients[0].cookies
            for _ in range(3):
                answer = _once_a_slot_is_free(reader)
                assert answer.status_code == 200
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert len(rows) == LEADS
        assert rows[0]["tags"] == TAG


def _once_a_slot_is_free(reader: httpx.Client) -> httpx.Response:
    """An export, once the server has noticed that the clients closed above left: their
    slots come back when it does, which may be a moment after they closed."""
    deadline = time.monotonic() + 10
    while True:
        answer = reader.get("/app/export.csv", params={"status": "all"})
        if answer.status_code != 429 or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)
