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
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import httpx
import machine
from playwright.sync_api import Response, expect, sync_playwright

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
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--count", type=int, default=100)
    # Above five new leads a second the page counts them on its "new leads" button instead
    # of showing each row: the default stays under that.
    parser.add_argument("--pause", type=float, default=0.25, help="seconds between posts")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    base = args.server.rstrip("/")

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


if __name__ == "__main__":
    main()
