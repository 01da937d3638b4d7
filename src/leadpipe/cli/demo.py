"""Realistic demo traffic: home-services leads, repeat contacts and status progressions.

Also used by ``bench/intake.py`` so that the benchmark posts the same kind of payloads.
"""

from __future__ import annotations

import csv
import io
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from leadpipe.accounts.repository import WorkspaceRepository
from leadpipe.accounts.service import account, user
from leadpipe.bootstrap import first_webhook
from leadpipe.imports.runner import run_import
from leadpipe.imports.service import imports
from leadpipe.intake.guard import IntakeGuard
from leadpipe.intake.limits import IntakeLimits
from leadpipe.intake.schemas import Delivery
from leadpipe.intake.service import IntakeService
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import request_id
from leadpipe.leads.rules import Actor
from leadpipe.leads.schemas import ActivityCreate, LeadUpdate
from leadpipe.leads.service import lead
from leadpipe.providers.service import provider
from leadpipe.storage import migrate
from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead
from leadpipe.webhooks.service import webhook

_LEADS = table_of(Lead)

FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Carlos",
    "Maria",
    "Jose",
    "Ana",
    "Wei",
    "Mei",
    "Aisha",
    "Omar",
    "Priya",
    "Raj",
    "Olivia",
    "Noah",
    "Emma",
    "Liam",
    "Sofia",
    "Lucas",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Nguyen",
    "Chen",
    "Patel",
    "Khan",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
]
PRODUCTS = [
    ("Solar Panels", 0.24, 28000),
    ("HVAC Replacement", 0.18, 9500),
    ("Kitchen Remodel", 0.14, 32000),
    ("Bath Remodel", 0.14, 15000),
    ("Roofing", 0.12, 14000),
    ("Home Insurance", 0.08, 1800),
    ("Basement Waterproofing", 0.05, 8000),
    ("Windows", 0.05, 12000),
]
SOURCES = [
    ("Facebook Ads", 0.3),
    ("Google Ads", 0.25),
    ("Angi", 0.12),
    ("HomeAdvisor", 0.1),
    ("Website", 0.1),
    ("Referral", 0.06),
    ("Thumbtack", 0.07),
]
PLACES = [
    ("Austin", "TX", "787"),
    ("Phoenix", "AZ", "850"),
    ("Miami", "FL", "331"),
    ("San Diego", "CA", "921"),
    ("Denver", "CO", "802"),
    ("Atlanta", "GA", "303"),
    ("Charlotte", "NC", "282"),
    ("Las Vegas", "NV", "891"),
    ("Tampa", "FL", "336"),
]
AREA_CODES = ["512", "602", "305", "619", "303", "404", "704", "702", "813", "555"]
PROGRESSION = ["Qualified", "Proposal Sent", "Negotiation", "Closed Won", "Closed Lost"]


@dataclass
class Person:
    firstname: str
    lastname: str
    phone: str
    email: str
    crm_id: str
    city: str
    state: str
    zip_code: str


class PayloadFactory:
    """Payloads as providers send them; about ``repeat`` of them are for known people.

    ``tag`` goes into every crm_id and email address: factories with different tags make
    different people (their phone numbers come from ``seed``), so that a benchmark run's
    new people are new to a database that earlier runs filled. Repeats skip the ``settle``
    people made last, whose first delivery may still be on its way when posting is
    concurrent.
    """

    def __init__(self, seed: int = 7, repeat: float = 0.3, tag: str = "", settle: int = 50) -> None:
        self.rng = random.Random(seed)
        self.repeat = repeat
        self.tag = tag
        self.settle = settle
        self.people: list[tuple[Person, str]] = []  # (person, product)
        self._serial = 0

    def _weighted(self, items: list[tuple[Any, ...]]) -> tuple[Any, ...]:
        return self.rng.choices(items, weights=[i[1] for i in items])[0]

    def _new_person(self) -> Person:
        r = self.rng
        self._serial += 1
        first, last = r.choice(FIRST), r.choice(LAST)
        city, state, zip3 = r.choice(PLACES)
        phone = f"{r.choice(AREA_CODES)}{r.randint(200, 999)}{r.randint(0, 9999):04d}"
        return Person(
            first,
            last,
            phone,
            f"{first.lower()}.{last.lower()}{self.tag}{self._serial}@example.com",
            f"CRM{self.tag}{100000 + self._serial}",
            city,
            state,
            f"{zip3}{r.randint(0, 99):02d}",
        )

    def _phone_as_typed(self, phone: str) -> str:
        style = self.rng.randrange(4)
        if style == 0:
            return f"({phone[:3]}) {phone[3:6]}-{phone[6:]}"
        if style == 1:
            return f"{phone[:3]}.{phone[3:6]}.{phone[6:]}"
        if style == 2:
            return f"+1 {phone[:3]} {phone[3:6]} {phone[6:]}"
        return phone

    def next(self) -> dict[str, Any]:
        r = self.rng
        # Repeats pick people seen a while ago, so that under concurrent posting their
        # first delivery has been processed before a status update names them by crm_id.
        known = self.people[: len(self.people) - self.settle]
        if known and r.random() < self.repeat:
            person, product = r.choice(known)
            if r.random() < 0.75:  # a provider reporting progress on the same opportunity
                return {
                    "crm_id": person.crm_id,
                    "productid": product,
                    "lead_status": r.choice(PROGRESSION),
                    "source": "CRM sync",
                }
            product = self._weighted(PRODUCTS)[0]  # the same person, another project
        else:
            person = self._new_person()
            product = self._weighted(PRODUCTS)[0]
        self.people.append((person, product))
        value = next(v for name, _, v in PRODUCTS if name == product)
        payload: dict[str, Any] = {
            "firstname": person.firstname,
            "lastname": person.lastname,
            "email": person.email,
            "phone_number": self._phone_as_typed(person.phone),
            "crm_id": person.crm_id,
            "productid": product,
            "lead_status": "New",
            "source": self._weighted(SOURCES)[0],
            "city": person.city,
            "state": person.state,
            "zip": person.zip_code,
            "estimated_value": round(value * r.uniform(0.6, 1.5), -2),
            "utm_source": r.choice(["facebook", "google", "bing", "newsletter"]),
            "utm_medium": r.choice(["cpc", "social", "email"]),
            "utm_campaign": f"{product.lower().replace(' ', '-')}-q{r.randint(1, 4)}",
            "notes": r.choice(
                [
                    "",
                    "Call after 5pm",
                    "Interested in financing",
                    "Wants a quote this week",
                    "Has an HOA",
                ]
            ),
            "consent": {"description": "I agree to be contacted", "value": True},
        }
        if r.random() < 0.15:
            payload["adate"] = (utcnow() + timedelta(days=r.randint(1, 14))).date().isoformat()
            payload["atime"] = r.choice(["9:00 AM", "11:30 AM", "2:00 PM", "4:30 PM"])
            payload["appointment_status"] = "scheduled"
        if product == "Solar Panels":
            payload["monthlyElectricBill"] = r.randint(90, 450)
            payload["roofType"] = r.choice(["shingle", "tile", "metal"])
        return payload


@dataclass(frozen=True, slots=True)
class DemoSummary:
    webhook_id: str | None
    contacts: int
    leads: int
    updates: int
    api_key: str | None
    made: bool = True  # False: the workspace was there already, and nothing was added
    team_password: str | None = None  # the team's, when made now: shown once


TEAM = [
    ("Dana Whitfield", "dana.whitfield", "admin"),
    ("Sam Rivera", "sam.rivera", "agent"),
    ("Priya Nair", "priya.nair", "agent"),
    ("Marcus Lee", "marcus.lee", "agent"),
    ("Jo Kowalski", "jo.kowalski", "viewer"),
]
# What a sales team logs while it works a lead: type, title, outcome, minutes, next step.
WORK = [
    ("call", "Intro call", "positive", 12, "Book a site visit"),
    ("call", "Left a voicemail", "pending", 2, "Call again tomorrow"),
    ("sms", "Texted to confirm the visit", "neutral", None, None),
    ("email", "Sent the brochure", "neutral", None, "Follow up in 3 days"),
    ("meeting", "Site visit", "positive", 45, "Send the quote"),
    ("quote", "Sent the quote", "pending", None, "Review the quote together"),
    ("note", "Prefers evenings; wife decides on financing", None, None, None),
    ("call", "Not interested right now", "negative", 5, None),
]
TAGS = ["financing", "referral", "spanish", "repeat-customer", "commercial", "hoa"]


def team_sign_ins() -> list[tuple[str, str]]:
    """The demo team's addresses and roles, as the welcome lists them."""
    return [(f"{handle}@example.com", role) for _, handle, role in TEAM]


def work_the_leads(db: Database, workspace_id: str, rng: random.Random, password: str) -> None:
    """A team for the demo workspace (an admin, three agents, a viewer), who sign in with
    ``password``, and who have taken most open leads, logged calls, visits and quotes on
    them, and tagged a few: through the lead lifecycle, at the times they would have."""
    members = []
    with db.transaction() as conn:
        for (name, _, role), (email, _) in zip(TEAM, team_sign_ins(), strict=True):
            created = user.create(
                conn,
                email=email,
                name=name,
                password=password,
                workspace_id=workspace_id,
                role=role,
            )
            if role != "viewer":
                members.append((created.id, name))
        leads = conn.execute(
            select(_LEADS.c.id, _LEADS.c.created_at)
            .where(_LEADS.c.workspace_id == workspace_id, _LEADS.c.is_active)
            .order_by(_LEADS.c.created_at)
        ).all()
    now = utcnow()
    for start in range(0, len(leads), 200):
        with db.transaction() as conn:
            for lead_id, created_at in leads[start : start + 200]:
                if rng.random() < 0.2:
                    continue  # still waiting for someone to take it
                _work_one(conn, workspace_id, lead_id, created_at, now, members, rng)


def _work_one(
    conn: Connection,
    workspace_id: str,
    lead_id: Any,
    created_at: datetime,
    now: datetime,
    members: list[tuple[Any, str]],
    rng: random.Random,
) -> None:
    member_id, name = rng.choice(members)
    actor = Actor.user(member_id, name)
    when = min(now, created_at + timedelta(hours=rng.uniform(0.2, 30)))
    changes: dict[str, Any] = {"assigned_user_id": member_id}
    if rng.random() < 0.3:
        changes["temperature"] = rng.choice(["hot", "cold"])
    if rng.random() < 0.15:
        changes["priority"] = rng.choice(["high", "urgent"])
    if rng.random() < 0.12:
        changes["tags"] = rng.sample(TAGS, rng.randint(1, 2))
    lead.update(conn, workspace_id, lead_id, LeadUpdate(**changes), actor, now=when)
    for kind, title, outcome, minutes, next_step in rng.sample(WORK, rng.randint(1, 3)):
        when = min(now, when + timedelta(hours=rng.uniform(1, 72)))
        lead.add_activity(
            conn,
            workspace_id,
            lead_id,
            ActivityCreate(
                activity_type=kind,
                title=title,
                outcome=outcome,
                duration_minutes=minutes,
                activity_data={"next_steps": next_step} if next_step else None,
            ),
            actor,
            now=when,
        )


# The columns of the demo's spreadsheet: a home show's sign-up sheet.
SHEET_COLUMNS = ("First Name", "Last Name", "Phone", "Email", "City", "State", "Zip", "Interest")
SHEET_KEYS = ("firstname", "lastname", "phone_number", "email", "city", "state", "zip", "productid")


def import_spreadsheet(db: Database, workspace_id: str, rows: int, seed: int) -> None:
    """Sign-ups from a home show, imported as a CSV file through the import driver (the
    same rules as a delivery), so the demo's imports page has one to show."""
    factory = PayloadFactory(seed + 1, repeat=0.0, tag="show")
    out = io.StringIO()
    sheet = csv.writer(out)
    sheet.writerow(SHEET_COLUMNS)
    for _ in range(rows):
        p = factory.next()
        sheet.writerow([p[k] for k in SHEET_KEYS])
    with db.transaction() as conn:
        started = imports.start(
            conn,
            workspace_id,
            filename="home-show-signups.csv",
            content=out.getvalue().encode(),
            column_map={"Interest": "product"},
            dry_run=False,
            created_by="demo",
            now=utcnow(),
        )
    run_import(db, workspace_id, started["id"])


def run_demo(
    db: Database, *, workspace_id: str, deliveries: int, seed: int, password: str
) -> DemoSummary:
    """The demo workspace, made with its traffic and a team who sign in with ``password``;
    one that exists already is left as it is (counted), so that running the demo again
    duplicates neither its team nor its leads, and keeps every sign-in working."""
    with db.transaction(write=False) as conn:
        exists = WorkspaceRepository(conn).get(workspace_id) is not None
        webhook_id = first_webhook(conn, workspace_id) if exists else None
    if exists:
        contacts, leads = _counted(db, workspace_id)
        return DemoSummary(webhook_id, contacts, leads, 0, None, made=False)
    return _make_demo(db, workspace_id, deliveries, seed, password)


def _make_demo(
    db: Database, workspace_id: str, deliveries: int, seed: int, password: str
) -> DemoSummary:
    with db.transaction() as conn:
        account.create_workspace(conn, name="Demo Home Services", workspace_id=workspace_id)
        api_key = account.create_api_key(conn, workspace_id=workspace_id, name="Demo key").key
        webhook_id = webhook.create(
            conn, workspace_id=workspace_id, name=f"Demo feed {seed}", default_source="Demo feed"
        )
        # A lead provider sends a third of the deliveries.
        _, provider_key = provider.create(
            conn,
            workspace_id,
            name="Click Ventures",
            company="Click Ventures LLC",
            contact_name="Morgan Lee",
            email="ops@clickventures.example",
            hourly_limit=100_000,
        )
    # A tenth came as a spreadsheet.
    imported = deliveries // 10
    deliveries -= imported
    import_spreadsheet(db, workspace_id, imported, seed)
    factory = PayloadFactory(seed)
    start = utcnow() - timedelta(days=90)
    step = timedelta(days=90) / max(deliveries, 1)
    updates = 0
    # A backfill from one address: the client IP limit is not the demo's to meet.
    intake = IntakeService(guard=IntakeGuard(IntakeLimits(ip_limit="1000000/minute")))
    for i in range(deliveries):
        when: datetime = start + step * i
        payload = factory.next()
        by_provider = i % 3 == 0
        result = intake.ingest(
            db,
            Delivery(
                webhook_id=webhook_id,
                payload=payload,
                problem=None,
                workspace_header=None,
                delivery_key=None,
                content_type="application/json",
                ip_address="203.0.113.10",
                user_agent="leadpipe-demo",
                request_id=request_id(),
                started=time.perf_counter(),
                body=orjson.dumps(payload),
                headers={"authorization": f"Bearer {provider_key}"} if by_provider else {},
            ),
            now=when,
        )
        updates += result.body["lead_action"] == "updated"
    work_the_leads(db, workspace_id, random.Random(seed), password)
    migrate.refresh_statistics(db.engine)
    contacts, leads = _counted(db, workspace_id)
    return DemoSummary(webhook_id, contacts, leads, updates, api_key, team_password=password)


def _counted(db: Database, workspace_id: str) -> tuple[int, int]:
    """The workspace's contacts and leads."""
    with db.transaction(write=False) as conn:
        contacts = conn.execute(
            select(func.count())
            .select_from(table_of(Contact))
            .where(table_of(Contact).c.workspace_id == workspace_id)
        ).scalar_one()
        leads = conn.execute(
            select(func.count())
            .select_from(table_of(Lead))
            .where(table_of(Lead).c.workspace_id == workspace_id)
        ).scalar_one()
    return contacts, leads
