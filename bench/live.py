"""Live-update benchmark: from a webhook's response to its row on a watching dashboard.

Against a running leadpipe (start it yourself), with a user who may see the webhook's
workspace:

    python bench/live.py http://127.0.0.1:8000 --webhook wh_... \\
        --email owner@example.com --password '...'

A headless Chromium (Debian's ``chromium``) signs in and watches the inbound page; a
MutationObserver notes when each new row appears. The script posts ``--count`` webhooks one
after another (every ``--pause`` seconds: above five a second the page counts new leads on
a button instead of showing each row) and prints p50 / p95 / max of (row on screen -
webhook answered), and what the first load of the inbound page transferred.

Under load, without a browser: ``--sockets N --rate R`` opens N live sockets with an API
key of the workspace (``--api-key``, read scope) and posts R webhooks a second for
``--seconds`` seconds, then prints p50 / p95 / max of (event heard on a socket - webhook
answered) over every socket, and intake's own p50 / p99:

    python bench/live.py http://127.0.0.1:8000 --webhook wh_... --api-key lp_... \
        --sockets 50 --rate 200 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid

import httpx
import machine
from playwright.sync_api import Response, expect, sync_playwright
from websockets.asyncio.client import ClientConnection, connect

WATCH_ROWS = """
() => {
  window.__shown = {};
  const body = document.getElementById('lead-rows');
  new MutationObserver((changes) => {
    const now = Date.now() + (performance.now() % 1);
    for (const change of changes) {
      for (const node of change.addedNodes) {
        if (node.dataset && node.dataset.leadId) window.__shown[node.dataset.leadId] = now;
      }
    }
  }).observe(body, { childList: true });
}
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("server")
    parser.add_argument("--webhook", required=True)
    parser.add_argument("--email", help="the browser's user (without --sockets)")
    parser.add_argument("--password")
    parser.add_argument("--api-key", help="a key of the webhook's workspace (with --sockets)")
    parser.add_argument("--sockets", type=int, help="live sockets to open, without a browser")
    parser.add_argument("--rate", type=float, default=200, help="webhooks a second (--sockets)")
    parser.add_argument("--seconds", type=float, default=20, help="how long to post (--sockets)")
    parser.add_argument("--count", type=int, default=100)
    # Above five new leads a second the page counts them on its "new leads" button instead
    # of showing each row: the default stays under that.
    parser.add_argument("--pause", type=float, default=0.25, help="seconds between posts")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    base = args.server.rstrip("/")
    if args.sockets:
        if not args.api_key:
            parser.error("--sockets needs --api-key")
        asyncio.run(_under_load(base, args))
        return
    if not (args.email and args.password):
        parser.error("the browser needs --email and --password")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{base}/login")
        page.fill("#email", args.email)
        page.fill("#password", args.password)
        transferred: list[int] = []

        def count(response: Response) -> None:
            transferred.append(len(response.body()) if response.ok else 0)

        page.on("response", count)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/app")
        page.wait_for_load_state("networkidle")
        # Only the first load counts; the live rows' requests would outlive the page.
        page.remove_listener("response", count)
        first_load = sum(transferred)
        # Waited for by its attribute: a polled string predicate is evaluated in the page,
        # where the Content-Security-Policy refuses eval.
        expect(page.locator("html")).to_have_attribute("data-live", "ready")
        page.evaluate(WATCH_ROWS)

        answered: dict[str, float] = {}
        with httpx.Client(timeout=10) as client:
            for i in range(args.count):
                run = uuid.uuid4().hex[:8]
                response = client.post(
                    f"{base}/webhooks/{args.webhook}",
                    json={
                        "firstname": "Live",
                        "lastname": f"Bench {i}",
                        "email": f"live-{run}@example.com",
                        "productid": "Solar Panels",
                        "source": "Benchmark",
                    },
                )
                answered_at = time.time() * 1000
                assert response.status_code == 200, response.text
                answered[response.json()["lead_id"]] = answered_at
                time.sleep(args.pause)
        page.wait_for_timeout(1000)
        shown: dict[str, float] = page.evaluate("window.__shown")
        browser.close()

    delays = [shown[lead] - at for lead, at in answered.items() if lead in shown]
    missing = len(answered) - len(delays)
    print(machine.describe())
    print(f"first load of the inbound page: {first_load / 1024:.0f} KB transferred")
    print(f"{len(answered)} webhooks posted, {len(delays)} rows seen, {missing} missed")
    if delays:
        print(
            f"webhook answered -> row on screen: p50 {statistics.median(delays):.0f} ms, "
            f"p95 {_percentile(delays, 0.95):.0f} ms, max {max(delays):.0f} ms"
        )


def _lead_ids(raw: str | bytes) -> list[str]:
    received = json.loads(raw)
    messages = received if isinstance(received, list) else [received]
    return [m["data"]["lead_id"] for m in messages if m.get("type") == "lead.created"]


async def _listen(socket: ClientConnection, heard: dict[str, list[float]]) -> None:
    async for raw in socket:
        now = time.perf_counter()
        for lead_id in _lead_ids(raw):
            heard.setdefault(lead_id, []).append(now)


async def _post_at_rate(
    client: httpx.AsyncClient, url: str, rate: float, seconds: float
) -> tuple[dict[str, float], list[float]]:
    answered: dict[str, float] = {}
    took: list[float] = []
    failed: list[str] = []

    async def post(i: int) -> None:
        started = time.perf_counter()
        lead = {
            "firstname": "Load",
            "lastname": f"Bench {i}",
            "email": f"load-{uuid.uuid4().hex[:12]}@example.com",
            "productid": "Solar Panels",
            "source": "Benchmark",
        }
        try:
            response = await client.post(url, json=lead)
        except httpx.HTTPError as exc:
            failed.append(f"{type(exc).__name__}")
            return
        done = time.perf_counter()
        if response.status_code != 200:
            failed.append(str(response.status_code))
            return
        answered[response.json()["lead_id"]] = done
        took.append((done - started) * 1000)

    posts: list[asyncio.Task[None]] = []
    begun = time.perf_counter()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, begun + i / rate - time.perf_counter()))
        posts.append(asyncio.create_task(post(i)))
    await asyncio.gather(*posts)
    if failed:
        print(f"{len(failed)} webhooks failed: {sorted(set(failed))}")
    return answered, took


async def _under_load(base: str, args: argparse.Namespace) -> None:
    url = base.replace("http://", "ws://").replace("https://", "wss://") + "/live"
    headers = {"X-API-Key": args.api_key}
    sockets = [await connect(url, additional_headers=headers) for _ in range(args.sockets)]
    for socket in sockets:
        await socket.recv()  # "ready"
    heard: dict[str, list[float]] = {}
    listeners = [asyncio.create_task(_listen(socket, heard)) for socket in sockets]
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        answered, took = await _post_at_rate(
            client, f"{base}/webhooks/{args.webhook}", args.rate, args.seconds
        )
    await asyncio.sleep(2)  # the last events still on their way
    for task in listeners:
        task.cancel()
    for socket in sockets:
        await socket.close()
    # An event may be heard before its answer arrives: that delay counts as zero.
    delays = [
        max(0.0, (at - answered[lead]) * 1000)
        for lead, times in heard.items()
        if lead in answered
        for at in times
    ]
    expected = len(answered) * len(sockets)
    print(machine.describe())
    print(
        f"{len(answered)} webhooks at {args.rate:g}/s to {len(sockets)} sockets: "
        f"{len(delays)} of {expected} events heard"
    )
    print(f"intake: p50 {statistics.median(took):.1f} ms, p99 {_percentile(took, 0.99):.1f} ms")
    if delays:
        print(
            f"webhook answered -> event on a socket: p50 {statistics.median(delays):.0f} ms, "
            f"p95 {_percentile(delays, 0.95):.0f} ms, max {max(delays):.0f} ms"
        )


if __name__ == "__main__":
    main()
