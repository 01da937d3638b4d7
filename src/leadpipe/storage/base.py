"""Declarative base with a naming convention (Alembic needs named constraints on SQLite)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import MetaData, Numeric, Table, Uuid
from sqlalchemy.orm import DeclarativeBase

from leadpipe.storage.types import JSONType, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        Decimal: Numeric(15, 2),
    }


def table_of(model: type[Base]) -> Table:
    """The Core table of a model: the hot paths run Core statements against it."""
    return cast(Table, model.__table__)
