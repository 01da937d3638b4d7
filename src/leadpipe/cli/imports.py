"""``leadpipe import leads FILE.csv``: a CSV file of leads into a workspace, every row
through the submission command (dedup, the decision matrix, the timeline), with a
progress bar, a dry run, an error report, and resuming after a crash."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from leadpipe.config import get_settings
from leadpipe.errors import LeadpipeError
from leadpipe.imports.rules import columns_read_as, header_and_rows, parse_column_map
from leadpipe.imports.runner import run_import
from leadpipe.imports.service import imports
from leadpipe.kit.clock import utcnow
from leadpipe.storage import migrate
from leadpipe.storage.engine import Database, workspace_scope

import_app = typer.Typer(help="Import leads from a CSV file.", no_args_is_help=True)
console = Console()


def _fail(exc: LeadpipeError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc.message}", highlight=False)
    for detail in exc.details:
        console.print(f"  - {detail.get('field')}: {detail.get('message')}", highlight=False)
    return typer.Exit(code=1)


@import_app.command("leads")
def import_leads(
    file: Annotated[Path, typer.Argument(help="The CSV file; its first row names the columns.")],
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="The workspace's id.")],
    column_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="COLUMN=FIELD, to read a column as a field its name does not say "
            "(--map 'Cell #=phone'); repeatable. Other columns are read by the same "
            "aliases as webhook payloads; what none names becomes a custom field.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be created, updated or refused.")
    ] = False,
    errors_to: Annotated[
        Path | None,
        typer.Option("--errors", help="Write the refused rows, with why, to this CSV file."),
    ] = None,
) -> None:
    """Import FILE's rows as leads. Run again after a crash, it goes on from the first row
    not yet in; run again after it finished, it skips the rows it imported."""
    if not file.is_file():
        console.print(f"[red]error:[/red] {file} is not a file")
        raise typer.Exit(code=1)
    db = Database.from_settings(get_settings())
    migrate.upgrade(db.engine)
    scope = workspace_scope.set(workspace)
    try:
        content = file.read_bytes()
        mapping = parse_column_map(column_map or [])
        with db.transaction() as conn:
            imp = imports.start(
                conn,
                workspace,
                filename=file.name,
                content=content,
                column_map=mapping,
                dry_run=dry_run,
                created_by="cli",
                now=utcnow(),
            )
        _describe(imp, content, mapping)
        ended = _run_with_progress(db, workspace, imp)
        _summary(ended)
        if errors_to is not None and ended["refused"]:
            _write_report(db, workspace, ended["id"], errors_to)
    except LeadpipeError as exc:
        raise _fail(exc) from None
    finally:
        workspace_scope.reset(scope)
        db.dispose()


@import_app.command("list")
def list_imports(
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="The workspace's id.")],
) -> None:
    """The workspace's latest imports and how far each got."""
    db = Database.from_settings(get_settings())
    migrate.upgrade(db.engine)
    try:
        with db.transaction(write=False) as conn:
            found = imports.recent(conn, workspace)
    finally:
        db.dispose()
    table = Table("id", "file", "status", "rows", "created", "updated", "unchanged", "refused")
    for imp in found:
        table.add_row(
            str(imp["id"]),
            imp["filename"],
            imp["status"] + (" (dry run)" if imp["dry_run"] else ""),
            f"{imp['rows_done']}/{imp['rows_total']}",
            *(str(imp[k]) for k in ("created", "updated", "unchanged", "refused")),
        )
    console.print(table)


def _describe(imp: dict[str, Any], content: bytes, mapping: dict[str, str]) -> None:
    header, _ = header_and_rows(content)
    read_as = columns_read_as(header, mapping)
    for col, field in read_as.items():
        console.print(f"  {col} → {field}", highlight=False, soft_wrap=True)
    if imp["rows_done"]:
        console.print(
            f"Going on with import {imp['id']} of this file after row {imp['rows_done']}",
            highlight=False,
            soft_wrap=True,
        )


def _run_with_progress(db: Database, workspace: str, imp: dict[str, Any]) -> dict[str, Any]:
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    verb = "Checking" if imp["dry_run"] else "Importing"
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(
            f"{verb} {imp['filename']}", total=imp["rows_total"], completed=imp["rows_done"]
        )
        return dict(
            run_import(
                db,
                workspace,
                imp["id"],
                on_progress=lambda done, _total: progress.update(task, completed=done),
            )
        )


def _summary(imp: dict[str, Any]) -> None:
    would = "would be " if imp["dry_run"] else ""
    console.print(
        f"{imp['created']} {would}created, {imp['updated']} {would}updated, "
        f"{imp['unchanged']} unchanged (imported before), {imp['refused']} refused "
        f"— import {imp['id']}",
        highlight=False,
        soft_wrap=True,
    )


def _write_report(db: Database, workspace: str, import_id: uuid.UUID, path: Path) -> None:
    with db.transaction(write=False) as conn:
        rows = imports.error_report(conn, workspace, import_id)
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    console.print(f"Refused rows, with why: {path}", highlight=False)
