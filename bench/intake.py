"""Intake benchmark: post realistic leads to a running leadpipe and print the figures.

Starts nothing by itself. Start leadpipe first (see README "Benchmarks"), then:

    python bench/intake.py http://127.0.0.1:8000/webhooks/WEBHOOK_ID
    python bench/intake.py URL --mode rate --rate 200 --duration 20
    python bench/intake.py URL --mode full --concurrency 32 --duration 20
    python bench/intake.py URL --secret whsec_... --provider-key lpp_...   # signed, by a provider

About 30% of the payloads repeat a known contact (status progressions by crm_id and new
projects), across products, sources and statuses (leadpipe.cli.demo.PayloadFactory). The
client is a bare asyncio HTTP/1.1 keep-alive client with pre-encoded requests, so that it
costs the machine as little as possible; in rate mode latency is measured from the moment
each request was due, so a server that falls behind is not flattered.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import machine
import orjson

from leadpipe.cli.demo import PayloadFactory
from leadpipe.webhooks.signatures import sign_standard

# What time.perf_counter() reads at the Unix epoch: a request's clock time, for a trace
# to line up with the server's and PostgreSQL's logs.
EPOCH_ON_PERF_COUNTER = time.perf_counter() - time.time()


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    # When each request was sent (rate mode: due), perf_counter time, as latencies_ms.
    sent_at: list[float] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    def record(self, status: int, sent: float, latency_ms: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.sent_at.append(sent)
        self.latencies_ms.append(latency_ms)

    def trace_lines(self, mode: str) -> list[str]:
        """One line per request: mode, Unix time it was sent (rate mode: due), ms."""
        return [
            f"{mode} {at - EPOCH_ON_PERF_COUNTER:.4f} {ms:.2f}"
            for at, ms in zip(self.sent_at, self.latencies_ms, strict=True)
        ]


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status


@dataclass(frozen=True)
class Sender:
    """How the requests authenticate: a signing secret (Standard Webhooks headers, signed
    when the payloads are made) and a provider credential, each when given."""

    secret: str | None = None
    provider_key: str | None = None

    def headers(self, body: bytes, n: int, seed: int) -> str:
        lines = ""
        if self.secret is not None:
            msg_id, at = f"msg_{seed}_{n}", int(time.time())
            signature = sign_standard(self.secret, msg_id, at, body)
            lines += f"webhook-id: {msg_id}\r\nwebhook-timestamp: {at}\r\n"
            lines += f"webhook-signature: {signature}\r\n"
        if self.provider_key is not None:
            lines += f"Authorization: Bearer {self.provider_key}\r\n"
        return lines


def encode_requests(
    url: str, count: int, seed: int, sender: Sender | None = None
) -> tuple[str, int, list[bytes]]:
    sender = sender or Sender()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    # Repeats wait for 500 newer people: at full speed the connections that open last
    # send their first request after hundreds of others.
    factory = PayloadFactory(seed, tag=f"b{seed}", settle=500)
    requests = []
    for n in range(count):
        body = orjson.dumps(factory.next())
        requests.append(
            f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"{sender.headers(body, n, seed)}"
            f"User-Agent: leadpipe-bench\r\n\r\n".encode()
            + body
        )
    return host, port, requests


async def full_speed(
    host: str, port: int, requests: list[bytes], concurrency: int, duration: float
) -> Results:
    results = Results()
    cursor = iter(requests)
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        conn = Connection(host, port)
        for raw in cursor:
            if time.perf_counter() >= deadline:
                return
            sent = time.perf_counter()
            status = await conn.request(raw)
            results.record(status, sent, (time.perf_counter() - sent) * 1000)

    results.started = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    results.finished = time.perf_counter()
    return results


async def fixed_rate(
    host: str, port: int, requests: list[bytes], rate: float, duration: float, max_connections: int
) -> Results:
    results = Results()
    # Connections open lazily; a request due while all are busy waits for one, and that
    # wait counts in its latency.
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(max_connections):
        pool.put_nowait(Connection(host, port))
    total = min(len(requests), int(rate * duration))
    start = time.perf_counter()
    results.started = start

    async def send(raw: bytes, due: float) -> None:
        conn = await pool.get()
        status = await conn.request(raw)
        results.record(status, due, (time.perf_counter() - due) * 1000)
        pool.put_nowait(conn)

    # Only the requests in flight are held: a list of every task made the client's own
    # garbage collector walk thousands of finished ones.
    in_flight: set[asyncio.Task[None]] = set()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(send(requests[i], due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    while in_flight:
        await asyncio.gather(*in_flight)
    results.finished = time.perf_counter()
    return results


def keep_collector_out_of_the_run() -> None:
    """Move everything alive now (leadpipe's modules, imported for the payloads: about
    150,000 objects, and the prepared requests) out of the garbage collector's full
    passes. Each pass walked them all, 90-190 ms on the 2-core machine, during which the
    client neither sent nor read, and every request due or in flight was counted that
    much slower: stalls of the client that looked like the server's."""
    gc.collect()
    gc.freeze()


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def report(label: str, results: Results) -> None:
    values = sorted(results.latencies_ms)
    elapsed = results.finished - results.started
    ok = sum(n for s, n in results.statuses.items() if 200 <= s < 300)
    print(f"{label}")
    print(f"  requests   {len(values)} in {elapsed:.1f} s  ({ok} 2xx, statuses {results.statuses})")
    print(f"  throughput {len(values) / elapsed:,.0f} webhooks/s")
    print(
        f"  latency    p50 {percentile(values, 50):.1f} ms  p95 {percentile(values, 95):.1f} ms"
        f"  p99 {percentile(values, 99):.1f} ms  max {values[-1] if values else 0:.1f} ms"
        f"  mean {statistics.fmean(values) if values else 0:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="the webhook URL, e.g. http://127.0.0.1:8000/webhooks/wh_x")
    parser.add_argument("--mode", choices=["both", "full", "rate"], default="both")
    parser.add_argument("--rate", type=float, default=200.0, help="webhooks/s in rate mode")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per mode")
    parser.add_argument("--concurrency", type=int, default=32, help="connections at full speed")
    parser.add_argument(
        "--max-rate",
        type=float,
        default=2000.0,
        help="payloads prepared per second of full-speed run",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="the same seed posts the same people again (then known contacts); default: new",
    )
    parser.add_argument("--secret", help="sign every request with this webhook secret")
    parser.add_argument("--provider-key", help="send this provider credential with each")
    parser.add_argument(
        "--trace",
        help="write every request to this file: mode, Unix time sent (rate: due), latency ms",
    )
    args = parser.parse_args()
    sender = Sender(args.secret, args.provider_key)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1_000_000)

    # Payloads are made before the clock starts; full speed gets up to --max-rate per second.
    count = int(max(args.rate, args.max_rate) * args.duration) + 1000
    host, port, requests = encode_requests(args.url, count, args.seed, sender)
    # A short warm-up (other people, so the measured run's contacts are still new):
    # first connections, statement caches, page cache.
    _, _, warmup = encode_requests(args.url, 500, args.seed + 1000, sender)
    asyncio.run(full_speed(host, port, warmup, 8, 2.0))
    keep_collector_out_of_the_run()
    print(machine.describe())
    print(machine.describe_disk())
    print(f"seed {args.seed}")
    trace: list[str] = []
    if args.mode in ("both", "rate"):
        results = asyncio.run(fixed_rate(host, port, requests, args.rate, args.duration, 256))
        report(f"fixed rate {args.rate:.0f}/s for {args.duration:.0f} s", results)
        trace += results.trace_lines("rate")
        requests = requests[len(results.latencies_ms) :]
    if args.mode in ("both", "full"):
        results = asyncio.run(full_speed(host, port, requests, args.concurrency, args.duration))
        report(f"full speed, {args.concurrency} connections, {args.duration:.0f} s", results)
        trace += results.trace_lines("full")
    if args.trace:
        with open(args.trace, "w") as f:
            f.write("\n".join(trace) + "\n")


if __name__ == "__main__":
    main()
