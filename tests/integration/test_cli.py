"""The ``leadpipe`` command: first start prints what a newcomer needs, and it works."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from leadpipe.accounts.passwords import verify_password
from leadpipe.accounts.rules import hash_api_key
from leadpipe.bootstrap import prepare
from leadpipe.cli import READY_LINE, app
from leadpipe.config import get_settings
from leadpipe.storage.engine import Database
from leadpipe.storage.models import (
    ApiKey,
    Contact,
    Lead,
    LeadActivity,
    LeadImport,
    Membership,
    Provider,
    User,
    Webhook,
)
from tests.conftest import Settings
from tests.integration.dashboard import login_form_token
from tests.integration.helpers import count, one, refusing_inserts, rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(
    env: dict[str, str],
    port: int,
    workers: int = 1,
    *,
    drain: bool = True,
    extra: tuple[str, ...] = (),
    timeout: float = 30,
) -> tuple[subprocess.Popen[str], str]:
    """Start ``leadpipe serve``; return the process and what it printed up to the end of
    its banner (printed once it listens). The rest of its output is read and dropped
    unless ``drain`` is false (then the caller must read it)."""
    command = ["serve", "--port", str(port), "--workers", str(workers), *extra]
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadpipe", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    printed = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        printed.append(line)
        if READY_LINE in line:
            break
    # The server logs a line per delivery: unread, they would fill the pipe, and a server
    # blocked writing its log neither serves nor stops.
    if drain:
        threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc, "".join(printed)


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("leadpipe did not become healthy within 30 s")


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def fresh_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
    env["LEADPIPE_DATABASE_URL"] = f"sqlite:///{tmp_path}/quickstart.db"
    return env


def test_first_start_prints_a_working_curl_command(
    fresh_env: dict[str, str], tmp_path: Path
) -> None:
    port = _free_port()
    proc, printed = _start(fresh_env, port)
    try:
        _wait_healthy(port)
        assert "API key:    lp_" in printed
        assert "Owner:      owner@example.com" in printed
        password = re.search(r"Password:\s+(\S+)\s+\(for the dashboard; shown once\)", printed)
        assert password is not None
        curl = next(line for line in printed.splitlines() if line.startswith("curl "))
        url = shlex.split(curl)[3]
        assert url == f"http://127.0.0.1:{port}/webhooks/" + url.rsplit("/", 1)[1]

        # Pasted into a shell, twice: each paste is a delivery of its own.
        first, again = _paste(curl), _paste(curl, after=1.1)
        assert (first["lead_action"], again["lead_action"]) == ("created", "created")
        assert (first["duplicate"], again["duplicate"]) == (False, False)
        assert first["lead_id"] != again["lead_id"]

        see_it = shlex.split(
            next(line for line in printed.splitlines() if line.startswith("curl -H 'X-API-Key"))
        )
        listed = httpx.get(see_it[-1], headers=dict([see_it[2].split(": ", 1)]), timeout=10)
        assert {lead["id"] for lead in listed.json()["data"]} == {
            first["lead_id"],
            again["lead_id"],
        }
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["status"] == "ok"

        # The printed dashboard URL, signed in with the printed credentials, shows the lead.
        dashboard = re.search(r"Dashboard:\s+(\S+)", printed)
        assert dashboard is not None
        with httpx.Client(timeout=10) as browser:
            form = browser.get(dashboard.group(1)).text
            signed = browser.post(
                dashboard.group(1),
                data={
                    "email": "owner@example.com",
                    "password": password.group(1),
                    "login_token": login_form_token(form),
                },
                follow_redirects=True,
            )
            assert signed.status_code == 200
            assert "John Doe" in signed.text
    finally:
        _stop(proc)

    db = Database.from_settings(Settings(database_url=fresh_env["LEADPIPE_DATABASE_URL"]))
    try:
        assert count(db, Contact) == 1
        assert count(db, Lead) == 2
        assert count(db, ApiKey) == 1
        owner = one(db, User, email="owner@example.com")
        assert verify_password(owner["password_hash"], password.group(1))
    finally:
        db.dispose()

    proc, printed = _start(fresh_env, port)  # a second start keeps what exists
    _stop(proc)
    assert "lp_" not in printed
    assert "Password:" not in printed
    assert re.search(r"Webhook:\s+http://127\.0\.0\.1:\d+/webhooks/wh_", printed)


def _paste(command: str, *, after: float = 0) -> dict[str, Any]:
    """Run a printed command in a POSIX shell, as a user who pasted it; its JSON answer."""
    time.sleep(after)  # the command's notes carry the time to the second
    ran = subprocess.run(
        ["sh", "-c", command + " --silent --show-error"],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    answer: dict[str, Any] = json.loads(ran.stdout)
    return answer


@pytest.mark.parametrize("workers", [1, 2])
def test_the_banner_is_printed_once_the_port_accepts_connections(
    fresh_env: dict[str, str], workers: int
) -> None:
    port = _free_port()
    proc, printed = _start(fresh_env, port, workers)
    try:
        assert READY_LINE in printed
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # at once
    finally:
        _stop(proc)


@pytest.mark.parametrize(
    ("trusted", "stored_ip"), [(None, "127.0.0.1"), ('["127.0.0.1/32"]', "203.0.113.99")]
)
def test_the_server_believes_forwarded_addresses_only_from_trusted_proxies(
    fresh_env: dict[str, str], trusted: str | None, stored_ip: str
) -> None:
    # uvicorn would believe X-Forwarded-For from 127.0.0.1 by itself; leadpipe's own
    # setting must be the only thing that decides.
    if trusted is not None:
        fresh_env["LEADPIPE_TRUSTED_PROXIES"] = trusted
    port = _free_port()
    proc, printed = _start(fresh_env, port)
    try:
        _wait_healthy(port)
        url = re.search(r"Webhook:\s+(\S+)", printed)
        assert url is not None
        response = httpx.post(
            url.group(1),
            json={"phone": "5550107777", "product": "Solar"},
            headers={"X-Forwarded-For": "203.0.113.99"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
    finally:
        _stop(proc)
    db = Database.from_settings(Settings(database_url=fresh_env["LEADPIPE_DATABASE_URL"]))
    try:
        assert one(db, Lead)["ip_address"] == stored_ip
    finally:
        db.dispose()


def test_two_workers_share_one_database_without_duplicates(fresh_env: dict[str, str]) -> None:
    port = _free_port()
    proc, printed = _start(fresh_env, port, workers=2)
    try:
        assert "2 workers share one SQLite file" in printed
        url = re.search(r"(http://\S+/webhooks/wh_\w+)", printed).group(1)  # type: ignore[union-attr]
        _wait_healthy(port)

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(timeout=20) as client:
                return await asyncio.gather(
                    *[
                        client.post(
                            url,
                            json={
                                "phone": "5550199999",
                                "product": "Solar",
                                "email": f"w{i}@example.com",
                            },
                        )
                        for i in range(20)
                    ]
                )

        responses = asyncio.run(burst())
        assert {r.status_code for r in responses} == {200}
        assert len({r.json()["contact_id"] for r in responses}) == 1
    finally:
        _stop(proc)


def _sockets(port: int, state: str) -> set[str]:
    """The inodes of TCP sockets on local ``port`` in ``state`` (01 established, 0A
    listening), from the kernel's tables."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                inodes.add(fields[9])
    return inodes


def _connections_per_worker(server: subprocess.Popen[str], port: int) -> list[int]:
    """How many of the connections to ``port`` each worker process of ``server`` holds."""
    ours = _sockets(port, "01")
    counts = []
    for proc in Path("/proc").iterdir():
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent != server.pid or b"spawn_main" not in (proc / "cmdline").read_bytes():
                continue
            held = {
                os.readlink(fd).removeprefix("socket:[").rstrip("]")
                for fd in (proc / "fd").iterdir()
            }
        except (OSError, ValueError, IndexError):
            continue
        counts.append(len(held & ours))
    return counts


@pytest.mark.skipif(sys.platform != "linux", reason="the kernel spreads connections on Linux")
def test_two_workers_each_take_a_share_of_connections_opened_together(
    fresh_env: dict[str, str],
) -> None:
    """Keep-alive connections opened at once (a load balancer's pool) used to go nearly
    all to one worker, which did all the work while the other idled."""
    port = _free_port()
    proc, _ = _start(fresh_env, port, workers=2)
    try:
        _wait_healthy(port)
        deadline = time.monotonic() + 30
        while len(_sockets(port, "0A")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # the second worker is still starting
        assert len(_sockets(port, "0A")) == 2  # a listening socket each

        async def open_together() -> list[int]:
            limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
            async with httpx.AsyncClient(limits=limits, timeout=20) as client:
                url = f"http://127.0.0.1:{port}/health"
                responses = await asyncio.gather(*[client.get(url) for _ in range(32)])
                assert {r.status_code for r in responses} == {200}
                return _connections_per_worker(proc, port)

        counts = asyncio.run(open_together())
    finally:
        _stop(proc)

    assert len(counts) == 2, counts
    assert sum(counts) == 32, counts
    assert min(counts) >= 4, counts  # spread at random: fewer than 4 in a million runs


@pytest.mark.parametrize("workers", [1, 2])
def test_stopping_under_load_loses_no_accepted_delivery(
    fresh_env: dict[str, str], workers: int
) -> None:
    """SIGTERM while deliveries stream in: every delivery answered 200 is stored, and
    every other one was refused or cut off, never answered and dropped."""
    port = _free_port()
    proc, printed = _start(fresh_env, port, workers=workers)
    url = re.search(r"(http://\S+/webhooks/wh_\w+)", printed).group(1)  # type: ignore[union-attr]
    _wait_healthy(port)

    async def stream() -> list[httpx.Response | Exception]:
        async def one(i: int) -> httpx.Response | Exception:
            await asyncio.sleep(i * 0.002)  # 500 a second, for a second
            try:
                return await client.post(url, json={"phone": f"555060{i:04d}", "product": "Solar"})
            except httpx.TransportError as exc:
                return exc

        async def stop_midway() -> None:
            await asyncio.sleep(0.5)
            proc.terminate()

        async with httpx.AsyncClient(timeout=20) as client:
            *outcomes, _ = await asyncio.gather(*[one(i) for i in range(500)], stop_midway())
        return outcomes

    try:
        outcomes = asyncio.run(stream())
        assert proc.wait(timeout=20) is not None
    finally:
        _stop(proc)

    answered = [o for o in outcomes if isinstance(o, httpx.Response)]
    accepted = [o.json()["lead_id"] for o in answered if o.status_code == 200]
    assert accepted, "the server stopped before taking any delivery"
    assert len(accepted) < 500, "the server took everything: it never stopped"
    assert {o.status_code for o in answered} <= {200, 503}
    db = Database.from_settings(Settings(database_url=fresh_env["LEADPIPE_DATABASE_URL"]))
    try:
        stored = {str(lead["id"]) for lead in rows(db, Lead)}
    finally:
        db.dispose()
    assert set(accepted) <= stored


class TestAdminCommands:
    @pytest.fixture
    def runner(
        self, fresh_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[CliRunner]:
        monkeypatch.setenv("LEADPIPE_DATABASE_URL", fresh_env["LEADPIPE_DATABASE_URL"])
        get_settings.cache_clear()
        runner = CliRunner()
        assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
        yield runner
        get_settings.cache_clear()

    def test_workspace_key_and_webhook(self, runner: CliRunner) -> None:
        created = runner.invoke(app, ["workspace", "create", "Sunny Solar", "--id", "39135"])
        assert created.exit_code == 0, created.output
        again = runner.invoke(app, ["workspace", "create", "Dup", "--id", "39135"])
        assert again.exit_code == 1
        assert "already exists" in again.output

        zoned = runner.invoke(app, ["workspace", "update", "39135", "--time-zone", "Asia/Tokyo"])
        assert zoned.exit_code == 0, zoned.output
        refused = runner.invoke(app, ["workspace", "update", "39135", "--time-zone", "Tokyo"])
        assert refused.exit_code == 1
        assert "not a time zone" in refused.output
        no_zone = runner.invoke(app, ["workspace", "create", "Z", "--id", "z1", "--time-zone", "X"])
        assert no_zone.exit_code == 1
        listed = runner.invoke(app, ["workspace", "list"])
        assert "Asia/Tokyo" in listed.output
        assert "z1" not in listed.output

        key = runner.invoke(app, ["apikey", "create", "39135", "--scope", "read"])
        assert key.exit_code == 0, key.output
        assert re.search(r"lp_[\w-]{20,}", key.output)

        hook = runner.invoke(
            app,
            [
                "webhook",
                "create",
                "39135",
                "--name",
                "FB",
                "--id",
                "fb_ws_us_solar_001",
                "--require-phone",
                "--mapping",
                '{"customer.phone": "phone"}',
            ],
        )
        assert hook.exit_code == 0, hook.output
        assert "/webhooks/fb_ws_us_solar_001" in hook.output
        db = Database.from_settings(get_settings())
        try:
            stored = one(db, Webhook, id="fb_ws_us_solar_001")
            assert stored["require_phone"] is True
            assert stored["field_mapping"] == {"customer.phone": "phone"}
            assert one(db, ApiKey, workspace_id="39135")["scopes"] == ["read"]
        finally:
            db.dispose()

        bad = runner.invoke(app, ["webhook", "create", "nope"])
        assert bad.exit_code == 1
        assert "No workspace with id or name" in bad.output

    def test_users_join_a_workspace_named_by_its_name_or_id(self, runner: CliRunner) -> None:
        created = runner.invoke(app, ["workspace", "create", "Sunny Solar", "--id", "39135"])
        assert created.exit_code == 0, created.output
        made = runner.invoke(
            app, ["user", "create", "ana@example.com", "--workspace", "Sunny Solar"]
        )
        assert made.exit_code == 0, made.output
        assert "agent of 39135" in made.output
        promoted = runner.invoke(
            app,
            ["user", "role", "ana@example.com", "--workspace", "Sunny Solar", "--role", "admin"],
        )
        assert promoted.exit_code == 0, promoted.output
        assert "admin of 39135" in promoted.output
        by_id = runner.invoke(app, ["user", "create", "bo@example.com", "--workspace", "39135"])
        assert by_id.exit_code == 0, by_id.output
        unknown = runner.invoke(app, ["user", "create", "cy@example.com", "--workspace", "Nope"])
        assert unknown.exit_code == 1
        assert "No workspace with id or name 'Nope'" in unknown.output

    def test_providers_are_created_listed_and_rotated_by_workspace_name(
        self, runner: CliRunner
    ) -> None:
        assert (
            runner.invoke(app, ["workspace", "create", "Sunny Solar", "--id", "39135"]).exit_code
            == 0
        )
        hook = runner.invoke(
            app, ["webhook", "create", "Sunny Solar", "--id", "wh_fb", "--preset", "facebook"]
        )
        assert hook.exit_code == 0, hook.output
        assert "Signing secret (shown once): whsec_" in hook.output
        made = runner.invoke(
            app,
            [
                "provider",
                "create",
                "sunny solar",
                "--name",
                "Click Ventures",
                "--id",
                "click",
                "--webhook",
                "wh_fb",
            ],
        )
        assert made.exit_code == 0, made.output
        key = made.output.split("Credential (shown once): ")[1].split()[0]
        assert key.startswith("lpp_")
        listed = runner.invoke(app, ["provider", "list", "39135"])
        assert "Click Ventures" in listed.output
        assert "wh_fb" in listed.output
        assert key not in listed.output
        updated = runner.invoke(
            app,
            [
                "webhook",
                "update",
                "39135",
                "wh_fb",
                "--signature-mode",
                "required",
                "--provider-required",
                "--rate-limit",
                "100",
                "--rate-window-seconds",
                "60",
                "--required-field",
                "zip_code",
            ],
        )
        assert updated.exit_code == 0, updated.output
        secret = runner.invoke(app, ["webhook", "add-secret", "39135", "wh_fb"])
        assert "Signing secret (shown once): whsec_" in secret.output
        rotated = runner.invoke(app, ["provider", "rotate", "39135", "click"])
        assert rotated.exit_code == 0, rotated.output
        new_key = rotated.output.split("(shown once): ")[1].split()[0]
        assert new_key != key
        db = Database.from_settings(get_settings())
        try:
            hook = one(db, Webhook, id="wh_fb")
            assert (hook["preset"], hook["signature_mode"], hook["provider_required"]) == (
                "facebook",
                "required",
                True,
            )
            assert (hook["rate_limit"], hook["required_fields"], len(hook["secrets"])) == (
                100,
                ["zip_code"],
                2,
            )
            stored = one(db, Provider, id="click")
            assert stored["key_hash"] == hash_api_key(new_key)
            assert stored["allowed_webhooks"] == ["wh_fb"]
        finally:
            db.dispose()
        unknown = runner.invoke(app, ["provider", "rotate", "39135", "nobody"])
        assert unknown.exit_code == 1

    def test_webhooks_and_keys_are_listed_shown_and_changed_by_workspace_name(
        self, runner: CliRunner
    ) -> None:
        assert (
            runner.invoke(app, ["workspace", "create", "Sunny Solar", "--id", "39135"]).exit_code
            == 0
        )
        assert (
            runner.invoke(
                app, ["webhook", "create", "39135", "--id", "wh_cli", "--name", "Ads"]
            ).exit_code
            == 0
        )
        made = runner.invoke(app, ["apikey", "create", "Sunny Solar", "--name", "Zapier"])
        assert made.exit_code == 0, made.output

        listed = runner.invoke(app, ["workspace", "list"])
        assert "Sunny Solar" in listed.output
        hooks = runner.invoke(app, ["webhook", "list", "sunny solar"])
        assert hooks.exit_code == 0, hooks.output
        assert "wh_cli" in hooks.output
        assert "enabled" in hooks.output
        shown = runner.invoke(app, ["webhook", "show", "39135", "wh_cli"])
        assert "/webhooks/wh_cli" in shown.output
        assert "set LEADPIPE_PUBLIC_URL" in shown.output
        assert "curl -X POST" in shown.output

        updated = runner.invoke(
            app, ["webhook", "update", "39135", "wh_cli", "--mapping", '{"mail": "email"}']
        )
        assert updated.exit_code == 0, updated.output
        assert runner.invoke(app, ["webhook", "disable", "39135", "wh_cli"]).exit_code == 0
        db = Database.from_settings(get_settings())
        try:
            hook = one(db, Webhook, id="wh_cli")
            assert (hook["field_mapping"], hook["is_active"]) == ({"mail": "email"}, False)
            assert runner.invoke(app, ["webhook", "enable", "39135", "wh_cli"]).exit_code == 0
            assert runner.invoke(app, ["webhook", "delete", "39135", "wh_cli"]).exit_code == 0
            assert one(db, Webhook, id="wh_cli")["deleted_at"] is not None
            again = runner.invoke(app, ["webhook", "delete", "39135", "wh_cli"])
            assert again.exit_code == 1
            assert "force" in again.output
            assert runner.invoke(app, ["webhook", "restore", "39135", "wh_cli"]).exit_code == 0
            assert one(db, Webhook, id="wh_cli")["is_active"] is True

            key = one(db, ApiKey, name="Zapier")
            keys = runner.invoke(app, ["apikey", "list", "39135"])
            assert str(key["id"]) in keys.output
            assert "lp_" in keys.output
            assert made.output.split("shown once): ")[1][:24] not in keys.output
            assert runner.invoke(app, ["apikey", "revoke", str(key["id"])]).exit_code == 0
            assert one(db, ApiKey, name="Zapier")["revoked_at"] is not None
            assert runner.invoke(app, ["apikey", "revoke", str(key["id"])]).exit_code == 1
        finally:
            db.dispose()
        unknown = runner.invoke(app, ["webhook", "list", "Nobody Inc"])
        assert unknown.exit_code == 1
        assert "No workspace with id or name" in unknown.output

    def test_admin_commands_work_on_a_database_nobody_has_migrated(
        self, fresh_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LEADPIPE_DATABASE_URL", fresh_env["LEADPIPE_DATABASE_URL"])
        get_settings.cache_clear()
        runner = CliRunner()
        try:
            created = runner.invoke(app, ["workspace", "create", "Fresh", "--id", "fresh"])
            assert created.exit_code == 0, created.output
            hook = runner.invoke(app, ["webhook", "create", "fresh", "--id", "wh_fresh"])
            assert hook.exit_code == 0, hook.output
            assert "/webhooks/wh_fresh" in hook.output
        finally:
            get_settings.cache_clear()

    def test_demo_fills_a_workspace(self, runner: CliRunner) -> None:
        result = runner.invoke(app, ["demo", "--leads", "150"])
        assert result.exit_code == 0, result.output
        db = Database.from_settings(get_settings())
        try:
            contacts, leads = count(db, Contact, workspace_id="demo"), count(db, Lead)
            stages = {r["stage"] for r in rows(db, Lead)}
            (sheet,) = rows(db, LeadImport)  # a tenth came as a spreadsheet
        finally:
            db.dispose()
        assert 80 < contacts < 150
        assert contacts < leads <= 150
        assert {"new", "won"} <= stages
        assert (sheet["status"], sheet["created"]) == ("done", 15)

    def test_the_demo_team_works_its_leads_and_the_owner_owns_the_workspace(
        self, runner: CliRunner
    ) -> None:
        made = runner.invoke(app, ["demo", "--leads", "120"])
        assert made.exit_code == 0, made.output
        password = re.search(
            r"Password \(the team's and the new owner's; shown once\): (\S+)", made.output
        )
        assert password is not None
        settings = get_settings()
        db = Database.from_settings(settings)
        try:
            leads = rows(db, Lead)
            worked = [lead for lead in leads if lead["assigned_user_id"] is not None]
            calls = count(db, LeadActivity, activity_type="call")
            assert len(worked) > len(leads) / 3
            assert calls > 0
            assert count(db, User) == 6  # the team and the owner
            for email in ("owner@example.com", "sam.rivera@example.com"):
                assert verify_password(one(db, User, email=email)["password_hash"], password[1])
            started = prepare(db, settings)
            assert started.workspace_id == "demo"
            assert started.owner is None  # the demo made it, the owner of its workspace
        finally:
            db.dispose()

    def test_the_demo_again_adds_nothing_and_keeps_the_passwords(
        self, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LEADPIPE_DEMO_PASSWORD", "demo-password-1234")
        get_settings.cache_clear()
        assert runner.invoke(app, ["demo", "--leads", "60"]).exit_code == 0
        settings = get_settings()
        db = Database.from_settings(settings)
        try:
            before = count(db, Lead), count(db, User), count(db, Webhook)
            again = runner.invoke(app, ["demo", "--leads", "60"])
            assert again.exit_code == 0, again.output
            assert "is there already, left as it is" in again.output
            assert (count(db, Lead), count(db, User), count(db, Webhook)) == before
            agent = one(db, User, email="priya.nair@example.com")
            assert verify_password(agent["password_hash"], "demo-password-1234")
        finally:
            db.dispose()


def _sign_in(dashboard: str, email: str, password: str) -> httpx.Response:
    """Sign in through the dashboard's login form; the page it lands on."""
    with httpx.Client(timeout=10) as browser:
        form = browser.get(dashboard).text
        return browser.post(
            dashboard,
            data={"email": email, "password": password, "login_token": login_form_token(form)},
            follow_redirects=True,
        )


def test_serve_demo_signs_the_owner_and_the_team_in_with_the_printed_password(
    fresh_env: dict[str, str],
) -> None:
    port = _free_port()
    demo = ("--demo", "--demo-leads", "60")
    proc, printed = _start(fresh_env, port, extra=demo, timeout=120)
    try:
        assert "Workspace:  demo" in printed
        assert "Team:       sam.rivera@example.com (agent)" in printed
        password = re.search(r"Password:\s+(\S+)\s+\(everyone's; shown once\)", printed)
        assert password is not None
        dashboard = f"http://127.0.0.1:{port}/login"
        for email in ("owner@example.com", "sam.rivera@example.com"):
            page = _sign_in(dashboard, email, password[1])
            assert page.status_code == 200
            assert page.url.path == "/app", email
            assert "Demo Home Services" in page.text
        assert _paste(next(x for x in printed.splitlines() if x.startswith("curl -X")))["success"]
    finally:
        _stop(proc)
    db = Database.from_settings(Settings(database_url=fresh_env["LEADPIPE_DATABASE_URL"]))
    try:
        before = count(db, Lead), count(db, User)
        owners = (
            count(db, Membership, role="owner"),
            count(db, Membership, role="owner", workspace_id="demo"),
        )
        assert owners == (1, 1)
    finally:
        db.dispose()

    proc, printed = _start(fresh_env, port, extra=demo)  # again: nothing new, same sign-in
    try:
        assert "shown once" not in printed
        assert _sign_in(dashboard, "jo.kowalski@example.com", password[1]).url.path == "/app"
    finally:
        _stop(proc)
    db = Database.from_settings(Settings(database_url=fresh_env["LEADPIPE_DATABASE_URL"]))
    try:
        assert (count(db, Lead), count(db, User)) == before
    finally:
        db.dispose()


def test_an_internal_error_leaves_the_clients_connection_usable(
    fresh_env: dict[str, str],
) -> None:
    """A 500 is answered and the connection stays open: the server used to reset it, and
    the client's next request on that keep-alive connection failed."""
    port = _free_port()
    proc, printed = _start(fresh_env, port)
    url = re.search(r"(http://\S+/webhooks/wh_\w+)", printed).group(1)  # type: ignore[union-attr]
    db = Database.from_settings(Settings(database_url=fresh_env["LEADPIPE_DATABASE_URL"]))
    try:
        _wait_healthy(port)
        with httpx.Client(timeout=10) as client:
            with refusing_inserts(db, "leads", "1 = 1", as_conflict=False):
                failed = client.post(url, json={"phone": "5550700001", "product": "Solar"})
            taken = client.post(url, json={"phone": "5550700002", "product": "Solar"})
    finally:
        _stop(proc)
        db.dispose()

    assert failed.status_code == 500
    assert failed.json()["code"] == "INTERNAL_ERROR"
    assert taken.status_code == 200, taken.text
