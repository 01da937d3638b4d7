"""Export benchmark: a server's memory while several CSV exports of one big workspace run.

Starts everything by itself: fills a database (once; a filled one is reused), serves it
with ``leadpipe serve`` (one worker) and signs in to the dashboard, then runs ``--exports``
exports of the whole lead table at once, ``--rounds`` times, and prints the server's
resident memory (RSS) before, at its peak (sampled every 20 ms) and a few seconds after
each round:

    python bench/exports.py --database-url sqlite:////tmp/bench-exports.db
    python bench/exports.py --database-url postgresql://postgres@127.0.0.1:5432/bench_exports

The workspace is ``bench/queries.py``'s largest (owner, agents, a year of leads), so
``bench/queries.py dashboard`` can time the dashboard on the same database (the keys file
is written for it). The server runs with ``LEADPIPE_MAX_CONCURRENT_EXPORTS`` set to
``--exports``, so that none of them is refused.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import machine
import queries
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from leadpipe.config import Settings
from leadpipe.storage import migrate
from leadpipe.storage.base import table_of
from leadpipe.storage.connect import normalize_url
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead

WORKSPACE = "bench000"
LEADPIPE = str(Path(sys.executable).with_name("leadpipe"))


def _create_postgres_database(url: str) -> None:
    target = normalize_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).first()
        if found is None:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def _leads_in_workspace(db: Database) -> int:
    leads = table_of(Lead)
    with db.transaction(write=False) as conn:
        stmt = select(func.count()).select_from(leads).where(leads.c.workspace_id == WORKSPACE)
        return int(conn.execute(stmt).scalar_one())


def fill(database_url: str, leads: int, keys: Path) -> None:
    """The big workspace, unless the database has it already."""
    if make_url(database_url).get_backend_name() == "postgresql":
        _create_postgres_database(database_url)
    db = Database.from_settings(Settings(database_url=database_url))
    migrate.upgrade(db.engine)
    found = _leads_in_workspace(db)
    if found and keys.exists():
        print(f"reusing {found:,} leads of workspace {WORKSPACE}")
        db.dispose()
        return
    started = time.perf_counter()
    key = queries.fill_workspace(db, WORKSPACE, leads, random.Random(5), with_team=True)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if db.dialect == "postgresql" else "ANALYZE")
    keys.write_text(
        json.dumps(
            {
                "workspace_id": WORKSPACE,
                "api_key": key,
                "leads": leads,
                "phone": queries._a_phone_with_leads(db, WORKSPACE),
            }
        )
    )
    db.dispose()
    print(f"filled {leads:,} leads in {time.perf_counter() - started:.0f} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class Sampler(threading.Thread):
    """The process's highest RSS since it started sampling."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.02)


def _serve(database_url: str, port: int, exports: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LEADPIPE_DATABASE_URL": database_url,
        "LEADPIPE_MAX_CONCURRENT_EXPORTS": str(exports),
        "LEADPIPE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LEADPIPE_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(
        [LEADPIPE, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return server
        except httpx.HTTPError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("leadpipe serve did not start") from None
            time.sleep(0.2)


def _signed_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=300)
    form = client.get("/login").text
    token = form.split('name="login_token" value="')[1].split('"')[0]
    signed = client.post(
        "/login",
        data={
            "email": queries.DASHBOARD_USER,
            "password": queries.DASHBOARD_PASSWORD,
            "login_token": token,
        },
    )
    assert signed.status_code == 303, signed.text
    return client


def _export(client: httpx.Client, lines: list[int], index: int) -> None:
    count = 0
    with client.stream("GET", "/app/export.csv", params={"status": "all"}) as answer:
        assert answer.status_code == 200, answer.read()
        for chunk in answer.iter_bytes():
            count += chunk.count(b"\n")
    lines[index] = count - 1  # the header


def _round(clients: list[httpx.Client], pid: int, settle: float) -> str:
    """All the clients' exports at once; the server's RSS before, at the peak and after."""
    before = rss_mib(pid)
    sampler = Sampler(pid)
    sampler.start()
    lines = [0] * len(clients)
    started = time.perf_counter()
    threads = [threading.Thread(target=_export, args=(c, lines, i)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    time.sleep(settle)
    sampler.stopped.set()
    sampler.join()
    after = rss_mib(pid)
    return (
        f"{len(clients)} x {min(lines):,} leads in {took:5.1f} s: RSS before {before:6.1f} MiB"
        f"   peak {sampler.peak:6.1f} (+{sampler.peak - before:5.1f})"
        f"   {settle:.0f} s after {after:6.1f} (+{after - before:5.1f})"
    )


def measure(database_url: str, exports: int, rounds: int, settle: float) -> None:
    port = _free_port()
    server = _serve(database_url, port, exports)
    try:
        clients = [_signed_in(f"http://127.0.0.1:{port}") for _ in range(exports)]
        clients[0].get("/app")  # the first page's imports and caches, not the exports'
        time.sleep(1)
        print(machine.describe())
        print(f"{make_url(database_url).get_backend_name()}, one worker:")
        for i in range(rounds):
            print(f"  round {i + 1}: {_round(clients, server.pid, settle)}", flush=True)
        for c in clients:
            c.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--leads", type=int, default=55_000)
    parser.add_argument("--exports", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="of --exports at once")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before 'after'")
    parser.add_argument("--keys", default="bench-exports-keys.json")
    args = parser.parse_args()
    fill(args.database_url, args.leads, Path(args.keys))
    measure(args.database_url, args.exports, args.rounds, args.settle)


if __name__ == "__main__":
    main()
