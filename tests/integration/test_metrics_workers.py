"""Several workers: a scrape of any of them counts every worker's deliveries."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_cli import _free_port, _start, _stop, _wait_healthy, fresh_env

__all__ = ["fresh_env"]  # the fixture, used by name

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="workers spread by SO_REUSEPORT")

DELIVERIES = 24


def _accepted(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "leadpipe_deliveries_total" and sample.labels == {
                "outcome": "accepted"
            }:
                return sample.value
    return 0.0


def _webhook_of(printed: str) -> str:
    found = re.search(r"Webhook:\s+\S+/webhooks/(\S+)", printed)
    assert found is not None, printed
    return found.group(1)


def test_two_workers_metrics_are_summed(fresh_env: dict[str, str], tmp_path: Path) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {**fresh_env, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    port = _free_port()
    proc, printed = _start(env, port, workers=2)
    try:
        _wait_healthy(port)
        url = f"http://127.0.0.1:{port}/webhooks/{_webhook_of(printed)}"
        for i in range(DELIVERIES):
            # A new connection each: the kernel spreads connections over both workers.
            answer = httpx.post(
                url, json={"phone": f"55504{i:05d}", "product": "Solar"}, timeout=10
            )
            assert answer.status_code == 200, answer.text
        counted_by = {p.name for p in shared.glob("counter_*.db")}
        assert len(counted_by) >= 2, counted_by  # both workers counted some
        scrapes = [httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10) for _ in range(6)]
        assert all(s.status_code == 200 for s in scrapes)
        assert [_accepted(s.text) for s in scrapes] == [DELIVERIES] * len(scrapes)
    finally:
        _stop(proc)
