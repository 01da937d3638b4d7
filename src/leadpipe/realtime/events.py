"""The events the dashboard's WebSocket carries (seed 001's names), built from what a
committed write returned."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

CONTACT_CREATED = "webhook:contact_created"
LEAD_CREATED = "lead.created"
LEAD_UPDATED = "lead.updated"
ACTIVITY_CREATED = "activity.created"
TYPES = (CONTACT_CREATED, LEAD_CREATED, LEAD_UPDATED, ACTIVITY_CREATED)


@dataclass(frozen=True, slots=True)
class Event:
    workspace_id: str
    type: str
    data: dict[str, Any]

    def encode(self) -> str:
        return orjson.dumps(
            {"workspace_id": self.workspace_id, "type": self.type, "data": self.data},
            default=str,
        ).decode()

    @classmethod
    def decode(cls, raw: str | bytes) -> Event:
        parsed = orjson.loads(raw)
        return cls(parsed["workspace_id"], parsed["type"], parsed["data"])

    def as_message(self) -> str:
        """What a socket receives: the type, and the data with the workspace's id."""
        return orjson.dumps(
            {"type": self.type, "data": {"workspace_id": self.workspace_id, **self.data}},
            default=str,
        ).decode()


def contact_created(
    workspace_id: str,
    contact_id: Any,
    firstname: str | None,
    lastname: str | None,
    webhook_name: str | None,
) -> Event:
    return Event(
        workspace_id,
        CONTACT_CREATED,
        {
            "contact_id": str(contact_id),
            "firstname": firstname,
            "lastname": lastname,
            "webhook_name": webhook_name,
        },
    )


def lead_changed(
    workspace_id: str, lead_id: Any, contact_id: Any, *, created: bool, **about: Any
) -> Event:
    """``lead.created`` or ``lead.updated``; ``about`` says what a watcher may show at
    once (stage, names, source) before it reads the lead again."""
    return Event(
        workspace_id,
        LEAD_CREATED if created else LEAD_UPDATED,
        {"lead_id": str(lead_id), "contact_id": str(contact_id), **about},
    )


def lead_as_changed(lead: dict[str, Any], *, created: bool = False) -> Event:
    """``lead.updated`` (or ``lead.created``) for a lead as a change left it."""
    return lead_changed(
        lead["workspace_id"], lead["id"], lead["contact_id"], created=created, stage=lead["stage"]
    )


def activity_created(workspace_id: str, activity: dict[str, Any]) -> Event:
    return Event(
        workspace_id,
        ACTIVITY_CREATED,
        {
            "activity_id": str(activity["id"]),
            "lead_id": str(activity["lead_id"]),
            "activity_type": activity["activity_type"],
            "title": activity.get("title"),
        },
    )


@dataclass(frozen=True, slots=True)
class Revocation:
    """A right to watch may be gone (a key revoked, a member removed, sessions ended): the
    sockets opened with it look it up again. It travels between workers only; a socket is
    never sent one."""

    subject: str  # ``user:<id>`` or ``key:<id>``

    def encode(self) -> str:
        return orjson.dumps({"revoked": self.subject}).decode()


def user_revoked(user_id: Any) -> Revocation:
    """The user's sessions, memberships or account changed."""
    return Revocation(f"user:{user_id}")


def key_revoked(key_id: Any) -> Revocation:
    return Revocation(f"key:{key_id}")
