"""A live socket lasts only as long as the right it was opened with: a revoked key, a
removed member, an ended session or a disabled account closes it within seconds, with a
code the page acts on, and no lead event reaches it after the revocation; across workers
too (PostgreSQL LISTEN/NOTIFY, Redis pub/sub)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from leadpipe.accounts.repository import ApiKeyRepository, UserRepository
from leadpipe.accounts.rules import hash_api_key
from leadpipe.cli import app as cli
from leadpipe.config import Settings, get_settings
from leadpipe.storage.engine import Database
from tests.conftest import Tenant, serving
from tests.integration.dashboard import PASSWORD, add_member, csrf_of, login_form_token
from tests.integration.test_live_events import (
    REDIS_URL,
    _deliver,
    _next_events,
    _session_cookie,
    _socket,
    messages_in,
)

SIGNED_OUT = 4401
EXCLUDED = 4403
# A revocation announced through the hub closes its sockets in well under this.
PROMPTLY = 3.0
# The embedded SQLite server hears nothing from an admin command's process: its sockets
# find a revocation at their next check (web.live.ALONE_RECHECK_SECONDS).
BY_THE_NEXT_CHECK = 4.0


def _closed(ws: ClientConnection, within: float) -> tuple[int | None, list[dict[str, Any]], float]:
    """Reads until the server closes the socket: its close code, what it sent before (but
    pings), and how long it took."""
    started = time.monotonic()
    messages: list[dict[str, Any]] = []
    while True:
        left = within - (time.monotonic() - started)
        if left <= 0:
            pytest.fail(f"the socket was still open after {within} s; it sent {messages}")
        try:
            raw = ws.recv(timeout=left)
        except TimeoutError:
            continue
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
            return code, messages, time.monotonic() - started
        messages += [m for m in messages_in(raw) if m["type"] != "ping"]


def _assert_closed_before_the_lead(
    ws: ClientConnection, base_url: str, tenant: Tenant, code: int, within: float = PROMPTLY
) -> None:
    """A lead delivered right after the revocation never reaches the socket, which closes
    with ``code``."""
    _deliver(base_url, tenant, email="after@example.com", productid="Solar")
    got, messages, _ = _closed(ws, within)
    assert got == code
    assert messages == []


def _user_id(db: Database, email: str) -> Any:
    with db.transaction() as conn:
        found = UserRepository(conn).by_email(email)
    assert found is not None
    return found["id"]


def _key_id(db: Database, key: str) -> str:
    with db.transaction() as conn:
        found = ApiKeyRepository(conn).find_active(hash_api_key(key))
    assert found is not None
    return str(found["id"])


class Dashboard:
    """A signed-in browser of one user: its cookie and its page's CSRF token."""

    def __init__(self, base_url: str, email: str) -> None:
        self.cookie = _session_cookie(base_url, email)
        self.http = httpx.Client(base_url=base_url, headers={"Cookie": self.cookie})
        self.csrf = csrf_of(self.http.get("/app").text)

    def post(self, path: str, **form: str) -> httpx.Response:
        return self.http.post(path, data=form, headers={"X-CSRF-Token": self.csrf})


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The ``leadpipe`` command on the servers' database, as an operator runs it."""
    monkeypatch.setenv("LEADPIPE_DATABASE_URL", settings.database_url)
    if settings.redis_url:
        monkeypatch.setenv("LEADPIPE_REDIS_URL", settings.redis_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_a_revoked_api_key_closes_its_sockets(
    base_url: str, db: Database, tenant: Tenant, settings: Settings, runner: CliRunner
) -> None:
    with _socket(base_url, **{"X-API-Key": tenant.api_key}) as ws:
        revoked = runner.invoke(cli, ["apikey", "revoke", _key_id(db, tenant.api_key)])
        assert revoked.exit_code == 0, revoked.output
        if settings.database_url.startswith("sqlite"):
            code, messages, _ = _closed(ws, BY_THE_NEXT_CHECK)
            assert (code, messages) == (SIGNED_OUT, [])
        else:  # heard through LISTEN/NOTIFY, ahead of what was committed after it
            _assert_closed_before_the_lead(ws, base_url, tenant, SIGNED_OUT)


def test_a_removed_member_is_closed_out_and_the_others_hear_nothing_of_it(
    base_url: str, db: Database, tenant: Tenant
) -> None:
    owner = Dashboard(base_url, add_member(db, tenant.workspace_id, "owner"))
    leaving = add_member(db, tenant.workspace_id, "agent")
    with (
        _socket(base_url, Cookie=_session_cookie(base_url, leaving)) as ws,
        _socket(base_url, Cookie=owner.cookie) as bystander,
    ):
        # A role changed keeps the socket: the right is looked up again, and still holds.
        member = f"/app/settings/members/{_user_id(db, leaving)}"
        assert owner.post(member, role="viewer").status_code == 303
        assert owner.post(member, remove="1").status_code == 303
        _assert_closed_before_the_lead(ws, base_url, tenant, EXCLUDED)
        # The revocations never reached a socket as data; the lead did.
        events = _next_events(bystander, 2)
        assert [e["type"] for e in events] == ["webhook:contact_created", "lead.created"]


def test_signing_out_closes_the_sockets_of_that_session_only(
    base_url: str, db: Database, tenant: Tenant
) -> None:
    email = add_member(db, tenant.workspace_id, "viewer")
    leaving, staying = Dashboard(base_url, email), Dashboard(base_url, email)
    with (
        _socket(base_url, Cookie=leaving.cookie) as ws,
        _socket(base_url, Cookie=staying.cookie) as other,
    ):
        assert leaving.post("/logout").status_code == 303
        _assert_closed_before_the_lead(ws, base_url, tenant, SIGNED_OUT)
        assert [e["type"] for e in _next_events(other, 2)][1] == "lead.created"


def test_a_page_that_reconnects_after_its_session_ended_is_told_to_sign_in(
    base_url: str, db: Database, tenant: Tenant
) -> None:
    email = add_member(db, tenant.workspace_id, "viewer")
    leaving = Dashboard(base_url, email)
    assert leaving.post("/logout").status_code == 303
    url = base_url.replace("http://", "ws://") + "/live"
    with connect(url, additional_headers={"Cookie": leaving.cookie}, open_timeout=5) as ws:
        got, messages, _ = _closed(ws, PROMPTLY)
    assert (got, messages) == (SIGNED_OUT, [])


def test_a_new_password_closes_the_other_sessions_sockets(
    base_url: str, db: Database, tenant: Tenant
) -> None:
    email = add_member(db, tenant.workspace_id, "agent")
    changing, stolen = Dashboard(base_url, email), Dashboard(base_url, email)
    with (
        _socket(base_url, Cookie=changing.cookie) as own,
        _socket(base_url, Cookie=stolen.cookie) as ws,
    ):
        changed = changing.post(
            "/app/account/password",
            current_password=PASSWORD,
            new_password="another-long-password",
            repeat_password="another-long-password",
        )
        assert changed.status_code == 303, changed.text
        _assert_closed_before_the_lead(ws, base_url, tenant, SIGNED_OUT)
        assert [e["type"] for e in _next_events(own, 2)][1] == "lead.created"


def test_a_password_reset_by_an_operator_closes_the_users_sockets(
    base_url: str, db: Database, tenant: Tenant, settings: Settings, runner: CliRunner
) -> None:
    email = add_member(db, tenant.workspace_id, "agent")
    with _socket(base_url, Cookie=_session_cookie(base_url, email)) as ws:
        reset = runner.invoke(cli, ["user", "reset-password", email])
        assert reset.exit_code == 0, reset.output
        if settings.database_url.startswith("sqlite"):
            code, messages, _ = _closed(ws, BY_THE_NEXT_CHECK)
            assert (code, messages) == (SIGNED_OUT, [])
        else:
            _assert_closed_before_the_lead(ws, base_url, tenant, SIGNED_OUT)


def test_signing_out_everywhere_closes_every_session_and_its_sockets(
    base_url: str, db: Database, tenant: Tenant
) -> None:
    email = add_member(db, tenant.workspace_id, "agent")
    here, laptop = Dashboard(base_url, email), Dashboard(base_url, email)
    with (
        _socket(base_url, Cookie=here.cookie) as own,
        _socket(base_url, Cookie=laptop.cookie) as ws,
    ):
        signed_out = here.post("/app/account/sign-out-everywhere")
        assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/login")
        _assert_closed_before_the_lead(ws, base_url, tenant, SIGNED_OUT)
        code, messages, _ = _closed(own, PROMPTLY)
        assert (code, messages) == (SIGNED_OUT, [])
    with httpx.Client(base_url=base_url, headers={"Cookie": laptop.cookie}) as http:
        assert http.get("/app").status_code == 303  # back to the sign-in page


def test_an_operator_disabling_a_user_closes_their_sockets_and_stops_sign_in(
    base_url: str, db: Database, tenant: Tenant, settings: Settings, runner: CliRunner
) -> None:
    email = add_member(db, tenant.workspace_id, "agent")
    with _socket(base_url, Cookie=_session_cookie(base_url, email)) as ws:
        disabled = runner.invoke(cli, ["user", "disable", email])
        assert disabled.exit_code == 0, disabled.output
        if settings.database_url.startswith("sqlite"):
            code, messages, _ = _closed(ws, BY_THE_NEXT_CHECK)
            assert code in (SIGNED_OUT, EXCLUDED)
            assert messages == []
        else:
            _assert_closed_before_the_lead(ws, base_url, tenant, SIGNED_OUT)
    with httpx.Client(base_url=base_url) as http:
        form = http.get("/login")
        refused = http.post(
            "/login",
            data={"email": email, "password": PASSWORD, "login_token": login_form_token(form.text)},
        )
        assert refused.status_code == 401
    enabled = runner.invoke(cli, ["user", "enable", email])
    assert enabled.exit_code == 0, enabled.output
    assert _session_cookie(base_url, email).startswith("leadpipe_session=")


def test_an_account_disabled_behind_its_back_is_closed_by_the_periodic_check(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    """What disables a user without ``leadpipe user disable`` (here, SQL) announces
    nothing: the socket's periodic check finds it all the same."""
    email = add_member(db, tenant.workspace_id, "viewer")
    quick = settings.model_copy(update={"live_recheck_seconds": 1.0})
    with (
        serving(quick, db) as base_url,
        _socket(base_url, Cookie=_session_cookie(base_url, email)) as ws,
    ):
        with db.transaction() as conn:
            conn.execute(
                text("UPDATE users SET is_active = :no WHERE email = :email"),
                {"no": False, "email": email},
            )
        code, messages, took = _closed(ws, PROMPTLY)
        assert (code, messages) == (EXCLUDED, [])
        assert took < 2.5


def _two_servers(settings: Settings) -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        urls = []
        for _ in range(2):
            database = Database.from_settings(settings)
            stack.callback(database.dispose)
            urls.append(stack.enter_context(serving(settings, database)))
        yield urls[0], urls[1]


def _removal_on_one_server_closes_a_socket_on_the_other(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    # The periodic check is a minute away: only the announcement can close it in time.
    assert settings.live_recheck_seconds == 60
    owner_email = add_member(db, tenant.workspace_id, "owner")
    leaving = add_member(db, tenant.workspace_id, "agent")
    for first, second in _two_servers(settings):
        owner = Dashboard(first, owner_email)
        with _socket(second, Cookie=_session_cookie(second, leaving)) as ws:
            removed = owner.post(f"/app/settings/members/{_user_id(db, leaving)}", remove="1")
            assert removed.status_code == 303
            _assert_closed_before_the_lead(ws, first, tenant, EXCLUDED)


@pytest.mark.parametrize(
    "settings", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_postgresql_carries_a_revocation_to_every_worker(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    _removal_on_one_server_closes_a_socket_on_the_other(settings, db, tenant)


def test_redis_carries_a_revocation_to_every_worker(
    settings: Settings, db: Database, tenant: Tenant, redis_url: str
) -> None:
    with_redis = settings.model_copy(update={"redis_url": REDIS_URL})
    _removal_on_one_server_closes_a_socket_on_the_other(with_redis, db, tenant)
