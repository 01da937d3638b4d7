"""Facebook's real-time leadgen webhook: each notification names leads by id, and each
lead is fetched from the Graph API with the page's token (outbound HTTP through httpx)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import httpx

from leadpipe.errors import BadGateway, LeadpipeError, ValidationFailed, field_error
from leadpipe.intake.schemas import Delivery
from leadpipe.kit.clock import utcnow
from leadpipe.kit.fields import MAX_JSON_DEPTH, too_deep
from leadpipe.kit.jsonvalues import loads_as_sent, unstorable_text
from leadpipe.webhooks.repository import WebhookContext
from leadpipe.webhooks.signatures import valid_secrets, verify

# What a lead is asked for: its answers and the ids that say where it came from.
LEAD_FIELDS = "id,created_time,field_data,ad_id,adgroup_id,campaign_id,form_id,platform"


class GraphApi:
    """Fetches leads from the Graph API; one connection pool per app."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def lead(self, leadgen_id: str, page_token: str) -> dict[str, Any]:
        """The lead, or ``BadGateway`` saying why it could not be had."""
        try:
            response = await self._http().get(
                f"{self.base_url}/{leadgen_id}",
                params={"access_token": page_token, "fields": LEAD_FIELDS},
            )
        except httpx.HTTPError as exc:
            raise BadGateway(f"The Graph API could not be reached: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise BadGateway(
                f"The Graph API answered {response.status_code} for lead {leadgen_id}: "
                f"{_graph_error(response)}"
            )
        try:
            # Read as every delivery is: a number JSON cannot hold exactly kept as its text,
            # and JSON nested too deep to follow refused rather than failing the request.
            lead = loads_as_sent(response.content).value
        except ValueError:
            raise BadGateway("The Graph API answered with something that is not JSON") from None
        if not isinstance(lead, dict):
            raise BadGateway("The Graph API answered with something that is not a lead")
        return lead

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _graph_error(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return response.text[:300]


async def leads_of(
    graph: GraphApi, ctx: WebhookContext, notice: Delivery, changes: list[dict[str, Any]]
) -> list[Delivery]:
    """The deliveries a leadgen notification stands for: each lead it names, fetched from
    the Graph API with the page's token (its leadgen id makes Facebook's retries
    duplicates). A notification whose signature fails is itself the one delivery, to be
    refused and logged, before anything is fetched; a lead that cannot be fetched is a
    delivery refused with 502 (kept in the log; Facebook retries the notification)."""
    try:
        secrets = valid_secrets(ctx.secrets, utcnow())
        if not notice.from_admin:  # an administrator's replay: checked when it first came
            body = notice.body or b""
            verify(ctx.signature_mode, secrets, notice.headers or {}, body, time.time())
    except LeadpipeError:
        return [notice]
    return list(await asyncio.gather(*(_fetched(graph, ctx, notice, c) for c in changes)))


async def _fetched(
    graph: GraphApi, ctx: WebhookContext, notice: Delivery, change: dict[str, Any]
) -> Delivery:
    token = ctx.preset_settings.get("page_token")
    if not token:
        problem = ValidationFailed("This Facebook webhook needs a page_token to fetch its leads")
        return dataclasses.replace(notice, payload=None, problem=problem)
    try:
        lead = await graph.lead(str(change["leadgen_id"]), str(token))
    except BadGateway as exc:
        return dataclasses.replace(notice, payload=None, problem=exc)
    return dataclasses.replace(notice, payload={**change, **lead}, problem=_unstorable(lead))


def _unstorable(lead: dict[str, Any]) -> ValidationFailed | None:
    """Why a fetched lead cannot be stored (checked as a delivery's body is), or None."""
    if too_deep(lead):
        return ValidationFailed(
            f"The Graph API's lead nests objects deeper than {MAX_JSON_DEPTH} levels"
        )
    found = unstorable_text(lead)
    if found:
        return ValidationFailed(
            "The lead the Graph API gave cannot be stored",
            [field_error(u.path, u.message) for u in found],
        )
    return None
