"""CSV import benchmark: a file of realistic leads (about 30% repeat a known person, as
deliveries do) imported into a fresh embedded SQLite database through the import driver,
with the figures printed; then the same file again, which must add nothing.

    python bench/import_csv.py              # 100,000 rows
    python bench/import_csv.py --rows 20000
"""

from __future__ import annotations

import argparse
import csv
import io
import tempfile
import time
from pathlib import Path

import machine

from leadpipe.accounts.service import account
from leadpipe.cli.demo import PayloadFactory
from leadpipe.config import Settings
from leadpipe.imports.runner import run_import
from leadpipe.imports.service import imports
from leadpipe.kit.clock import utcnow
from leadpipe.storage import migrate
from leadpipe.storage.engine import Database


def build_file(rows: int) -> bytes:
    """The demo's payloads as a spreadsheet's rows: a column per key any of them has."""
    factory = PayloadFactory(seed=11)
    payloads = [factory.next() for _ in range(rows)]
    columns: dict[str, None] = {}
    for payload in payloads:
        columns.update(dict.fromkeys(k for k, v in payload.items() if not isinstance(v, dict)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(payloads)
    return out.getvalue().encode()


def timed_import(db: Database, workspace_id: str, content: bytes) -> tuple[float, dict]:
    with db.transaction() as conn:
        imp = imports.start(
            conn,
            workspace_id,
            filename="bench.csv",
            content=content,
            column_map={},
            dry_run=False,
            created_by="bench",
            now=utcnow(),
        )
    started = time.perf_counter()
    ended = run_import(db, workspace_id, imp["id"])
    return time.perf_counter() - started, dict(ended)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    print(machine.describe())
    content = build_file(args.rows)
    print(f"file: {args.rows:,} rows, {len(content) / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_settings(Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}"))
        migrate.upgrade(db.engine)
        with db.transaction() as conn:
            workspace_id = account.create_workspace(conn, name="Bench")
        for run in ("first", "again"):
            seconds, ended = timed_import(db, workspace_id, content)
            print(
                f"{run}: {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s — "
                f"{ended['created']:,} created, {ended['updated']:,} updated, "
                f"{ended['unchanged']:,} unchanged, {ended['refused']:,} refused"
            )
        db.dispose()


if __name__ == "__main__":
    main()
