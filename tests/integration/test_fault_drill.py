"""The fault drill (bench/faultdrill.py), small: ``leadpipe serve --workers 2`` on a fresh
PostgreSQL database takes 500 deliveries, posted as providers post them (hot phones raced,
every delivery keyed and retried), while one worker is SIGKILLed and the Redis connection
is cut. Every delivery answered 2xx is stored once, and the killed worker is replaced by
one that serves. PostgreSQL is not restarted here: the other tests share the server
(``bench/faults.py --restart-postgres`` does it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bench.faultdrill import DrillConfig, fresh_database, run_drill
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from leadpipe.storage.connect import normalize_url
from tests.conftest import _in_ci, _pg_admin_url

pytestmark = [pytest.mark.faults, pytest.mark.postgres]


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database (the drill's server migrates it), dropped after."""
    admin_url = normalize_url(_pg_admin_url())
    probe = create_engine(admin_url, poolclass=NullPool)
    try:
        probe.connect().close()
    except Exception as exc:
        if _in_ci():
            pytest.fail(f"CI=true requires PostgreSQL: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    finally:
        probe.dispose()
    with fresh_database(admin_url.render_as_string(hide_password=False)) as url:
        yield url


def test_no_delivery_is_lost_or_stored_twice_through_a_worker_kill_and_a_redis_cut(
    empty_postgres: str, redis_url: str
) -> None:
    host, port = redis_url.removeprefix("redis://").split("/")[0].split(":")
    config = DrillConfig(
        count=500,
        workers=2,
        concurrency=8,
        # Paced over about 17 s, the kill early, so that the killed worker's replacement
        # is up (it takes a few seconds) while deliveries still arrive.
        rate=30,
        kill_worker_at=0.15,
        cut_redis_at=0.6,
        cut_redis_seconds=3,
        restart_postgres_at=None,
        redis_host=host,
        redis_port=int(port),
        startup_timeout=30,
        time_limit=40,
        delivery_limit=20,
        requests_per_connection=10,
    )

    result = run_drill(config, empty_postgres)

    report = "\n".join(result.lines()) + "\n--- server log ---\n" + result.server_log[-4000:]
    assert result.failure is None, report
    assert result.sent == 500, report
    assert result.answered == 500, report
    assert (result.lost, result.duplicated, result.gave_up) == (0, 0, 0), report
    assert result.stored == 500, report
    assert set(result.hot_phone_contacts.values()) == {1}, report
    assert result.killed_worker is not None, report
    assert result.replacement_served, report
    assert len(result.final_workers) == 2, report
