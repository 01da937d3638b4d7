"""The delivery log's API, under each webhook: ``/api/v3/webhooks/{id}/deliveries``
(list, one, replay) and ``/api/v3/webhooks/{id}/stats``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from leadpipe.accounts.auth import AdminAccess, ReadAccess
from leadpipe.deps import DatabaseDep, RequestId
from leadpipe.intake.deliveries import deliveries
from leadpipe.intake.endpoints import graph_of, intake_line_of
from leadpipe.intake.schemas import (
    DeliveryDetail,
    DeliveryOut,
    DeliveryStatus,
    ReplayOut,
    WebhookStats,
)
from leadpipe.kit.bodies import Offset
from leadpipe.kit.openapi import Envelope, PageEnvelope, conflict, not_found, pagination, public
from leadpipe.kit.periods import END_DOC, START_DOC, PeriodBound, end_of, start_of
from leadpipe.kit.responses import JSONResponse, ok

router = APIRouter(prefix="/api/v3/webhooks", tags=["webhooks"])

WEBHOOK_ERRORS = not_found("webhook")
DELIVERY_ERRORS = not_found("webhook or delivery")


@router.get("/{webhook_id}/stats", response_model=Envelope[WebhookStats], responses=WEBHOOK_ERRORS)
async def webhook_stats(webhook_id: str, principal: ReadAccess, db: DatabaseDep) -> JSONResponse:
    """Total leads and last lead, and over the last 24 hours, 7 and 30 days the deliveries
    by outcome (success, error, duplicate) with their rates and processing times."""
    found = await db.read(lambda conn: deliveries.stats(conn, principal.workspace_id, webhook_id))
    return ok(public(WebhookStats, found))


@router.get(
    "/{webhook_id}/deliveries",
    response_model=PageEnvelope[DeliveryOut],
    responses=WEBHOOK_ERRORS,
)
async def list_deliveries(
    webhook_id: str,
    principal: ReadAccess,
    db: DatabaseDep,
    status: DeliveryStatus | None = None,
    created_from: Annotated[PeriodBound | None, Query(description=START_DOC)] = None,
    created_to: Annotated[PeriodBound | None, Query(description=END_DOC)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> JSONResponse:
    """The webhook's deliveries, newest first: accepted, refused (with the error) and
    duplicates. A refused one keeps its body, to be seen and replayed."""
    rows, total = await db.read(
        lambda conn: deliveries.page(
            conn,
            principal.workspace_id,
            webhook_id,
            status=status,
            created_from=start_of(created_from),
            created_to=end_of(created_to),
            limit=limit,
            offset=offset,
        )
    )
    return ok(
        [public(DeliveryOut, r) for r in rows],
        pagination=pagination(total, limit, offset, len(rows)),
    )


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    response_model=Envelope[DeliveryDetail],
    responses=DELIVERY_ERRORS,
)
async def get_delivery(
    webhook_id: str, delivery_id: uuid.UUID, principal: ReadAccess, db: DatabaseDep
) -> JSONResponse:
    """One delivery, with its body and (redacted) headers when they were kept."""
    found = await db.read(
        lambda conn: deliveries.one(conn, principal.workspace_id, webhook_id, delivery_id)
    )
    return ok(public(DeliveryDetail, found))


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    response_model=Envelope[ReplayOut],
    responses=conflict(
        "Not a refused delivery, replayed already, or its body was not kept",
        "webhook or delivery",
    ),
)
async def replay_delivery(
    webhook_id: str,
    delivery_id: uuid.UUID,
    principal: AdminAccess,
    db: DatabaseDep,
    request: Request,
    request_id: RequestId,
) -> JSONResponse:
    """Run a refused delivery again, through the webhook's settings of now (fix the
    mapping first). The replay is logged as a delivery of its own, pointing back to this
    one; a lead is written only if intake accepts it this time."""
    outcome = await deliveries.replay(
        db,
        intake_line_of(request),
        graph_of(request),
        principal.workspace_id,
        webhook_id,
        delivery_id,
        request_id,
    )
    return ok(public(ReplayOut, outcome))
