"""Annotated dependencies shared by endpoints.

They are async on purpose: FastAPI runs plain `def` dependencies in the thread pool,
one thread hop per dependency per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from leadpipe.config import Settings
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
