"""Prometheus metrics (seed 004's names), safe with several worker processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set before this module is imported (``leadpipe serve
--workers N`` sets it), every process writes its values to files there and a scrape of
any worker sums them all (prometheus_client's multiprocess mode); without it, a single
process keeps them in memory. Counters are counted only once what they count has
committed (``storage.aftercommit``)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy import Engine, event

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2, 5)

leads_created = Counter(
    "sales_lead_created_total", "Total number of leads created", ["source", "status"]
)
stage_changes = Counter(
    "sales_opportunity_stage_change_total",
    "Total opportunity stage changes",
    ["from_stage", "to_stage"],
)
request_duration = Histogram(
    "sales_api_request_duration_seconds",
    "API request duration in seconds",
    ["method", "route", "status_code"],
    buckets=REQUEST_BUCKETS,
)
deliveries = Counter(
    "leadpipe_deliveries_total",
    "Webhook deliveries by outcome (accepted, duplicate, refused, test)",
    ["outcome"],
)
settings_cache = Counter(
    "leadpipe_webhook_settings_cache_total",
    "Webhook settings a batch took from this worker's memory (hit) or the database (miss)",
    ["result"],
)
pool_checked_out = Gauge(
    "sales_db_connections_active",
    "Database connections checked out of the pools (every live worker's)",
    multiprocess_mode="livesum",
)
pool_capacity = Gauge(
    "sales_db_connections_max",
    "Connections the pools may hold: size plus overflow (every live worker's)",
    multiprocess_mode="livesum",
)

# -- labels: bounded, so that a sender cannot make the metrics grow without end ---------

MAX_LABEL_VALUES = 100
OTHER = "other"
_seen: dict[str, set[str]] = {}
_UNSAFE = re.compile(r"[^a-z0-9 _.:/-]+")


_bounded: dict[tuple[str, str | None], str] = {}


def bounded(kind: str, value: str | None) -> str:
    """``value`` as a label: lower-cased, at most 64 characters; past the first
    MAX_LABEL_VALUES values of ``kind`` in this process, ``other``."""
    key = (kind, value)
    known = _bounded.get(key)
    if known is None:
        known = _bound(kind, value)
        if len(_bounded) < 10 * MAX_LABEL_VALUES:
            _bounded[key] = known
    return known


def _bound(kind: str, value: str | None) -> str:
    label = _UNSAFE.sub("", (value or "").strip().lower())[:64] or "none"
    seen = _seen.setdefault(kind, set())
    if label in seen:
        return label
    if len(seen) >= MAX_LABEL_VALUES:
        return OTHER
    seen.add(label)
    return label


def count_lead_created(source: str | None, stage: str) -> None:
    leads_created.labels(bounded("source", source), bounded("stage", stage)).inc()


def count_stage_change(from_stage: str, to_stage: str, leads: int = 1) -> None:
    stage_changes.labels(bounded("stage", from_stage), bounded("stage", to_stage)).inc(leads)


_delivery_children: dict[str, Any] = {}


def count_delivery(outcome: str) -> None:
    child = _delivery_children.get(outcome)
    if child is None:
        child = _delivery_children[outcome] = deliveries.labels(outcome)
    child.inc()


_cache_hit, _cache_miss = settings_cache.labels("hit"), settings_cache.labels("miss")


def count_settings_read(from_memory: bool) -> None:
    (_cache_hit if from_memory else _cache_miss).inc()


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


_DELIVERY = re.compile(r"^/(webhooks?)/[^/]+$")
UNMATCHED = "unmatched"


def route_of(scope: MutableMapping[str, Any]) -> str:
    """The route's template (``/api/v3/leads/{lead_id}``), never the path: one series per
    route, whatever ids are asked for. Deliveries are taken past the router
    (``DeliveryShortcut``), so their template is told by their path."""
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path_format", None) or getattr(route, "path", UNMATCHED))
    delivery = _DELIVERY.match(scope.get("path", ""))
    if delivery is not None:
        return f"/{delivery.group(1)}/{{webhook_id}}"
    return UNMATCHED


_timers: dict[tuple[str, str, int], Any] = {}


def observe_request(scope: MutableMapping[str, Any], status: int, seconds: float) -> None:
    if scope["type"] != "http":
        return
    method = scope.get("method", "")
    key = (method if method in _METHODS else OTHER, route_of(scope), status)
    timer = _timers.get(key)
    if timer is None:  # a series' child, looked up once: labels() costs a few us
        timer = _timers[key] = request_duration.labels(key[0], key[1], str(status))
    timer.observe(seconds)


# -- the database pool -----------------------------------------------------------------


def _checked_out(*_args: Any) -> None:
    pool_checked_out.inc()


def _checked_in(*_args: Any) -> None:
    pool_checked_out.dec()


def watch_pool(engine: Engine, capacity: int) -> None:
    """Follow ``engine``'s pool (once per engine, however many apps share it)."""
    if not event.contains(engine, "checkout", _checked_out):
        event.listen(engine, "checkout", _checked_out)
        event.listen(engine, "checkin", _checked_in)
        pool_capacity.inc(capacity)


# -- exposition ------------------------------------------------------------------------


class _Computed:
    """Families computed when scraped (from the database), in no process's files."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def pipeline_amount(rows: Iterable[tuple[str, str, Any]]) -> Metric:
    """``sales_active_pipeline_amount{stage,territory}`` from (territory, stage, amount)
    rows; a territory is a workspace."""
    family = GaugeMetricFamily(
        "sales_active_pipeline_amount",
        "Total amount in active pipeline",
        labels=["stage", "territory"],
    )
    for territory, stage, amount in rows:
        family.add_metric([stage, territory], float(amount or 0))
    return family


def is_multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_DIR))


def exposition(computed: Iterable[Metric]) -> bytes:
    """The text a scrape gets: every process's values (or this one's), then ``computed``."""
    if is_multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        stored = generate_latest(registry)
    else:
        stored = generate_latest(REGISTRY)
    extra = CollectorRegistry()
    extra.register(_Computed(computed))
    return stored + generate_latest(extra)


def forget_process(pid: int | None) -> None:
    """A worker is gone: its live gauges (pool use) stop counting; its counters stay."""
    if pid is not None and is_multiprocess():
        mark_process_dead(pid)  # type: ignore[no-untyped-call]


@contextmanager
def shared_by_workers(workers: int) -> Iterator[None]:
    """With several workers, a fresh directory for their metrics' files (unless
    ``PROMETHEUS_MULTIPROC_DIR`` names one), set before they start, removed after."""
    if workers <= 1 or os.environ.get(MULTIPROC_DIR):
        yield
        return
    directory = tempfile.mkdtemp(prefix="leadpipe-metrics-")
    os.environ[MULTIPROC_DIR] = directory
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_DIR, None)
        shutil.rmtree(directory, ignore_errors=True)
