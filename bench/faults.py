"""Fault drill: no delivery answered 2xx is lost or stored twice while things break.

Starts everything itself on this machine: a fresh PostgreSQL database on 127.0.0.1:5432
(dropped at the end), ``leadpipe serve --workers N`` with Redis (127.0.0.1:6379) behind a
proxy the drill can cut, and a workspace, webhook and provider made with the ``leadpipe``
command. Then it sends ``--count`` deliveries as providers do (hot phones raced, every
delivery keyed and retried on errors, 5xx and 429), kills a worker, cuts Redis and, with
``--restart-postgres``, restarts PostgreSQL mid-run, and reads the database:

    .venv/bin/python bench/faults.py                                    # 20,000, 2 workers
    .venv/bin/python bench/faults.py --restart-postgres                 # as root
    .venv/bin/python bench/faults.py --count 100000 --workers 4 --restart-postgres

Exits 1 when a delivery was lost or duplicated, or the killed worker was not replaced by
one that served. The drill itself is bench/faultdrill.py (tests/integration/
test_fault_drill.py runs it small).
"""

from __future__ import annotations

import argparse
import sys

import machine
from faultdrill import DEFAULT_ADMIN_URL, DrillConfig, restart_command, run_drill


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=20_000, help="deliveries to send")
    parser.add_argument("--workers", type=int, default=2, help="leadpipe serve --workers")
    parser.add_argument("--concurrency", type=int, default=32, help="client connections")
    parser.add_argument("--rate", type=float, default=None, help="deliveries/s (default: all)")
    parser.add_argument(
        "--restart-postgres",
        action="store_true",
        help="restart PostgreSQL at 65%% of the run (every other user of the server sees it)",
    )
    parser.add_argument(
        "--postgres-restart-command",
        help=f"how (default here: {' '.join(restart_command())})",
    )
    parser.add_argument("--no-kill", action="store_true", help="leave the workers alone")
    parser.add_argument("--no-redis-cut", action="store_true", help="leave Redis alone")
    parser.add_argument("--redis-cut-seconds", type=float, default=4.0)
    parser.add_argument("--time-limit", type=float, default=900.0, help="seconds of traffic")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL, help="PostgreSQL to use")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show-log", action="store_true", help="print the server log's end")
    args = parser.parse_args()
    config = DrillConfig(
        count=args.count,
        workers=args.workers,
        concurrency=args.concurrency,
        rate=args.rate,
        kill_worker_at=None if args.no_kill else 0.25,
        cut_redis_at=None if args.no_redis_cut else 0.45,
        cut_redis_seconds=args.redis_cut_seconds,
        restart_postgres_at=0.65 if args.restart_postgres else None,
        postgres_restart=args.postgres_restart_command.split()
        if args.postgres_restart_command
        else None,
        admin_url=args.admin_url,
        time_limit=args.time_limit,
        seed=args.seed,
    )
    print(machine.describe())
    print(
        f"fault drill: {config.count:,} deliveries, {config.workers} workers, "
        f"{config.concurrency} connections"
    )
    result = run_drill(config)
    for line in result.lines():
        print(line)
    for entry in result.unhandled[:5]:
        print("--- unhandled error ---")
        print(entry)
    if args.show_log:
        print("--- server log (end) ---")
        print(result.server_log)
    kept = result.failure is None and result.lost == 0 and result.duplicated == 0
    replaced = config.kill_worker_at is None or result.replacement_served
    sys.exit(0 if kept and replaced else 1)


if __name__ == "__main__":
    main()
