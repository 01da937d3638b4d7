"""``leadpipe backup FILE`` and ``leadpipe restore FILE``: the configured database to a file
and back, while the service runs (backup) or once it is stopped (restore on SQLite)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import URL

from leadpipe.config import get_settings
from leadpipe.storage import migrate
from leadpipe.storage.connect import normalize_url
from leadpipe.storage.engine import Database


class Refused(Exception):
    """What the command would not do, and why; printed, exit status 1."""


def register(app: typer.Typer, console: Any) -> None:
    """Adds ``backup`` and ``restore`` to the ``leadpipe`` command."""

    @app.command()
    def backup(
        file: Annotated[Path, typer.Argument(help="Where to write the backup.")],
        force: Annotated[bool, typer.Option(help="Replace FILE if it exists.")] = False,
    ) -> None:
        """Back the database up to FILE, consistently, while leadpipe runs (SQLite: its
        backup API; PostgreSQL: pg_dump --format=custom)."""
        url = normalize_url(get_settings().database_url)
        try:
            if file.exists() and not force:
                raise Refused(f"{file} exists; pass --force to replace it")
            if url.get_backend_name() == "sqlite":
                _backup_sqlite(_sqlite_path(url), file)
            else:
                _run_postgres_tool("pg_dump", url, ["--format=custom", f"--file={file}"])
        except Refused as exc:
            console.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(code=1) from None
        console.print(f"Backed up {url.render_as_string()} to {file}", highlight=False)

    @app.command()
    def restore(
        file: Annotated[Path, typer.Argument(help="A backup made by `leadpipe backup`.")],
        force: Annotated[
            bool, typer.Option(help="Replace the database's contents if it has any.")
        ] = False,
    ) -> None:
        """Restore FILE into the configured database, then bring its schema to head.

        SQLite: refused while any process has the database open (stop leadpipe first),
        and, without --force, when the file exists. PostgreSQL: pg_restore --clean in one
        transaction; without --force, refused when the database has tables."""
        settings = get_settings()
        url = normalize_url(settings.database_url)
        try:
            if not file.is_file():
                raise Refused(f"{file} is not a file")
            if url.get_backend_name() == "sqlite":
                _restore_sqlite(file, _sqlite_path(url), force=force)
            else:
                _restore_postgres(file, url, force=force)
        except Refused as exc:
            console.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(code=1) from None
        db = Database.from_settings(settings)
        try:
            migrate.upgrade(db.engine)  # a backup of an older version is moved forward
        finally:
            db.dispose()
        console.print(f"Restored {file} into {url.render_as_string()}", highlight=False)


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise Refused("the database is in memory: there is no file to back up or restore")
    return Path(url.database)


def _backup_sqlite(source: Path, target: Path) -> None:
    """In one step (pages=-1): one read snapshot, which writers in WAL mode do not wait
    for, and which a write between steps would make start over. Written beside the target
    and renamed, so that a failed backup leaves no half a file."""
    if not source.is_file():
        raise Refused(f"there is no database at {source}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(partial)) as dst:
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    partial.replace(target)


def _restore_sqlite(backup: Path, target: Path, *, force: bool) -> None:
    """Copied in through SQLite's backup API under an exclusive lock, which no process
    that has the database open lets it take: a running leadpipe would go on with caches
    of what the restore replaced."""
    with closing(sqlite3.connect(backup)) as src:
        if src.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise Refused(f"{backup} is damaged (PRAGMA quick_check)")
        if target.exists() and not force:
            raise Refused(f"{target} exists; pass --force to replace it with {backup}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(target, timeout=0, isolation_level=None)) as dst:
            dst.execute("PRAGMA locking_mode=EXCLUSIVE")
            try:
                dst.execute("BEGIN EXCLUSIVE")
                dst.execute("SELECT count(*) FROM sqlite_master").fetchone()
                dst.execute("COMMIT")  # the lock stays: locking_mode=EXCLUSIVE
            except sqlite3.OperationalError:
                raise Refused(
                    f"{target} is in use (a running leadpipe?); stop it, then restore"
                ) from None
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")


def _restore_postgres(backup: Path, url: URL, *, force: bool) -> None:
    if not force:
        engine = create_engine(url)
        try:
            tables = inspect(engine).get_table_names()
        finally:
            engine.dispose()
        if tables:
            raise Refused(
                f"{url.database} has {len(tables)} tables; pass --force to replace them "
                f"with {backup}'s (pg_restore --clean)"
            )
    _run_postgres_tool(
        "pg_restore",
        url,
        ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(backup)],
    )


def _run_postgres_tool(tool: str, url: URL, arguments: list[str]) -> None:
    """``tool`` (pg_dump, pg_restore) on the database; the password goes in the
    environment, not on a command line that other users of the machine can read."""
    found = shutil.which(tool)
    if found is None:
        raise Refused(
            f"{tool} is not on PATH: install PostgreSQL's client tools (the same major "
            "version as the server, or newer), e.g. apt-get install postgresql-client"
        )
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    done = subprocess.run(
        [found, f"--dbname={dsn}", *arguments], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise Refused(f"{tool} failed ({done.returncode}): {done.stderr.strip()}")
