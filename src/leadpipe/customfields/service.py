"""Custom field definitions: CRUD, vertical templates, and checking lead values."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from leadpipe.customfields.repository import FieldDefinitionRepository
from leadpipe.customfields.rules import TEMPLATES, check_values, definition_errors
from leadpipe.customfields.schemas import FieldDefinitionCreate, FieldDefinitionUpdate
from leadpipe.errors import Conflict, NotFound, ValidationFailed, field_error
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import uuid7


class CustomFieldService:
    def definitions(
        self, conn: Connection, workspace_id: str, *, include_inactive: bool
    ) -> list[dict[str, Any]]:
        return FieldDefinitionRepository(conn).all(workspace_id, include_inactive=include_inactive)

    def create(
        self, conn: Connection, workspace_id: str, body: FieldDefinitionCreate
    ) -> dict[str, Any]:
        problems = definition_errors(body.field_type, body.options)
        if problems:
            raise ValidationFailed("Invalid custom field", [field_error("options", problems[0])])
        now = utcnow()
        created = FieldDefinitionRepository(conn).insert(
            {
                "id": uuid7(),
                "workspace_id": workspace_id,
                **body.model_dump(),
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
        )
        if not created:
            raise Conflict(f"Custom field '{body.field_key}' already exists")
        return self._get(conn, workspace_id, body.field_key)

    def update(
        self, conn: Connection, workspace_id: str, key: str, body: FieldDefinitionUpdate
    ) -> dict[str, Any]:
        current = self._get(conn, workspace_id, key)
        values = body.model_dump(exclude_unset=True)
        problems = definition_errors(
            current["field_type"], values.get("options", current["options"])
        )
        if problems:
            raise ValidationFailed("Invalid custom field", [field_error("options", problems[0])])
        FieldDefinitionRepository(conn).update(
            workspace_id, key, {**values, "updated_at": utcnow()}
        )
        return self._get(conn, workspace_id, key)

    def delete(self, conn: Connection, workspace_id: str, key: str) -> None:
        """Forget the definition; values already on leads stay, unchecked."""
        self._get(conn, workspace_id, key)
        FieldDefinitionRepository(conn).delete(workspace_id, key)

    def apply_template(
        self, conn: Connection, workspace_id: str, vertical: str
    ) -> list[dict[str, Any]]:
        """Add a vertical's fields; keys the workspace already has are left as they are."""
        if vertical not in TEMPLATES:
            raise NotFound(f"No template '{vertical}'; use one of {', '.join(TEMPLATES)}")
        repo = FieldDefinitionRepository(conn)
        now = utcnow()
        for order, d in enumerate(TEMPLATES[vertical], start=1):
            repo.insert(
                {
                    "id": uuid7(),
                    "workspace_id": workspace_id,
                    "field_key": d.key,
                    "label": d.label,
                    "field_type": d.field_type,
                    "options": list(d.options),
                    "required": d.required,
                    "sort_order": order,
                    "is_active": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        keys = {d.key for d in TEMPLATES[vertical]}
        return [f for f in repo.all(workspace_id) if f["field_key"] in keys]

    def checked_values(
        self,
        conn: Connection,
        workspace_id: str,
        values: dict[str, Any],
        *,
        region: str,
        creating: bool,
    ) -> dict[str, Any]:
        """Lead custom field values normalised, or a 400 naming each bad field."""
        definitions = FieldDefinitionRepository(conn).active(workspace_id)
        checked = check_values(values, definitions, region=region, require_all=creating)
        if checked.errors:
            raise ValidationFailed("Invalid custom fields", list(checked.errors))
        return checked.values

    @staticmethod
    def _get(conn: Connection, workspace_id: str, key: str) -> dict[str, Any]:
        found = FieldDefinitionRepository(conn).get(workspace_id, key)
        if found is None:
            raise NotFound(f"Custom field '{key}' not found")
        return found


custom_fields = CustomFieldService()
