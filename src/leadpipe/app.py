"""The ASGI application."""

from __future__ import annotations

import asyncio
import functools
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import text

from leadpipe import __version__, exception_handlers
from leadpipe.accounts.sessions import forget_expired_sessions
from leadpipe.config import Settings, get_settings
from leadpipe.contact_api.endpoints import legacy_router as contacts_legacy_router
from leadpipe.contact_api.endpoints import router as contacts_router
from leadpipe.customfields.endpoints import router as custom_fields_router
from leadpipe.deps import DatabaseDep, refuse_unknown_query_parameters
from leadpipe.exports.endpoints import router as exports_router
from leadpipe.imports.endpoints import IMPORT_UPLOADS
from leadpipe.imports.endpoints import router as imports_router
from leadpipe.inbound.endpoints import router as inbound_router
from leadpipe.intake.endpoints import DeliveryShortcut
from leadpipe.intake.endpoints import router as intake_router
from leadpipe.intake.facebook import GraphApi
from leadpipe.intake.guard import IntakeGuard
from leadpipe.intake.line import IntakeLine, forget_expired_deliveries_periodically
from leadpipe.intake.log_endpoints import router as delivery_log_router
from leadpipe.intake.retention import prune_intake_log_periodically
from leadpipe.kit.openapi import as_sent
from leadpipe.kit.periodic import repeat_on_thread
from leadpipe.kit.responses import JSONResponse
from leadpipe.leads.endpoints import router as leads_router
from leadpipe.middleware import (
    BodyLimit,
    CompressPages,
    RefuseNul,
    RequestContextMiddleware,
    UploadLimits,
)
from leadpipe.observability.endpoints import router as observability_router
from leadpipe.observability.metrics import watch_pool
from leadpipe.pipeline_api.endpoints import router as pipeline_router
from leadpipe.privacy.endpoints import router as person_router
from leadpipe.providers.endpoints import router as providers_router
from leadpipe.realtime.hub import Hub, channel_for
from leadpipe.storage.connect import CHECKPOINT_EVERY_SECONDS
from leadpipe.storage.dialect import keeps_a_log_to_checkpoint
from leadpipe.storage.engine import Database
from leadpipe.tasks.endpoints import router as tasks_router
from leadpipe.web import errors as dashboard_errors
from leadpipe.web.account import router as account_router
from leadpipe.web.admin import router as admin_router
from leadpipe.web.board import router as board_router
from leadpipe.web.bulk import router as bulk_router
from leadpipe.web.contacts import router as contacts_page_router
from leadpipe.web.imports import router as imports_page_router
from leadpipe.web.live import router as live_router
from leadpipe.web.pages import router as dashboard_router
from leadpipe.web.providers import router as providers_page_router
from leadpipe.web.tasks import router as tasks_page_router
from leadpipe.web.webhooks import router as webhook_pages_router
from leadpipe.webhooks.endpoints import router as webhooks_router
from leadpipe.webhooks.service import purge_deleted_webhooks

DESCRIPTION = """
leadpipe receives leads from providers on webhooks, deduplicates the person, decides
whether the payload updates an existing opportunity or opens a new one, and keeps the
whole timeline.

Errors always use one envelope:
`{"success": false, "error": "...", "code": "VALIDATION_ERROR", "request_id": "...",
"details": [{"field": "...", "message": "..."}]}`.
"""


class ServiceHealth(BaseModel):
    success: Literal[True]
    status: str
    version: str
    database: Literal["sqlite", "postgresql"]


STATIC = Path(__file__).parent / "static"
DASHBOARD_ASSETS = Path(__file__).parent / "web" / "static"
SWAGGER_UI = "/static/vendor/swagger-ui-5.35.0"
REDOC = "/static/vendor/redoc-2.5.4"


def _serve_api_docs(app: FastAPI) -> None:
    """Swagger UI at /docs and ReDoc at /redoc, from vendored files: they work offline."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/assets", StaticFiles(directory=DASHBOARD_ASSETS), name="assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="leadpipe API",
            swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="leadpipe API",
            redoc_js_url=f"{REDOC}/redoc.standalone.js",
            redoc_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
            with_google_fonts=False,
        )


def _freeze_startup_objects() -> None:
    """Keep the objects alive at startup (modules, metadata, routes: about 100k) out of the
    garbage collector's full passes, which walked them all while every request in flight
    waited: about 100 ms each, a few times a minute under load, on the 2-core machine."""
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    database = db or Database.from_settings(settings)
    hub = Hub(channel_for(settings, database.dialect))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        _freeze_startup_objects()
        await hub.start()
        background = [
            forget_expired_deliveries_periodically(
                database, idempotency_days=settings.idempotency_window_days
            ),
            prune_intake_log_periodically(
                database, retention_days=settings.intake_log_retention_days
            ),
        ]
        background.append(
            repeat_on_thread(
                3600,
                functools.partial(purge_deleted_webhooks, database),
                what="purge deleted webhooks",
            )
        )
        background.append(
            repeat_on_thread(
                3600,
                functools.partial(forget_expired_sessions, database),
                what="forget expired sessions",
            )
        )
        if keeps_a_log_to_checkpoint(database.dialect):
            background.append(
                repeat_on_thread(
                    CHECKPOINT_EVERY_SECONDS, database.checkpoint, what="checkpoint SQLite's log"
                )
            )
        tasks = [asyncio.create_task(work) for work in background]
        yield
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await hub.stop()
        await app.state.graph.close()
        if db is None:  # only dispose what this app created
            database.dispose()

    app = FastAPI(
        title="leadpipe",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=JSONResponse,
        dependencies=[Depends(refuse_unknown_query_parameters)],
        docs_url=None,  # served below from leadpipe's own files, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.hub = hub
    app.state.graph = GraphApi(settings.facebook_graph_url)
    app.state.intake_line = IntakeLine(
        database,
        idempotency_days=settings.idempotency_window_days,
        queue_limit=settings.intake_queue_limit,
        queue_wait_seconds=settings.intake_queue_wait_seconds,
        publish=hub.publish,
        guard=IntakeGuard.from_settings(settings),
    )
    # Inside the request context (ids, security headers), outside everything else.
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body_bytes,
        larger=dict.fromkeys(IMPORT_UPLOADS, settings.max_import_bytes),
    )
    app.add_middleware(DeliveryShortcut)
    app.add_middleware(RefuseNul)  # before a delivery's webhook is looked up
    app.add_middleware(
        UploadLimits,
        timeout=settings.request_body_timeout_seconds,
        slots=settings.max_concurrent_uploads,
    )
    app.add_middleware(CompressPages)
    app.add_middleware(RequestContextMiddleware)
    exception_handlers.install(app)
    dashboard_errors.install(app)
    app.include_router(intake_router)
    app.include_router(webhooks_router)
    app.include_router(delivery_log_router)
    app.include_router(providers_router)
    # Before the leads router: /leads/pipeline/... must not be taken for /leads/{lead_id}.
    app.include_router(pipeline_router)
    app.include_router(leads_router)
    app.include_router(tasks_router)
    app.include_router(contacts_router)
    app.include_router(person_router)
    app.include_router(contacts_legacy_router)
    app.include_router(exports_router)
    app.include_router(imports_router)
    app.include_router(inbound_router)
    app.include_router(custom_fields_router)
    app.include_router(account_router)
    app.include_router(dashboard_router)
    app.include_router(board_router)
    app.include_router(bulk_router)
    app.include_router(contacts_page_router)
    app.include_router(tasks_page_router)
    app.include_router(webhook_pages_router)
    app.include_router(admin_router)
    app.include_router(providers_page_router)
    app.include_router(imports_page_router)
    app.include_router(live_router)
    app.include_router(observability_router)  # /health/ready and /metrics
    watch_pool(database.engine, settings.database_pool_size + settings.database_max_overflow)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = as_sent(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    _serve_api_docs(app)

    @app.get("/health", tags=["health"], response_model=ServiceHealth)
    async def health(db: DatabaseDep) -> dict[str, object]:
        """Liveness and database reachability."""

        def ping() -> None:
            with db.transaction(write=False) as conn:
                conn.execute(text("SELECT 1"))

        await db.run(ping)
        return {"success": True, "status": "ok", "version": __version__, "database": db.dialect}

    return app
