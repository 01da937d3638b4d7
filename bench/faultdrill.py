"""The fault drill: leadpipe served by real workers on a fresh PostgreSQL database, fed
deliveries the way providers send them while things break, then the database checked for
every delivery that was answered 2xx: never lost, never stored twice.

What breaks, each at a share of the deliveries sent: one worker is SIGKILLed (the
supervisor must replace it, and the replacement must serve); the Redis connection is cut
(a TCP proxy of the drill's own drops its connections and refuses new ones for a few
seconds); PostgreSQL is restarted (optional: it stops every other user of the server).

What the clients do, as providers do: a share of the deliveries post a few hot phones at
once (contact races); every delivery carries a delivery id (``Idempotency-Key`` or
``webhook-id``), and is re-sent with it after a timeout, a connection error, a 5xx, a
409 or a 429 (after its Retry-After), until it is answered 2xx or a bound is reached; some are
abandoned on purpose right after sending (a provider's own timeout) and some are sent
again after their 2xx (a provider that did not note it). Each delivery carries a unique
``utm_content``, which intake stores on the lead it opens: the check counts leads by it.

Used by ``bench/faults.py`` (the command, with figures) and
``tests/integration/test_fault_drill.py`` (a small run in the test suite). Every loop is
bounded in count and time; all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

WORKSPACE = "drill"
WEBHOOK = "wh_drill"
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# 555 numbers are fictional, and intake keeps them (contacts/rules.py). Hot phones take
# the low numbers, every other delivery one of its own above them.
HOT_PHONE_BASE = 1000
# Answers that ask for the same delivery again later: 429 (after Retry-After), and 409,
# the same delivery still being written or a concurrent change (docs/operations.md).
RETRIED = frozenset({409, 429})
UNIQUE_PHONE_BASE = 1_000_000


@dataclass
class DrillConfig:
    count: int = 20_000
    workers: int = 2
    concurrency: int = 32
    rate: float | None = None
    """Deliveries started per second; None: as fast as the server answers."""
    hot_share: float = 0.1
    """Share of the deliveries that post one of a few hot phones, several at once."""
    hot_phones: int = 5
    burst: int = 4
    """Deliveries of one hot phone posted at the same moment, each on its own connection."""
    abandon_share: float = 0.02
    """Deliveries whose first request is dropped right after it is sent, then re-sent."""
    resend_share: float = 0.02
    """Deliveries sent once more, with their delivery id, after their 2xx."""
    kill_worker_at: float | None = 0.25
    cut_redis_at: float | None = 0.45
    cut_redis_seconds: float = 4.0
    restart_postgres_at: float | None = None
    postgres_restart: list[str] | None = None
    """The command that restarts PostgreSQL; None: found (``restart_command``)."""
    admin_url: str = DEFAULT_ADMIN_URL
    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    time_limit: float = 600.0
    """Seconds for the whole traffic; what is left unsent then counts as not sent."""
    delivery_limit: float = 120.0
    """Seconds one delivery keeps being retried before its client gives up."""
    max_attempts: int = 40
    request_timeout: float = 15.0
    requests_per_connection: int = 50
    """A client connection is closed after this many requests (as a load balancer's pool
    recycles them), so that new connections reach a replaced worker too."""
    startup_timeout: float = 90.0
    seed: int = 7
    leadpipe: list[str] = field(default_factory=lambda: [sys.executable, "-m", "leadpipe"])
    """The ``leadpipe`` command: this interpreter's."""


@dataclass
class Delivery:
    n: int
    phone: str
    key_header: str
    hot: bool = False
    abandon: bool = False
    resend: bool = False
    answered: bool = False
    gave_up: bool = False
    refused: int | None = None
    started: bool = False
    attempts: int = 0

    @property
    def external_id(self) -> str:
        return f"fd-{self.n}"


@dataclass
class WorkerSeen:
    pid: int
    first_seen: float
    last_seen: float
    connections: int = 0
    """Most client connections it held at one sample."""
    cpu_seconds: float = 0.0


@dataclass
class DrillResult:
    config: DrillConfig
    sent: int = 0
    answered: int = 0
    stored: int = 0
    duplicated: int = 0
    lost: int = 0
    gave_up: int = 0
    refused: int = 0
    not_sent: int = 0
    requests: int = 0
    retries: int = 0
    abandoned: int = 0
    resent: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    hot_phone_contacts: dict[str, int] = field(default_factory=dict)
    initial_workers: list[int] = field(default_factory=list)
    killed_worker: int | None = None
    workers: dict[int, WorkerSeen] = field(default_factory=dict)
    final_workers: list[int] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    failure: str | None = None
    """Why the drill could not send its traffic (the server did not come up)."""
    startup_seconds: float = 0.0
    """From ``leadpipe serve`` to all its workers answering."""
    elapsed: float = 0.0
    supervisor_deaths: int = 0
    """Workers the supervisor's log reports dead (killed, crashed or not answering)."""
    tracebacks: int = 0
    """Tracebacks in the server's log."""
    unhandled: list[str] = field(default_factory=list)
    """The server log's ``unhandled error`` entries (answered 500), each with what follows."""
    server_log: str = ""

    @property
    def replacements(self) -> list[WorkerSeen]:
        """Workers that came up once the traffic had begun, in order."""
        return sorted(
            (w for w in self.workers.values() if w.first_seen >= self.startup_seconds),
            key=lambda w: w.first_seen,
        )

    @property
    def lost_while_starting(self) -> list[int]:
        """Workers that went away before the server first had all of them up."""
        return [
            w.pid
            for w in self.workers.values()
            if w.first_seen < self.startup_seconds and w.pid not in self.initial_workers
        ]

    @property
    def dropped_by_supervisor(self) -> list[int]:
        """Workers that went away without the drill killing them."""
        return [
            pid
            for pid in self.workers
            if pid not in self.final_workers
            and pid != self.killed_worker
            and pid not in self.lost_while_starting
        ]

    @property
    def replacement_served(self) -> bool:
        """Whether a replacement of the killed worker is alive at the end and held client
        connections."""
        return any(w.pid in self.final_workers and w.connections > 0 for w in self.replacements)

    def _came_back(self) -> str:
        if self.killed_worker is None:
            return "none killed"
        return "yes" if self.replacement_served else "no"

    def lines(self) -> list[str]:
        c = self.config
        replaced = ", ".join(
            f"{w.pid} (up at {w.first_seen:.1f} s, "
            f"{'alive' if w.pid in self.final_workers else 'gone'} at the end, "
            f"at most {w.connections} connections, {w.cpu_seconds:.1f} s CPU)"
            for w in self.replacements
        )
        return [
            *([f"FAILED          {self.failure}"] if self.failure else []),
            f"sent            {self.sent:,} deliveries ({self.requests:,} requests: "
            f"{self.retries:,} retries, {self.abandoned:,} abandoned on purpose, "
            f"{self.resent:,} re-sent after their 2xx); not sent in time: {self.not_sent:,}",
            f"answered 2xx    {self.answered:,}",
            f"stored          {self.stored:,}",
            f"duplicated      {self.duplicated:,}",
            f"lost            {self.lost:,}",
            f"gave up         {self.gave_up:,}   (refused with a 4xx: {self.refused:,})",
            f"hot phones      {len(self.hot_phone_contacts)} phones, contacts per phone "
            f"{sorted(self.hot_phone_contacts.values())}",
            f"startup         {self.startup_seconds:.1f} s to {c.workers} workers serving; "
            f"workers lost while starting: {len(self.lost_while_starting)}",
            f"workers         {self.initial_workers} at start; killed: "
            f"{self.killed_worker or 'none'}; replaced: {len(self.replacements)}"
            + (f" [{replaced}]" if replaced else ""),
            f"                went away without the drill: {self.dropped_by_supervisor or 'none'};"
            f" the killed one came back and served: {self._came_back()};"
            f" deaths in the supervisor's log: {self.supervisor_deaths}",
            f"server log      {self.tracebacks} tracebacks, "
            f"{len(self.unhandled)} unhandled errors (answered 500)",
            f"statuses        {dict(sorted(self.statuses.items()))}",
            f"elapsed         {self.elapsed:.1f} s of traffic "
            f"({self.sent / self.elapsed if self.elapsed else 0:,.0f} deliveries/s)",
            *(f"event           {e}" for e in self.events),
        ]


# --- the database ---------------------------------------------------------------------


@contextmanager
def fresh_database(admin_url: str = DEFAULT_ADMIN_URL) -> Iterator[str]:
    """A new, empty PostgreSQL database (leadpipe migrates it), dropped afterwards."""
    admin = make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"leadpipe_faults_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with suppress(Exception), engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def restart_command() -> list[str]:
    """How PostgreSQL restarts here: Debian's ``pg_ctlcluster`` for the cluster on port
    5432 when there is one, else the service."""
    if shutil.which("pg_lsclusters") and shutil.which("pg_ctlcluster"):
        listed = subprocess.run(
            ["pg_lsclusters", "--no-header"], capture_output=True, text=True, timeout=10
        ).stdout
        for line in listed.splitlines():
            version, cluster, port, *_ = line.split()
            if port == "5432":
                return ["pg_ctlcluster", version, cluster, "restart"]
    return ["service", "postgresql", "restart"]


def stored_leads(
    database_url: str, deliveries: list[Delivery]
) -> tuple[Counter[str], dict[str, int]]:
    """Leads per delivery (by the ``utm_content`` each carried) and contacts per hot phone."""
    engine = create_engine(database_url, poolclass=NullPool)
    hot = sorted({d.phone for d in deliveries if d.hot})
    try:
        with engine.connect() as conn:
            leads = Counter(
                {
                    row[0]: row[1]
                    for row in conn.execute(
                        text(
                            "SELECT utm_content, count(*) FROM leads WHERE workspace_id = :ws"
                            " AND utm_content LIKE 'fd-%' GROUP BY utm_content"
                        ),
                        {"ws": WORKSPACE},
                    )
                }
            )
            contacts = dict.fromkeys(hot, 0)
            for row in conn.execute(
                text(
                    "SELECT phone_number, count(*) FROM contacts WHERE workspace_id = :ws"
                    " AND phone_number = ANY(:phones) GROUP BY phone_number"
                ),
                {"ws": WORKSPACE, "phones": [f"+1{p}" for p in hot]},
            ):
                contacts[row[0].removeprefix("+1")] = row[1]
    finally:
        engine.dispose()
    return leads, contacts


# --- the Redis proxy ------------------------------------------------------------------


class CuttableProxy:
    """A TCP proxy to Redis that can cut every connection and refuse new ones for a while,
    as a network partition or a Redis restart would."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._refuse_until = 0.0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.connections = 0
        self.refused = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self, seconds: float) -> int:
        """Drop every open connection, and refuse new ones for ``seconds``; how many."""
        with self._lock:
            self._refuse_until = time.monotonic() + seconds
            cut, self._open = self._open, set()
        for sock in cut:
            _close(sock)
        return len(cut) // 2

    def close(self) -> None:
        self._listener.close()
        self.cut(0)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if time.monotonic() < self._refuse_until:
                self.refused += 1
                # A reset, as from a port nobody listens on.
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                client.close()
                continue
            try:
                server = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            self.connections += 1
            with self._lock:
                self._open |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            _close(sock)
        with self._lock:
            self._open -= {source, sink}


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


# --- the server -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(database_url: str, redis_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
    redis = f"127.0.0.1:{redis_port}"
    env.update(
        {
            "LEADPIPE_DATABASE_URL": database_url,
            "LEADPIPE_RATE_LIMIT_STORAGE": f"async+redis://{redis}",
            "LEADPIPE_REDIS_URL": f"redis://{redis}/0",
            # The drill measures loss, not throttling.
            "LEADPIPE_INTAKE_IP_RATE_LIMIT": "100000000/minute",
            "LEADPIPE_API_RATE_LIMIT": "100000000/minute",
            "LEADPIPE_OWNER_PASSWORD": "fault-drill-owner",
        }
    )
    return env


def _cli(config: DrillConfig, env: dict[str, str], cwd: str, *args: str) -> str:
    done = subprocess.run(
        [*config.leadpipe, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"leadpipe {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout


def set_up(config: DrillConfig, env: dict[str, str], cwd: str) -> str:
    """A workspace, a webhook that takes deliveries only from a provider, and that
    provider with a limit no drill reaches; its credential."""
    _cli(config, env, cwd, "workspace", "create", "Fault drill", "--id", WORKSPACE)
    _cli(config, env, cwd, "webhook", "create", WORKSPACE, "--id", WEBHOOK, "--provider-required")
    made = _cli(
        config,
        env,
        cwd,
        "provider",
        "create",
        WORKSPACE,
        "--name",
        "Drill provider",
        "--webhook",
        WEBHOOK,
        "--hourly-limit",
        "1000000000",
    )
    found = re.search(r"Credential \(shown once\): (\S+)", made)
    if found is None:
        raise RuntimeError(f"no credential in: {made}")
    return found.group(1)


class Server:
    """``leadpipe serve --workers N`` as a subprocess, its log in a file."""

    def __init__(self, config: DrillConfig, env: dict[str, str], cwd: str) -> None:
        self.port = _free_port()
        self.log_path = Path(cwd) / "serve.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*config.leadpipe, "serve", "--workers", str(config.workers), "--port", str(self.port)],
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_until_serving(self, timeout: float, workers: int) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"leadpipe serve exited:\n{self.log_tail()}")
            if len(self.workers()) >= workers and _health(self.port):
                return
            time.sleep(0.2)
        raise RuntimeError(f"leadpipe serve not up within {timeout:.0f} s:\n{self.log_tail()}")

    def workers(self) -> list[int]:
        """The worker processes: the supervisor's children that multiprocessing spawned
        (not its resource tracker)."""
        pids = []
        for child in _children(self.process.pid):
            with suppress(OSError):
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
                if b"spawn_main" in cmdline:
                    pids.append(child)
        return sorted(pids)

    def stop(self) -> None:
        leftovers = self.workers()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for pid in leftovers:  # started by this drill's server; gone unless it hung
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self._log.close()

    def log_tail(self, lines: int = 40) -> str:
        if not self._log.closed:
            self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with suppress(OSError):
                found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _health(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.settimeout(5)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return sock.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class WorkerWatch:
    """Samples the server's workers every ``every`` seconds on a thread: when each was
    first and last seen, the most client connections it held, its CPU time."""

    def __init__(self, server: Server, started: float, every: float = 0.25) -> None:
        self.server, self.started, self.every = server, started, every
        self.seen: dict[int, WorkerSeen] = {}
        self._stop = threading.Event()
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self) -> None:
        now = time.monotonic() - self.started
        established = _established_sockets(self.server.port)
        for pid in self.server.workers():
            worker = self.seen.setdefault(pid, WorkerSeen(pid, now, now))
            worker.last_seen = now
            worker.connections = max(worker.connections, _held(pid, established))
            worker.cpu_seconds = max(worker.cpu_seconds, self._cpu(pid))

    def _cpu(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / self._ticks


def _established_sockets(port: int) -> set[str]:
    """Inodes of the established TCP sockets whose local end is ``port``."""
    inodes = set()
    with suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def _held(pid: int, inodes: set[str]) -> int:
    held = 0
    with suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    held += 1
    return held


# --- the deliveries -------------------------------------------------------------------


def make_deliveries(config: DrillConfig) -> list[list[Delivery]]:
    """The deliveries in the order they are started: a list holds one delivery, or a
    burst of one hot phone's deliveries to post at once."""
    r = random.Random(config.seed)
    hot_count = int(config.count * config.hot_share)
    units: list[list[Delivery]] = []
    n = 0

    def delivery(phone: str, hot: bool) -> Delivery:
        nonlocal n
        made = Delivery(
            n,
            phone,
            # Half the providers send an Idempotency-Key, half Standard Webhooks' id.
            "Idempotency-Key" if n % 2 else "webhook-id",
            hot=hot,
            abandon=r.random() < config.abandon_share,
            resend=r.random() < config.resend_share,
        )
        n += 1
        return made

    while n < hot_count:
        phone = f"555{HOT_PHONE_BASE + r.randrange(config.hot_phones):07d}"
        size = min(config.burst, hot_count - n)
        units.append([delivery(phone, True) for _ in range(size)])
    while n < config.count:
        units.append([delivery(f"555{UNIQUE_PHONE_BASE + n:07d}", False)])
    r.shuffle(units)
    return units


def encode(d: Delivery, port: int, credential: str) -> bytes:
    body = orjson.dumps(
        {
            "first_name": "Drill",
            "last_name": f"Delivery {d.n}",
            "phone": d.phone,
            "product": "Solar Panels",
            "source": "fault-drill",
            "utm_content": d.external_id,
        }
    )
    return (
        f"POST /webhooks/{WEBHOOK} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Authorization: Bearer {credential}\r\n{d.key_header}: drill-{d.n}\r\n"
        "User-Agent: leadpipe-fault-drill\r\n\r\n"
    ).encode() + body


class ConnectionLost(Exception):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection to the server, opened when first needed."""

    def __init__(self, port: int, timeout: float, max_requests: int) -> None:
        self.port, self.timeout, self.max_requests = port, timeout, max_requests
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = 0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._writer is None or self._used >= self.max_requests:
            self.close()
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port), self.timeout
            )
            self._used = 0
        assert self._reader is not None
        assert self._writer is not None
        self._used += 1
        return self._reader, self._writer

    async def send_only(self, raw: bytes) -> None:
        """Send a request and drop the connection without its answer."""
        try:
            _, writer = await self._open()
            writer.write(raw)
            await asyncio.wait_for(writer.drain(), self.timeout)
        except (OSError, TimeoutError):
            pass
        self.close()

    async def exchange(self, raw: bytes) -> tuple[int, float | None]:
        """The status and Retry-After of the answer to ``raw``; ConnectionLost if none."""
        try:
            return await asyncio.wait_for(self._exchange(raw), self.timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            self.close()
            raise ConnectionLost(type(exc).__name__) from None

    async def _exchange(self, raw: bytes) -> tuple[int, float | None]:
        reader, writer = await self._open()
        writer.write(raw)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, retry_after, closes = 0, None, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"retry-after":
                with suppress(ValueError):
                    retry_after = float(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                closes = True
        await reader.readexactly(length)
        if closes:
            self.close()
        return status, retry_after

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


class Traffic:
    """Sends every delivery, retrying as a provider does, and fires the faults."""

    def __init__(
        self,
        config: DrillConfig,
        result: DrillResult,
        server: Server,
        proxy: CuttableProxy,
        credential: str,
        started: float,
    ) -> None:
        self.config, self.result, self.server, self.proxy = config, result, server, proxy
        self.credential, self.started = credential, started
        self.progress = 0
        self.done = asyncio.Event()

    def _event(self, what: str) -> None:
        self.result.events.append(f"{time.monotonic() - self.started:6.1f} s  {what}")

    async def run(self, units: list[list[Delivery]]) -> None:
        cursor = iter(units)
        rate_start = time.monotonic()
        deadline = rate_start + self.config.time_limit
        faults = asyncio.create_task(self._faults())

        async def client() -> None:
            conn = self._connection()
            for unit in cursor:
                if time.monotonic() >= deadline:
                    return
                if self.config.rate:
                    due = rate_start + self.progress / self.config.rate
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                self.progress += len(unit)
                for d in unit:
                    d.started = True
                self.result.sent += len(unit)
                if len(unit) == 1:
                    await self._deliver(unit[0], conn)
                else:
                    # At once, each on a connection of its own: a race for one contact.
                    burst = [self._connection() for _ in unit]
                    await asyncio.gather(
                        *(self._deliver(d, c) for d, c in zip(unit, burst, strict=True))
                    )
                    for c in burst:
                        c.close()
            conn.close()

        await asyncio.gather(*(client() for _ in range(self.config.concurrency)))
        self.done.set()
        await faults

    def _connection(self) -> Connection:
        return Connection(
            self.server.port, self.config.request_timeout, self.config.requests_per_connection
        )

    async def _deliver(self, d: Delivery, conn: Connection) -> None:
        c, result = self.config, self.result
        raw = encode(d, self.server.port, self.credential)
        give_up_at = time.monotonic() + c.delivery_limit
        if d.abandon:
            await conn.send_only(raw)
            result.abandoned += 1
            result.requests += 1
        while d.attempts < c.max_attempts and time.monotonic() < give_up_at:
            d.attempts += 1
            result.requests += 1
            if d.attempts > 1 or d.abandon:
                result.retries += 1
            try:
                status, retry_after = await conn.exchange(raw)
            except ConnectionLost as lost:
                result.statuses[f"connection: {lost}"] += 1
                await asyncio.sleep(_backoff(d.attempts))
                continue
            result.statuses[str(status)] += 1
            if 200 <= status < 300:
                d.answered = True
                if d.resend:
                    await self._resend(conn, raw)
                return
            if status in RETRIED or status >= 500:
                wait = retry_after if retry_after is not None else _backoff(d.attempts)
                await asyncio.sleep(min(wait, max(0.0, give_up_at - time.monotonic())))
                continue
            d.refused = status
            return
        d.gave_up = True

    async def _resend(self, conn: Connection, raw: bytes) -> None:
        self.result.resent += 1
        self.result.requests += 1
        try:
            status, _ = await conn.exchange(raw)
        except ConnectionLost as lost:
            self.result.statuses[f"re-sent, connection: {lost}"] += 1
            return
        self.result.statuses[f"re-sent {status}"] += 1

    async def _faults(self) -> None:
        c = self.config
        planned = sorted(
            (at, name)
            for at, name in (
                (c.kill_worker_at, "kill"),
                (c.cut_redis_at, "redis"),
                (c.restart_postgres_at, "postgres"),
            )
            if at is not None
        )
        for at, name in planned:
            if not await self._until_sent(at * c.count):
                self._event(f"{name}: not fired, the traffic ended first")
                continue
            if name == "kill":
                self._kill_worker()
            elif name == "redis":
                dropped = self.proxy.cut(c.cut_redis_seconds)
                self._event(
                    f"Redis cut at {self.progress:,} sent: {dropped} connections dropped, "
                    f"new ones refused for {c.cut_redis_seconds:.0f} s"
                )
            else:
                await self._restart_postgres()

    async def _until_sent(self, count: float) -> bool:
        """Wait until ``count`` deliveries have started; False when the traffic ends first."""
        while self.progress < count:
            with suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), 0.05)
            if self.done.is_set():
                return False
        return True

    def _kill_worker(self) -> None:
        workers = self.server.workers()
        if not workers:
            self._event("kill: no worker found")
            return
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)  # a worker of the server this drill started
        self.result.killed_worker = victim
        self._event(f"worker {victim} SIGKILLed at {self.progress:,} sent (workers {workers})")

    async def _restart_postgres(self) -> None:
        command = self.config.postgres_restart or restart_command()
        self._event(f"PostgreSQL restart at {self.progress:,} sent: {' '.join(command)}")
        began = time.monotonic()
        done = await asyncio.to_thread(
            subprocess.run, command, capture_output=True, text=True, timeout=120, check=False
        )
        self._event(
            f"PostgreSQL restarted in {time.monotonic() - began:.1f} s (exit {done.returncode}"
            f"{': ' + done.stderr.strip() if done.returncode else ''})"
        )


def _backoff(attempt: int) -> float:
    return min(2.0, 0.05 * 2.0 ** min(attempt, 6)) * (0.5 + random.random())


# --- the drill ------------------------------------------------------------------------


def run_drill(config: DrillConfig, database_url: str | None = None) -> DrillResult:
    """Run the drill on ``database_url`` (empty), or on a fresh database it drops."""
    if database_url is None:
        with fresh_database(config.admin_url) as url:
            return run_drill(config, url)
    result = DrillResult(config)
    units = make_deliveries(config)
    deliveries = [d for unit in units for d in unit]
    proxy = CuttableProxy(config.redis_host, config.redis_port)
    with tempfile.TemporaryDirectory(prefix="leadpipe-faults-") as cwd:
        env = _environment(database_url, proxy.port)
        server: Server | None = None
        watch: WorkerWatch | None = None
        try:
            credential = set_up(config, env, cwd)
            server = Server(config, env, cwd)
            started = time.monotonic()
            watch = WorkerWatch(server, started)
            try:
                server.wait_until_serving(config.startup_timeout, config.workers)
            except RuntimeError as exc:
                result.failure = str(exc).splitlines()[0]
            else:
                result.startup_seconds = time.monotonic() - started
                result.initial_workers = server.workers()
                traffic = Traffic(config, result, server, proxy, credential, started)
                asyncio.run(traffic.run(units))
                result.elapsed = time.monotonic() - started - result.startup_seconds
                _settle(server, config)
                watch.sample()
            result.final_workers = server.workers()
        finally:
            if watch is not None:
                watch.stop()
                result.workers = watch.seen
            if server is not None:
                server.stop()
                log = server.log_path.read_text(errors="replace")
                result.supervisor_deaths = len(re.findall(r"Child process \[\d+\] died", log))
                result.tracebacks = log.count("Traceback (most recent call last)")
                result.unhandled = _unhandled_errors(log)
                result.server_log = "\n".join(log.splitlines()[-200:])
            proxy.close()
    _count(result, deliveries, database_url)
    return result


def _unhandled_errors(log: str, lines: int = 30) -> list[str]:
    """Each ``unhandled error`` entry of the log with the lines after it (its traceback)."""
    rows = log.splitlines()
    return [
        "\n".join(rows[i : i + lines]) for i, row in enumerate(rows) if "unhandled error" in row
    ]


def _settle(server: Server, config: DrillConfig) -> None:
    """Wait (a little) until the server has all its workers again and answers."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(server.workers()) >= config.workers and _health(server.port):
            return
        time.sleep(0.25)


def _count(result: DrillResult, deliveries: list[Delivery], database_url: str) -> None:
    leads, result.hot_phone_contacts = stored_leads(database_url, deliveries)
    sent = [d for d in deliveries if d.started]
    result.not_sent = len(deliveries) - len(sent)
    result.answered = sum(d.answered for d in sent)
    result.stored = sum(1 for d in deliveries if leads[d.external_id] >= 1)
    result.duplicated = sum(1 for d in deliveries if leads[d.external_id] > 1)
    result.lost = sum(1 for d in sent if d.answered and leads[d.external_id] == 0)
    result.gave_up = sum(1 for d in sent if d.gave_up)
    result.refused = sum(1 for d in sent if d.refused is not None)
