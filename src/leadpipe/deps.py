"""Annotated dependencies shared by endpoints.

They are async on purpose: FastAPI runs plain `def` dependencies in the thread pool,
one thread hop per dependency per request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from leadpipe.config import Settings
from leadpipe.errors import ValidationFailed, field_error
from leadpipe.storage.engine import Database


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def request_id_of(request: Request) -> str:
    request_id: str = request.state.request_id
    return request_id


async def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_app_settings(request: Request) -> Settings:
    return settings_of(request)


async def get_request_id(request: Request) -> str:
    return request_id_of(request)


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RequestId = Annotated[str, Depends(get_request_id)]


# The tag of the dashboard's routes (``leadpipe.web``), which are not in the API schema.
DASHBOARD_TAG = "dashboard"


async def refuse_unknown_query_parameters(request: HTTPConnection) -> None:
    """A query parameter the endpoint does not take is a 400 naming it: a typo such as
    ``?stage_name=won`` would otherwise return every lead, unfiltered."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    if DASHBOARD_TAG in getattr(route, "tags", ()):
        return  # the dashboard's pages build their own links, and ignore what they do not use
    known = _query_parameters(route)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        usable = f"use {', '.join(sorted(known))}" if known else "this endpoint takes none"
        raise ValidationFailed(
            "Unknown query parameters",
            [field_error(name, f"is not a query parameter here; {usable}") for name in unknown],
        )


# By the id of the route's dependant, held beside its names so that the id stays its own.
_QUERY_PARAMETERS: dict[int, tuple[Any, frozenset[str]]] = {}


def _query_parameters(route: Any) -> frozenset[str]:
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return frozenset()
    cached = _QUERY_PARAMETERS.get(id(dependant))
    if cached is None:
        names: set[str] = set()
        waiting = [dependant]
        while waiting:  # the endpoint's own parameters and its dependencies'
            node = waiting.pop()
            names |= {p.alias for p in node.query_params}
            waiting += node.dependencies
        cached = _QUERY_PARAMETERS[id(dependant)] = (dependant, frozenset(names))
    return cached[1]
