"""The import driver: runs an import chunk by chunk, each chunk of rows and the import's
progress in one transaction, so that an import stopped anywhere (a crash, a restart) goes
on from the first row not yet in, and no row is applied twice."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from itertools import islice

from leadpipe.imports import rules
from leadpipe.imports.repository import ImportRepository
from leadpipe.imports.service import Row, imports
from leadpipe.kit.clock import utcnow
from leadpipe.leads import submission as command
from leadpipe.storage.engine import Database

log = logging.getLogger("leadpipe.imports")

# Rows per transaction: large enough that a commit costs little per row, small enough
# that a concurrent intake batch never waits long for the workspace's count writers.
CHUNK_ROWS = 500

Progress = Callable[[int, int], None]  # (rows done, rows in all)


def run_import(
    db: Database,
    workspace_id: str,
    import_id: uuid.UUID,
    *,
    on_progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> dict[str, object]:
    """Run the import from its first row not yet in to its end; the import as it ended
    (``done``, or ``failed`` with the failure kept)."""
    with db.transaction() as conn:
        imp = imports.get(conn, workspace_id, import_id)
        content = ImportRepository(conn).content(import_id)
        destination = command.workspace_destination(conn, workspace_id)
        ImportRepository(conn).change(import_id, {"status": "running", "updated_at": utcnow()})
    header, cells = rules.header_and_rows(content)
    done = imp["rows_done"]
    try:
        for chunk in _chunks(_rows(header, cells), done, chunk_rows):
            with db.transaction() as conn:
                imports.apply(conn, imp, destination, chunk, utcnow())
            done = chunk[-1].number
            if on_progress is not None:
                on_progress(done, imp["rows_total"])
    except Exception as exc:
        log.exception("import %s stopped after row %d", import_id, done)
        _finish(db, workspace_id, import_id, "failed", failure=_failure(exc))
        raise
    return _finish(db, workspace_id, import_id, "done")


def _rows(header: list[str], cells: Iterator[list[str]]) -> Iterator[Row]:
    """The file's rows after the header, numbered from 1; empty rows are not rows."""
    number = 0
    for row in cells:
        if not any(c.strip() for c in row):
            continue
        number += 1
        yield Row(number, rules.row_payload(header, row))


def _chunks(rows: Iterator[Row], done: int, size: int) -> Iterator[list[Row]]:
    remaining = (row for row in rows if row.number > done)
    while chunk := list(islice(remaining, size)):
        yield chunk


def _failure(exc: Exception) -> str:
    message = getattr(exc, "message", None) or type(exc).__name__
    return str(message)[:500]


def _finish(
    db: Database, workspace_id: str, import_id: uuid.UUID, status: str, failure: str | None = None
) -> dict[str, object]:
    with db.transaction() as conn:
        now = utcnow()
        ImportRepository(conn).change(
            import_id,
            {"status": status, "failure": failure, "updated_at": now, "finished_at": now},
        )
        return imports.get(conn, workspace_id, import_id)
