"""An import's commands: start one from a file, apply a chunk of its rows (each through
the submission command, or only planned in a dry run), and read its progress and its
error report. The driver (``imports/runner.py``) owns the transactions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from leadpipe.errors import LeadpipeError, NotFound, ValidationFailed
from leadpipe.imports import rules
from leadpipe.imports.repository import ImportRepository
from leadpipe.kit.ids import uuid7
from leadpipe.leads import submission as command
from leadpipe.leads.rules import LeadAction
from leadpipe.payloads.mapping import extract
from leadpipe.payloads.rules import validate
from leadpipe.payloads.verticals import with_vertical_fields

COUNTED = ("created", "updated", "unchanged", "refused")


@dataclass(frozen=True, slots=True)
class Row:
    number: int  # 1 is the first row after the header
    payload: dict[str, Any]


class ImportService:
    def start(
        self,
        conn: Connection,
        workspace_id: str,
        *,
        filename: str,
        content: bytes,
        column_map: dict[str, str],
        dry_run: bool,
        created_by: str,
        now: datetime,
    ) -> dict[str, Any]:
        """A new import of ``content``, checked (its header, its column map) and counted,
        not run yet; or the unfinished import of the same file, to go on with."""
        header, rows = rules.header_and_rows(content)
        problems = rules.column_map_problems(header, column_map)
        if problems:
            raise ValidationFailed("Invalid column map", problems)
        repo = ImportRepository(conn)
        sha256 = rules.file_digest(content)
        if not dry_run and (earlier := repo.unfinished_of_file(workspace_id, sha256)):
            return earlier
        import_id = uuid7()
        repo.insert(
            {
                "id": import_id,
                "workspace_id": workspace_id,
                "filename": filename[:255],
                "sha256": sha256,
                "status": "pending",
                "dry_run": dry_run,
                "column_map": column_map,
                "content": content,
                "rows_total": sum(1 for cells in rows if any(c.strip() for c in cells)),
                "rows_done": 0,
                "created": 0,
                "updated": 0,
                "unchanged": 0,
                "refused": 0,
                "created_by": created_by,
                "created_at": now,
                "updated_at": now,
            }
        )
        found = repo.get(workspace_id, import_id)
        assert found is not None
        return found

    def get(self, conn: Connection, workspace_id: str, import_id: uuid.UUID) -> dict[str, Any]:
        found = ImportRepository(conn).get(workspace_id, import_id)
        if found is None:
            raise NotFound(f"Import '{import_id}' not found")
        return found

    def recent(self, conn: Connection, workspace_id: str, limit: int = 50) -> list[dict[str, Any]]:
        return ImportRepository(conn).recent(workspace_id, limit)

    def error_report(
        self, conn: Connection, workspace_id: str, import_id: uuid.UUID
    ) -> list[list[str]]:
        """The refused rows as CSV rows: row number, reason, then the file's columns."""
        self.get(conn, workspace_id, import_id)
        repo = ImportRepository(conn)
        header, _ = rules.header_and_rows(repo.content(import_id))
        return list(rules.report_rows(repo.refusals(import_id), header))

    def apply(
        self,
        conn: Connection,
        imp: dict[str, Any],
        destination: command.Destination,
        rows: list[Row],
        now: datetime,
    ) -> dict[str, int]:
        """Apply a chunk of the import's rows, in order, and record its progress: what
        each row did, by count. A row the same as one an import wrote before is skipped;
        a row that cannot be a lead is kept in the error report with the reason."""
        repo = ImportRepository(conn)
        counts = dict.fromkeys(COUNTED, 0)
        column_map, dry_run = imp["column_map"], imp["dry_run"]
        digests = [rules.row_digest(row.payload, column_map) for row in rows]
        seen = repo.seen_rows(imp["workspace_id"], digests)
        written: list[str] = []
        refusals: list[dict[str, Any]] = []
        entrance = command.Entrance("import", str(imp["id"]), imp["filename"], "CSV import")
        requests: list[tuple[str, command.Request]] = []
        for row, digest in zip(rows, digests, strict=True):
            if digest in seen:
                counts["unchanged"] += 1
                continue
            seen.add(digest)  # the same row twice in one file is one row
            try:
                requests.append((digest, _request(destination, entrance, row, column_map)))
            except LeadpipeError as exc:
                counts["refused"] += 1
                refusals.append(_refusal(imp, row, exc))
        if dry_run:
            actions: list[LeadAction | LeadpipeError] = [
                _plan(conn, request, now) for _, request in requests
            ]
        else:
            outcomes = command.submit_many(conn, [request for _, request in requests], now)
            actions = [
                o if isinstance(o, LeadpipeError) else o.lead.decision.action for o in outcomes
            ]
        for (digest, request), action in zip(requests, actions, strict=True):
            if isinstance(action, LeadpipeError):
                counts["refused"] += 1
                refusals.append(
                    _refusal(imp, Row(request.context["row"], request.payload or {}), action)
                )
                continue
            counts["updated" if action is LeadAction.UPDATE else "created"] += 1
            written.append(digest)
        repo.add_refusals(refusals)
        if not dry_run:
            repo.remember_rows(imp["workspace_id"], imp["id"], written)
        repo.add_progress(imp["id"], rows[-1].number if rows else imp["rows_done"], counts, now)
        return counts


def _request(
    destination: command.Destination,
    entrance: command.Entrance,
    row: Row,
    column_map: dict[str, str],
) -> command.Request:
    """A row as the submission command's request: read as a webhook reads a payload."""
    submission, errors = validate(
        extract(row.payload, column_map), region=destination.region, require_phone=False
    )
    if submission is None:
        raise ValidationFailed("The row is not a lead", errors)
    submission = with_vertical_fields(submission, destination.lead_type, destination.region)
    return command.Request(
        destination,
        entrance,
        submission,
        payload=row.payload,
        context={"row": row.number},
    )


def _plan(conn: Connection, request: command.Request, now: datetime) -> LeadAction | LeadpipeError:
    """What the row would do, written nowhere (a dry run)."""
    (candidates,) = command.find_contacts(conn, [request])
    try:
        found = command.match(request, candidates)
    except LeadpipeError as exc:
        return exc
    return command.plan_found(conn, request, found, now).decision.action


def _refusal(imp: dict[str, Any], row: Row, exc: LeadpipeError) -> dict[str, Any]:
    problems = "; ".join(f"{d.get('field')}: {d.get('message')}" for d in exc.details or [])
    reason = f"{exc.message}: {problems}" if problems else exc.message
    return {
        "import_id": imp["id"],
        "row_number": row.number,
        "workspace_id": imp["workspace_id"],
        "reason": reason[:1000],
        "row": row.payload,
    }


imports = ImportService()
