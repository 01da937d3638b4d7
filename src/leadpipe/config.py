"""Settings read from the environment (prefix ``LEADPIPE_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


def default_database_url() -> str:
    return f"sqlite:///{DEFAULT_DATA_DIR / 'leadpipe.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADPIPE_", env_file=".env", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    """SQLAlchemy URL: ``sqlite:///path.db`` (default) or ``postgresql+psycopg://…``."""

    owner_email: str = "owner@example.com"
    """The dashboard owner the first start creates, when there is no user yet."""
    owner_password: str | None = None
    """Its password; generated and printed once when not set."""
    demo_password: str | None = None
    """The demo team's password (``serve --demo``, ``leadpipe demo``), and the owner's when
    the demo makes it; generated and printed once when not set."""

    database_pool_size: int = 10
    database_max_overflow: int = 10
    database_threads: int = 8
    """Threads per worker that run PostgreSQL transactions (SQLite runs on the event loop)."""
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "FULL"
    """``FULL``: every acknowledged delivery survives a power cut (one sync per batch).
    ``NORMAL`` skips that sync, and a power cut or an OS crash may lose the last ones."""

    public_url: str = "http://127.0.0.1:8000"
    """Base URL printed in webhook URLs and curl examples."""

    max_body_bytes: int = 1024 * 1024
    # A CSV file posted to /api/v3/imports: larger than a delivery, and kept until done.
    max_import_bytes: int = 50 * 1024 * 1024
    idempotency_window_days: int = 7
    intake_queue_limit: int = Field(default=1000, ge=1)
    """Deliveries one worker holds waiting for the database; beyond that, 429."""
    intake_queue_wait_seconds: float = Field(default=5.0, gt=0)
    """While a worker's oldest waiting delivery has waited this long, new ones get 429."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Peers (IPs or CIDRs) whose ``X-Forwarded-For`` is believed, e.g. ``["127.0.0.1"]``."""

    api_rate_limit: str = "100/minute"
    """Requests per API key, in the `limits` notation ("100/minute", "10/second")."""
    rate_limit_storage: str = "async+memory://"
    """Where rate-limit counters live: memory (one worker) or ``async+redis://host:6379``
    (every worker shares them). Intake's limits use the same storage."""
    intake_ip_rate_limit: str = "600/minute"
    """Deliveries per client IP that carry neither a provider credential nor a valid
    signature; meant to stop floods, not customers."""

    intake_log_retention_days: int = Field(default=30, ge=1)
    """Days the intake log keeps a delivery (``leadpipe intake prune`` and an hourly sweep
    delete older ones); the leads they made stay."""
    refused_body_keep_bytes: int = Field(default=4096, ge=0)
    """What the intake log keeps of a body refused before its sender was authenticated
    (bad signature, missing or wrong provider credential): this many bytes, with the
    body's size and SHA-256. Authenticated deliveries keep their whole body for replay."""

    request_header_timeout_seconds: float = Field(default=10.0, gt=0)
    """A client that has not sent a request's headers within this many seconds gets 408."""
    request_body_timeout_seconds: float = Field(default=30.0, gt=0)
    """A client that has not sent a request's whole body within this many seconds gets 408."""
    max_concurrent_uploads: int = Field(default=100, ge=1)
    """Request bodies one worker receives at once; more wait for a free slot, then 503."""
    worker_startup_timeout_seconds: float = Field(default=60.0, gt=0)
    """With several workers, how long a starting worker may take to answer its
    supervisor's first health check before it is killed and started again."""

    installation_id: str | None = None
    """What this installation's keys in a shared Redis start with (rate-limit counters,
    live event channels); by default, derived from the database's identity."""

    max_concurrent_exports: int = Field(default=2, ge=1)
    """Exports (the dashboard's CSV and the API's) one workspace may run at once, per
    worker; more get 429."""

    facebook_graph_url: str = "https://graph.facebook.com/v21.0"
    """Where Facebook leadgen leads are fetched from (the Graph API, with its version)."""

    redis_url: str | None = None
    """``redis://host:6379/0``: live events reach every worker through Redis pub/sub.
    Without it they go through PostgreSQL's LISTEN/NOTIFY, or stay in the process (SQLite)."""
    live_recheck_seconds: float = Field(default=60.0, gt=0, le=60)
    """How often an open live socket looks up its right again, in case a revocation's
    announcement was missed (revocations themselves close it within a second or two)."""

    default_phone_region: str = "US"
    log_level: str = "info"
    log_format: Literal["auto", "json", "text"] = "auto"
    """``auto``: JSON lines, or plain text when stderr is a terminal."""
    metrics_token: str | None = None
    """A bearer token that opens ``/metrics`` to clients beyond this machine (it is
    open on loopback without one)."""


@lru_cache
def get_settings() -> Settings:
    return Settings()
