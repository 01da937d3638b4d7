"""``leadpipe export leads|contacts|activities WORKSPACE``: a workspace's records as CSV or
JSON lines, streamed page by page (the API's exports, with the same filters), to a file
or standard output."""

from __future__ import annotations

import enum
import inspect
import os
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial, wraps
from pathlib import Path
from typing import Annotated, Any, TextIO

import anyio
import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from leadpipe.config import get_settings
from leadpipe.errors import LeadpipeError
from leadpipe.exports.rules import Format
from leadpipe.exports.service import (
    ActivitySelection,
    ContactSelection,
    Export,
    activities_export,
    contacts_export,
    leads_export,
)
from leadpipe.kit.periods import PeriodBound, end_of, start_of
from leadpipe.leads.schemas import LeadSelection, PriorityFilter, TemperatureFilter
from leadpipe.storage.engine import Database, workspace_scope

export_app = typer.Typer(
    help="Export a workspace's leads, contacts or activities (CSV or JSON lines).",
    no_args_is_help=True,
)
# Progress and errors: standard output may be the export itself.
errors = Console(stderr=True)


class ExportFormat(enum.StrEnum):
    csv = "csv"
    jsonl = "jsonl"


WorkspaceArg = Annotated[str, typer.Argument(help="The workspace's id.")]
FormatOpt = Annotated[
    ExportFormat, typer.Option("--format", help="csv, or jsonl: one JSON record per line.")
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write to FILE (default: standard output).")
]
_PERIOD: TypeAdapter[Any] = TypeAdapter(PeriodBound)
_PRIORITY: TypeAdapter[Any] = TypeAdapter(PriorityFilter)
_TEMPERATURE: TypeAdapter[Any] = TypeAdapter(TemperatureFilter)


def _read(adapter: TypeAdapter[Any], option: str, value: str | None) -> Any:
    """An option read as the API reads its query parameter, or a usage error naming it."""
    if value is None:
        return None
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise typer.BadParameter(f"{value!r}: {reason}", param_hint=option) from None


@contextmanager
def _destination(output: Path | None) -> Iterator[TextIO]:
    """Standard output, or a file that appears whole: written beside FILE and renamed
    onto it at the end, so that a failed export leaves no half a file behind."""
    if output is None:
        yield sys.stdout
        return
    fd, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(temporary, output)
    except BaseException:
        os.unlink(temporary)
        raise


async def _write(
    db: Database, plan: Callable[[], Awaitable[Export]], fmt: Format, out: TextIO
) -> str:
    """The export written to ``out``, a page at a time; what it counted (its records, or
    for activities the leads whose timelines it wrote)."""
    export = await plan()
    with _progress(export) as advance:
        async for covered, text in export.chunks(db, fmt):
            out.write(text)
            advance(covered)
    if export.kind == "activities":
        return f"the timelines of {len(export.ids)} leads"
    return f"{len(export.ids)} {export.kind}"


def _counted(export: Export) -> str:
    return "leads" if export.kind == "activities" else export.kind


@contextmanager
def _progress(export: Export) -> Iterator[Callable[[int], None]]:
    """A progress line on standard error when it is a terminal; nothing otherwise."""
    if not errors.is_terminal:
        yield lambda _covered: None
        return
    with Progress(
        TextColumn(f"Exporting {export.kind}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(_counted(export)),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    ) as progress:
        task = progress.add_task("export", total=len(export.ids))
        yield lambda covered: progress.advance(task, covered)


def _run(
    workspace: str,
    plan: Callable[[Database], Callable[[], Awaitable[Export]]],
    fmt: ExportFormat,
    output: Path | None,
) -> None:
    db = Database.from_settings(get_settings())
    # Row-level security (PostgreSQL) checks each row's workspace too, as for a request.
    scope = workspace_scope.set(workspace)
    started = datetime.now()
    try:
        with _destination(output) as out:
            covered = anyio.run(_write, db, plan(db), fmt.value, out)
    except LeadpipeError as exc:
        errors.print(f"[red]error:[/red] {exc.message}", highlight=False)
        for detail in exc.details:
            errors.print(f"  - {detail.get('field')}: {detail.get('message')}", highlight=False)
        raise typer.Exit(code=1) from None
    finally:
        workspace_scope.reset(scope)
        db.dispose()
    if output is not None:
        seconds = (datetime.now() - started).total_seconds()
        errors.print(f"Exported {covered} to {output} in {seconds:.1f} s", highlight=False)


# The lead list's filters, as options (``GET /api/v3/leads``).
StageOpt = Annotated[str | None, typer.Option(help="A stage, by slug or name.")]
SourceOpt = Annotated[str | None, typer.Option(help="A lead source, in any case.")]
ProductOpt = Annotated[str | None, typer.Option(help="A product, in any case or spacing.")]
PriorityOpt = Annotated[str | None, typer.Option(help="low, medium, high or urgent.")]
TemperatureOpt = Annotated[str | None, typer.Option(help="cold, warm or hot.")]
AssignedToOpt = Annotated[str | None, typer.Option(help="The assignee's name as stored.")]
AssignedUserOpt = Annotated[str | None, typer.Option(help="The id of the user assigned.")]
ActiveOpt = Annotated[
    bool | None, typer.Option("--active/--inactive", help="Open leads, or lost and inactive.")
]
SearchOpt = Annotated[
    str | None, typer.Option("--q", "--search", help="Name, email or phone in any format.")
]
FromOpt = Annotated[
    str | None, typer.Option(help="From this moment: 2026-10-01T09:00:00-05:00 or 2026-10-01.")
]
ToOpt = Annotated[str | None, typer.Option(help="Before this moment; a date includes its day.")]


def _lead_selection(
    stage: StageOpt = None,
    source: SourceOpt = None,
    product: ProductOpt = None,
    priority: PriorityOpt = None,
    temperature: TemperatureOpt = None,
    assigned_to: AssignedToOpt = None,
    assigned_user_id: AssignedUserOpt = None,
    active: ActiveOpt = None,
    search: SearchOpt = None,
    created_from: FromOpt = None,
    created_to: ToOpt = None,
) -> LeadSelection:
    """The leads the filters select; its parameters are the options of each command that
    takes them (``_with_lead_filters``)."""
    user: uuid.UUID | None = None
    if assigned_user_id is not None:
        user = _read(TypeAdapter(uuid.UUID), "--assigned-user-id", assigned_user_id)
    return LeadSelection(
        stage=stage,
        source=source,
        product=product,
        priority=_read(_PRIORITY, "--priority", priority),
        temperature=_read(_TEMPERATURE, "--temperature", temperature),
        assigned_to=assigned_to,
        assigned_user_id=user,
        is_active=active,
        q=search,
        created_from=start_of(_read(_PERIOD, "--created-from", created_from)),
        created_to=end_of(_read(_PERIOD, "--created-to", created_to)),
    )


def _with_lead_filters(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with the lead filters as options after its own, given to it as the
    ``leads`` they select. Typer reads a command's options from its signature: this one
    is the command's without ``leads``, then ``_lead_selection``'s."""
    own = inspect.signature(command, eval_str=True)
    filters = inspect.signature(_lead_selection, eval_str=True).parameters

    @wraps(command)
    def with_filters(**options: Any) -> None:
        chosen = {name: options.pop(name) for name in filters}
        command(**options, leads=_lead_selection(**chosen))

    kept = [p for name, p in own.parameters.items() if name != "leads"]
    with_filters.__signature__ = own.replace(  # type: ignore[attr-defined]
        parameters=[*kept, *filters.values()]
    )
    return with_filters


@export_app.command("leads")
@_with_lead_filters
def export_leads(
    workspace: WorkspaceArg,
    leads: LeadSelection,
    fmt: FormatOpt = ExportFormat.csv,
    output: OutputOpt = None,
) -> None:
    """Every lead of WORKSPACE matching the filters (all, open or not, by default)."""
    _run(workspace, lambda db: partial(leads_export, db, workspace, leads), fmt, output)


@export_app.command("contacts")
def export_contacts(
    workspace: WorkspaceArg,
    fmt: FormatOpt = ExportFormat.csv,
    output: OutputOpt = None,
    search: Annotated[
        str | None, typer.Option("--q", "--search", help="Email, phone, CRM id or name.")
    ] = None,
    phone: Annotated[str | None, typer.Option(help="A phone in any format.")] = None,
    email: Annotated[str | None, typer.Option(help="An email, in any case.")] = None,
    crm_id: Annotated[str | None, typer.Option(help="A CRM id.")] = None,
    name: Annotated[str | None, typer.Option(help="First, last or full name.")] = None,
) -> None:
    """Every contact of WORKSPACE matching the filters, newest first."""
    chosen = ContactSelection(q=search, phone=phone, email=email, crm_id=crm_id, name=name)
    _run(workspace, lambda db: partial(contacts_export, db, workspace, chosen), fmt, output)


@export_app.command("activities")
@_with_lead_filters
def export_activities(
    workspace: WorkspaceArg,
    leads: LeadSelection,
    fmt: FormatOpt = ExportFormat.csv,
    output: OutputOpt = None,
    activity_type: Annotated[
        str | None, typer.Option("--type", help="call, email, note, status_updated, ...")
    ] = None,
    outcome: Annotated[str | None, typer.Option(help="An outcome, as stored.")] = None,
) -> None:
    """The timeline entries of WORKSPACE's leads matching the lead filters."""
    chosen = ActivitySelection(leads=leads, activity_type=activity_type, outcome=outcome)
    _run(workspace, lambda db: partial(activities_export, db, workspace, chosen), fmt, output)
