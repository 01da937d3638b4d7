"""After any failure inside a transaction, the connection goes back to its pool clean: the
next transaction on it sees the latest data, can write, and (SQLite) lets the log be
checkpointed. A statement sent and never read (its transaction failed first) used to keep
SQLite's read snapshot open past the rollback: reads on that connection answered 404 for
new leads, writes failed with 'database is locked', and the log grew without bound."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Connection, text

from leadpipe.config import Settings
from leadpipe.errors import ValidationFailed
from leadpipe.storage import fastexec
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Workspace
from tests.integration.helpers import count

_A_READ = text("SELECT id FROM workspaces")


@pytest.fixture
def one_connection(settings: Settings) -> Iterator[Database]:
    """A database whose pool holds one connection, so every transaction reuses it."""
    database = Database.from_settings(
        settings.model_copy(update={"database_pool_size": 1, "database_max_overflow": 0})
    )
    with database.transaction() as conn:
        _add_workspace(conn, "first")  # something for the unread statement to hold
    yield database
    database.dispose()


def _python_error(conn: Connection) -> None:
    raise ValueError("a bug in our own code")


def _database_error(conn: Connection) -> None:
    conn.execute(text("SELECT * FROM no_such_table"))


def _refusal(conn: Connection) -> None:
    raise ValidationFailed("a refused request")


def _duplicate_key(conn: Connection) -> None:
    _add_workspace(conn, "taken")
    _add_workspace(conn, "taken")


def _add_workspace(conn: Connection, workspace_id: str) -> None:
    conn.execute(
        text(
            "INSERT INTO workspaces (id, name, default_region, lead_window_days, is_active,"
            " settings, created_at, updated_at) VALUES (:id, :id, 'US', 30, true, '{}',"
            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"id": workspace_id},
    )


FAILURES = [_python_error, _database_error, _refusal, _duplicate_key]


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: f.__name__.strip("_"))
def test_a_failed_transaction_with_an_unread_statement_leaves_its_connection_clean(
    one_connection: Database, settings: Settings, failure: Callable[[Connection], None]
) -> None:
    db = one_connection
    unread = []  # held, as a failed batch's traceback holds what it had sent
    with pytest.raises(Exception), db.transaction() as conn:  # noqa: B017, PT011, PT012
        unread.append(fastexec.submit(conn, _A_READ, {}))
        failure(conn)

    # What another process writes meanwhile is seen by the next transaction on this
    # connection, which can write and checkpoint too.
    other = Database.from_settings(settings)
    try:
        with other.transaction() as conn:
            _add_workspace(conn, "written-elsewhere")
    finally:
        other.dispose()
    assert count(db, Workspace, id="written-elsewhere") == 1
    with db.transaction() as conn:
        _add_workspace(conn, "written-here")
    db.checkpoint()  # SQLite: 'database table is locked' on a dirty connection
