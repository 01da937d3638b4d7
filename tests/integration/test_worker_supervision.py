"""Several workers: one that dies under load is replaced, and its replacement stays."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.test_cli import _free_port, _sockets, _start, _stop, _wait_healthy, fresh_env

__all__ = ["fresh_env"]  # the fixture, used by name

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")


def _worker_pids(server: subprocess.Popen[str]) -> set[int]:
    """The worker processes of ``server`` (its spawned children, not the resource tracker)."""
    pids = set()
    for proc in Path("/proc").iterdir():
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == server.pid and b"spawn_main" in (proc / "cmdline").read_bytes():
                pids.add(int(proc.name))
        except (OSError, ValueError, IndexError):
            continue
    return pids


def _sockets_of(pid: int) -> set[str]:
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return set()
    held = set()
    for fd in fds:
        try:
            held.add(os.readlink(fd).removeprefix("socket:[").rstrip("]"))
        except OSError:
            continue
    return held


class Load:
    """Deliveries posted without pause from ``streams`` clients, half of them on a new
    connection each time (so that the kernel spreads them over every listening worker)."""

    def __init__(self, url: str, streams: int = 12) -> None:
        self.url, self.streams = url, streams
        self.answered: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    async def _run(self) -> None:
        await asyncio.gather(*[self._stream(i) for i in range(self.streams)])

    async def _stream(self, i: int) -> None:
        headers = {"Connection": "close"} if i % 2 else {}
        n = 0
        async with httpx.AsyncClient(timeout=30) as client:
            while not self._stop.is_set():
                n += 1
                body = {"phone": f"555{i:03d}{n % 10000:04d}", "product": "Solar"}
                try:
                    response = await client.post(self.url, json=body, headers=headers)
                except httpx.TransportError:  # a connection to the worker we killed
                    await asyncio.sleep(0.05)
                    continue
                self.answered[response.status_code] = self.answered.get(response.status_code, 0) + 1


def _served_by(server: subprocess.Popen[str], port: int, pid: int) -> int:
    """How many of 32 new connections to ``port`` the worker ``pid`` took and answered."""

    async def open_together() -> int:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
        async with httpx.AsyncClient(limits=limits, timeout=20) as client:
            url = f"http://127.0.0.1:{port}/health"
            responses = await asyncio.gather(*[client.get(url) for _ in range(32)])
            assert {r.status_code for r in responses} == {200}
            return len(_sockets_of(pid) & _sockets(port, "01"))

    return asyncio.run(open_together())


def test_a_worker_killed_under_load_is_replaced_and_its_replacement_serves(
    fresh_env: dict[str, str],
) -> None:
    """With both workers busy, replacements of a killed worker were themselves killed by
    the supervisor's 5-second health check, over and over, while they were starting."""
    port = _free_port()
    proc, printed = _start(fresh_env, port, workers=2, drain=False)  # read below
    log: list[str] = []

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.append(line)

    threading.Thread(target=drain, daemon=True).start()
    try:
        url = re.search(r"(http://\S+/webhooks/wh_\w+)", printed).group(1)  # type: ignore[union-attr]
        _wait_healthy(port)
        deadline = time.monotonic() + 30
        while len(_worker_pids(proc)) < 2 or len(_sockets(port, "0A")) < 2:
            assert time.monotonic() < deadline, "the second worker did not start"
            time.sleep(0.1)
        first = _worker_pids(proc)
        with Load(url) as load:
            time.sleep(3)  # both workers busy
            victim = min(first)
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 40
            while True:
                workers = _worker_pids(proc)
                if len(workers) == 2 and victim not in workers and len(_sockets(port, "0A")) == 2:
                    break
                assert time.monotonic() < deadline, f"no replacement serving: {''.join(log)}"
                time.sleep(0.2)
            (replacement,) = workers - first
            time.sleep(12)  # under load still: past the supervisor's health checks
            assert _worker_pids(proc) == workers, f"workers replaced again: {''.join(log)}"
            assert _served_by(proc, port, replacement) > 0
        assert load.answered.get(200, 0) > 100, load.answered
        assert set(load.answered) <= {200, 429, 503}, load.answered
        died = [line for line in log if "died" in line]
        assert len(died) == 1, "".join(log)  # in the log's format (JSON here, not a tty)
        assert f"Child process [{victim}] died" in died[0], "".join(log)
    finally:
        _stop(proc)
