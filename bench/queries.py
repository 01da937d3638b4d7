"""Read benchmark: 1,000,000 leads across 200 workspaces, timed through HTTP.

Two steps, because the server is yours to start:

    # 1. fill a database (SQLite file or PostgreSQL) and write the API keys it made
    python bench/queries.py fill --database-url sqlite:////tmp/bench-queries.db
    # 2. start leadpipe on it, then time the API
    LEADPIPE_DATABASE_URL=sqlite:////tmp/bench-queries.db \\
        LEADPIPE_API_RATE_LIMIT=1000000/minute leadpipe serve --port 8300
    python bench/queries.py measure http://127.0.0.1:8300
    python bench/queries.py dashboard http://127.0.0.1:8300   # the dashboard's pages

``fill`` makes the largest workspace about 70,000 leads and spreads the rest over 199
smaller ones (contacts about 0.7 per lead, a year of history, realistic stages, products,
sources, priorities, temperatures, scores and tags). ``measure`` runs each query against the
largest workspace and prints p50 and p95: the default lead list, a stage + source filtered
list, a search by phone in another format than stored, the pipeline overview, the inbound
queue with metrics, and the lead table's other sorts and filters.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import machine
from sqlalchemy import Connection, Table, insert, select, text

from leadpipe.accounts.service import account, user
from leadpipe.cli.demo import FIRST, LAST, PRODUCTS, SOURCES
from leadpipe.config import Settings
from leadpipe.contacts.rules import reversed_digits
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import uuid7
from leadpipe.leads.rules import product_key
from leadpipe.storage import migrate
from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead

PRIORITIES = ("low", "medium", "high", "urgent")
TEMPERATURES = ("cold", "warm", "hot")
STAGES = [
    ("new", 0.45, 10),
    ("qualified", 0.15, 25),
    ("proposal", 0.08, 60),
    ("negotiation", 0.04, 80),
    ("won", 0.12, 100),
    ("lost", 0.12, 0),
    ("inactive", 0.04, 0),
]


def workspace_sizes(total: int, count: int, largest: int) -> list[int]:
    weights = [1 / (i + 2) ** 0.8 for i in range(count - 1)]
    rest = total - largest
    sizes = [max(1, int(rest * w / sum(weights))) for w in weights]
    sizes[0] += rest - sum(sizes)
    return [largest, *sizes]


# Each tag's share of the leads, drawn independently: most leads have none, a few two.
TAG_SHARES = (
    ("financing", 0.15),
    ("referral", 0.10),
    ("spanish", 0.08),
    ("vip", 0.05),
    ("commercial", 0.05),
    ("hoa", 0.005),
)


def some_tags(rng: random.Random) -> list[str]:
    return [tag for tag, share in TAG_SHARES if rng.random() < share]


DASHBOARD_USER = "bench@example.com"
DASHBOARD_PASSWORD = "bench-password-1234"


def fill_workspace(
    db: Database, workspace_id: str, leads: int, rng: random.Random, *, with_team: bool = False
) -> str:
    """The workspace's leads; ``with_team``: an owner to sign in with (``DASHBOARD_USER``)
    and five agents, who have most of the leads assigned."""
    now = utcnow()
    agents: list[Any] = [None]
    with db.transaction() as conn:
        account.create_workspace(conn, name=f"Bench {workspace_id}", workspace_id=workspace_id)
        key = account.create_api_key(conn, workspace_id=workspace_id, name="bench").key
        if with_team:
            user.create(
                conn,
                email=DASHBOARD_USER,
                password=DASHBOARD_PASSWORD,
                workspace_id=workspace_id,
                role="owner",
            )
            agents += [
                user.create(
                    conn,
                    email=f"agent{i}@example.com",
                    name=f"Agent {i}",
                    workspace_id=workspace_id,
                    role="agent",
                ).id
                for i in range(5)
            ]
    contacts_n = max(1, int(leads * 0.7))
    contact_ids = [uuid7() for _ in range(contacts_n)]
    contacts = [
        {
            "id": cid,
            "workspace_id": workspace_id,
            "identity_scope": "",
            "firstname": rng.choice(FIRST),
            "lastname": rng.choice(LAST),
            "email": f"p{i}.{workspace_id}@example.com",
            "phone_number": (phone := f"+1{rng.choice(['512', '602', '305', '619'])}{i:07d}"),
            "phone_reversed": reversed_digits(phone),
            "lead_source": rng.choice(SOURCES)[0],
            "custom_fields": {},
            "metadata": {},
            "created_at": now,
            "updated_at": now,
        }
        for i, cid in enumerate(contact_ids)
    ]
    rows = []
    for _ in range(leads):
        stage, _, probability = rng.choices(STAGES, weights=[s[1] for s in STAGES])[0]
        product, _, value = rng.choices(PRODUCTS, weights=[p[1] for p in PRODUCTS])[0]
        created = now - timedelta(seconds=rng.randint(0, 365 * 86400))
        rows.append(
            {
                "id": uuid7(),
                "contact_id": rng.choice(contact_ids),
                "workspace_id": workspace_id,
                "lead_source": rng.choices(SOURCES, weights=[s[1] for s in SOURCES])[0][0],
                "product_interest": product,
                "product_key": product_key(product),
                "estimated_value": Decimal(round(value * rng.uniform(0.5, 1.5), -2)),
                "stage": stage,
                "probability": probability,
                "priority": rng.choices(PRIORITIES, weights=[20, 50, 25, 5])[0],
                "temperature": rng.choices(TEMPERATURES, weights=[30, 50, 20])[0],
                "lead_score": rng.randint(0, 100),
                "is_active": stage not in ("lost", "inactive"),
                "is_converted": stage == "won",
                "converted_at": created if stage == "won" else None,
                "metadata": {},
                "tags": some_tags(rng),
                "custom_fields": {},
                "created_at": created,
                "updated_at": min(now, created + timedelta(seconds=rng.randint(0, 30 * 86400))),
                "assigned_user_id": rng.choices(agents, weights=[2] + [1] * (len(agents) - 1))[0],
            }
        )
        rows[-1]["last_activity_at"] = rows[-1]["updated_at"]
    # A contact dates from its first lead (or some day of the year, if it has none), so
    # that the contact list's newest-first order is as varied as real data's.
    first_lead: dict[Any, Any] = {}
    for lead in rows:
        first_lead[lead["contact_id"]] = min(
            lead["created_at"], first_lead.get(lead["contact_id"], lead["created_at"])
        )
    for contact in contacts:
        created = first_lead.get(contact["id"]) or now - timedelta(
            seconds=rng.randint(0, 365 * 86400)
        )
        contact["created_at"] = contact["updated_at"] = created
    with db.transaction() as conn:
        for table, batch in ((table_of(Contact), contacts), (table_of(Lead), rows)):
            _insert_all(conn, table, batch)
    return key


def _insert_all(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Bulk insert; on PostgreSQL with COPY, where executemany would run every row as its
    own statement (and the lead-counting trigger once per row)."""
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    columns = list(rows[0])
    json_columns = {c for c in columns if isinstance(rows[0][c], dict | list)}
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c]) if c in json_columns else row[c] for c in columns])


def _a_phone_with_leads(db: Database, workspace_id: str) -> str:
    contacts, leads = table_of(Contact), table_of(Lead)
    with db.transaction(write=False) as conn:
        return str(
            conn.execute(
                select(contacts.c.phone_number)
                .join(leads, leads.c.contact_id == contacts.c.id)
                .where(contacts.c.workspace_id == workspace_id, leads.c.is_active)
                .limit(1)
            ).scalar_one()
        )


def fill(args: argparse.Namespace) -> None:
    db = Database.from_settings(Settings(database_url=args.database_url))
    migrate.upgrade(db.engine)
    rng = random.Random(args.seed)
    sizes = workspace_sizes(args.leads, args.workspaces, args.largest)
    keys: dict[str, Any] = {}
    started = time.perf_counter()
    for i, size in enumerate(sizes):
        workspace_id = f"bench{i:03d}"
        key = fill_workspace(db, workspace_id, size, rng, with_team=i == 0)
        if i == 0:
            keys = {
                "workspace_id": workspace_id,
                "api_key": key,
                "leads": size,
                "phone": _a_phone_with_leads(db, workspace_id),
            }
        if i % 20 == 0:
            print(
                f"  {i + 1}/{len(sizes)} workspaces, {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would, in time
    else:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    Path(args.keys).write_text(json.dumps(keys))
    print(
        f"filled {sum(sizes):,} leads in {len(sizes)} workspaces "
        f"(largest {sizes[0]:,}) in {time.perf_counter() - started:.0f} s; "
        f"keys in {args.keys}"
    )


def measure(args: argparse.Namespace) -> None:
    keys = json.loads(Path(args.keys).read_text())
    ws = keys["workspace_id"]
    headers = {"X-API-Key": keys["api_key"]}
    # A phone the largest workspace has (fill records it), typed as a person would.
    e164 = keys.get("phone", "+15120000042")
    phone = f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    queries = {
        "default lead list": "/api/v3/leads",
        "filtered list (stage + source)": "/api/v3/leads?stage=qualified&source=Google%20Ads",
        "search by phone": f"/api/v3/leads?q={phone}&is_active=true",
        "search by a phone's last 4 digits": f"/api/v3/leads?q={e164[-4:]}&is_active=true",
        "search by a phone's last 7 digits": f"/api/v3/leads?q={e164[5:8]}-{e164[8:]}",
        "pipeline overview": f"/api/v3/leads/pipeline/{ws}",
        "inbound metrics": f"/api/inbound-leads?workspace_id={ws}",
        # The lead table's other sorts and filters (the dashboard offers each of them).
        "sorted by last update": "/api/v3/leads?sort=updated_at",
        "sorted by value": "/api/v3/leads?sort=estimated_value",
        "sorted by score": "/api/v3/leads?sort=lead_score",
        "filtered by priority": "/api/v3/leads?priority=high",
        "filtered by temperature": "/api/v3/leads?temperature=hot",
    }
    print(f"largest workspace {ws}: {keys['leads']:,} leads; {args.runs} runs each")
    print(machine.describe())
    with httpx.Client(base_url=args.server, headers=headers, timeout=30) as client:
        for label, path in queries.items():
            for _ in range(5):
                assert client.get(path).status_code == 200, client.get(path).text
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(f"  {label:32s} p50 {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms")


def measure_dashboard(args: argparse.Namespace) -> None:
    """The dashboard's pages and every sort and filter of its lead table, signed in as the
    largest workspace's owner."""
    keys = json.loads(Path(args.keys).read_text())
    e164 = keys.get("phone", "+15120000042")
    phone = f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    with httpx.Client(base_url=args.server, timeout=30) as client:
        form = client.get("/login").text
        token = form.split('name="login_token" value="')[1].split('"')[0]
        signed = client.post(
            "/login",
            data={"email": DASHBOARD_USER, "password": DASHBOARD_PASSWORD, "login_token": token},
        )
        assert signed.status_code == 303, signed.text
        table = {"HX-Request": "true", "HX-Target": "lead-table"}
        page = client.get("/app").text
        lead_id = page.split('data-lead-id="')[1].split('"')[0]
        contact_id = page.split('href="/app/contacts/')[1].split('"')[0]
        agent = page.split('name="assignee"><option value="">Anyone</option>')[1]
        agent_id = agent.split('<option value="', 2)[2].split('"')[0]
        year_ago = (utcnow() - timedelta(days=365)).date().isoformat()
        month_ago = (utcnow() - timedelta(days=30)).date().isoformat()
        pages: dict[str, tuple[str, dict[str, str]]] = {
            "inbound page (full)": ("/app", {}),
            "metrics grid": ("/app/metrics", {}),
            "pipeline board": ("/app/pipeline", {}),
            "lead sidebar": (f"/app/leads/{lead_id}", {}),
            "contact page": (f"/app/contacts/{contact_id}", {}),
            "webhooks": ("/app/webhooks", {}),
            "settings": ("/app/settings", {}),
        }
        for sort in ("created_at", "updated_at", "estimated_value", "lead_score"):
            for order in ("desc", "asc"):
                pages[f"table sorted by {sort} {order}"] = (
                    f"/app?sort={sort}&order={order}",
                    table,
                )
        filters = {
            "stage": "stage=qualified",
            "source": "source=Google%20Ads",
            "product": "product=Solar%20Panels",
            "assignee": f"assignee={agent_id}",
            "unassigned": "assignee=none",
            "priority": "priority=high",
            "temperature": "temperature=hot",
            "created range": f"created_from={year_ago}&created_to={month_ago}",
            "last activity range": f"active_from={month_ago}",
            "no activity 7 days": "idle_days=7",
            "closed leads": "status=closed",
            "several stages": "stage=new&stage=qualified&stage=proposal",
            "several sources": "source=Google%20Ads&source=Website",
            "tag (5% of leads)": "tag=vip",
            "a rare tag (0.5%)": "tag=hoa",
            "two tags": "tag=vip,hoa",
            "heat-map cell (30 days)": (
                "source=Google%20Ads&product=Solar%20Panels&status=all&within=30"
            ),
            "search by phone": f"q={phone}",
            "search by a phone's last 4 digits": f"q={e164[-4:]}",
            "search by a phone's last 7 digits": f"q={e164[5:8]}-{e164[8:]}",
            "search by name": "q=garcia",
            "search by part of an email": f"q=p1234.{keys['workspace_id']}",
            "page 500": "page=500",
        }
        for label, query in filters.items():
            pages[f"table filter: {label}"] = (f"/app?{query}", table)
        print(machine.describe())
        for label, (path, headers) in pages.items():
            for _ in range(3):
                assert client.get(path, headers=headers).status_code == 200
            times = []
            for _ in range(args.runs):
                start = time.perf_counter()
                response = client.get(path, headers=headers)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.text
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(f"  {label:40s} p50 {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fill")
    f.add_argument("--database-url", required=True)
    f.add_argument("--leads", type=int, default=1_000_000)
    f.add_argument("--workspaces", type=int, default=200)
    f.add_argument("--largest", type=int, default=70_000)
    f.add_argument("--seed", type=int, default=5)
    m = sub.add_parser("measure")
    m.add_argument("server")
    m.add_argument("--runs", type=int, default=100)
    d = sub.add_parser("dashboard")
    d.add_argument("server")
    d.add_argument("--runs", type=int, default=40)
    for p in (f, m, d):
        p.add_argument(
            "--keys",
            default="bench-queries-keys.json",
            help="where fill writes the largest workspace's API key",
        )
    args = parser.parse_args()
    {"fill": fill, "measure": measure, "dashboard": measure_dashboard}[args.command](args)


if __name__ == "__main__":
    main()
