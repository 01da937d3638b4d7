"""Each preset with a realistic payload of its sender, through HTTP: the lead lands with
its name, phone, email, product and answers in place."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import orjson
import pytest

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, InboundRequest, Lead
from leadpipe.webhooks.signatures import sign_base64, sign_hex
from tests.conftest import Tenant
from tests.integration.helpers import count, one, rows
from tests.integration.test_lead_api import auth

WEBHOOKS = "/api/v3/webhooks"


async def preset_webhook(
    client: httpx.AsyncClient, tenant: Tenant, preset: str, **settings: Any
) -> dict[str, Any]:
    made = await client.post(
        WEBHOOKS,
        json={"name": f"{preset} form", "preset": preset, **settings},
        headers=auth(tenant),
    )
    assert made.status_code == 201, made.text
    return dict(made.json()["data"])


def landed(db: Database, response: httpx.Response) -> tuple[dict[str, Any], dict[str, Any]]:
    """The contact and the lead a delivery wrote."""
    assert response.status_code == 200, response.text
    body = response.json()
    return one(db, Contact, id=body["contact_id"]), one(db, Lead, id=body["lead_id"])


# -- Facebook Lead Ads, posted directly -----------------------------------------------

FACEBOOK_LEAD = {
    "id": "1203948576012345",
    "created_time": "2026-12-01T15:04:05+0000",
    "ad_id": "23851234567890123",
    "form_id": "912345678901234",
    "campaign_id": "23851234567000000",
    "field_data": [
        {"name": "full_name", "values": ["Maria Lopez"]},
        {"name": "phone_number", "values": ["+14155550123"]},
        {"name": "email", "values": ["maria.lopez@example.com"]},
        {"name": "zip_code", "values": ["94107"]},
        {"name": "which_system_are_you_interested_in?", "values": ["Solar + battery"]},
        {"name": "what_is_your_average_monthly_electric_bill?", "values": ["$150-$200"]},
    ],
}
FACEBOOK_MAPPING = {"which_system_are_you_interested_in?": "product"}


async def test_a_facebook_lead_posted_directly_lands_by_field_name(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    hook = await preset_webhook(client, tenant, "facebook", field_mapping=FACEBOOK_MAPPING)
    assert hook["default_source"] == "Facebook Lead Ads"
    # A question added at the top of the form shifts nothing.
    lead = {
        **FACEBOOK_LEAD,
        "field_data": [
            {"name": "preferred_time", "values": ["morning"]},
            *FACEBOOK_LEAD["field_data"],
        ],
    }
    contact, stored = landed(db, await client.post(hook["url_path"], json=lead))
    assert (contact["firstname"], contact["lastname"]) == ("Maria", "Lopez")
    assert (contact["phone_number"], contact["email"]) == (
        "+14155550123",
        "maria.lopez@example.com",
    )
    assert contact["zip_code"] == "94107"
    assert stored["product_interest"] == "Solar + battery"
    assert stored["lead_source"] == "Facebook Lead Ads"
    answers = contact["custom_fields"]
    assert answers["what_is_your_average_monthly_electric_bill?"] == "$150-$200"
    assert answers["preferred_time"] == "morning"
    assert answers["facebook_form_id"] == "912345678901234"
    # Zapier retrying the same lead is the same delivery.
    again = await client.post(hook["url_path"], json=lead)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(db, Lead) == 1


# -- Facebook's real-time leadgen webhook ---------------------------------------------


class FakeGraph:
    """The Graph API's lead endpoint, on a real local port: leads by id for one token."""

    token = "EAAGpage-token-1"

    def __init__(self) -> None:
        self.leads: dict[str, dict[str, Any]] = {}
        self.asked: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                lead_id = url.path.strip("/").split("/")[-1]
                token = parse_qs(url.query).get("access_token", [""])[0]
                fake.asked.append(lead_id)
                if token != fake.token:
                    self._answer(400, {"error": {"message": "Invalid OAuth access token."}})
                elif lead_id not in fake.leads:
                    self._answer(404, {"error": {"message": f"Object {lead_id} does not exist"}})
                else:
                    self._answer(200, fake.leads[lead_id])

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v21.0"


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()


@pytest.fixture
async def fb_client(
    settings: Settings, db: Database, graph: FakeGraph
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"facebook_graph_url": graph.url}), db)
    transport = httpx.ASGITransport(app=app, client=("173.252.127.1", 443))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
    await app.state.graph.close()


APP_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def notification(*leadgen_ids: str) -> bytes:
    return orjson.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": "104857600000001",
                    "time": int(time.time()),
                    "changes": [
                        {
                            "field": "leadgen",
                            "value": {
                                "leadgen_id": leadgen_id,
                                "page_id": "104857600000001",
                                "form_id": "912345678901234",
                                "ad_id": "23851234567890123",
                                "created_time": int(time.time()),
                            },
                        }
                        for leadgen_id in leadgen_ids
                    ],
                }
            ],
        }
    )


async def leadgen_webhook(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    hook = await preset_webhook(
        client,
        tenant,
        "facebook",
        field_mapping=FACEBOOK_MAPPING,
        signature_mode="required",
        preset_settings={"verify_token": "meatball-42", "page_token": FakeGraph.token},
    )
    rotated = await client.post(
        f"{WEBHOOKS}/{hook['id']}/secrets",
        json={"secret": APP_SECRET, "keep_old_until": "2000-01-01T00:00:00Z"},
        headers=auth(tenant),
    )
    assert rotated.status_code == 200, rotated.text
    return hook


async def test_facebook_subscription_check_echoes_the_challenge_for_the_right_token(
    fb_client: httpx.AsyncClient, tenant: Tenant
) -> None:
    hook = await leadgen_webhook(fb_client, tenant)
    assert (
        "meatball-42"
        not in (await fb_client.get(f"{WEBHOOKS}/{hook['id']}", headers=auth(tenant))).text
    )
    ok = await fb_client.get(
        hook["url_path"],
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": "meatball-42",
            "hub.challenge": "1158201444",
        },
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = await fb_client.get(
        hook["url_path"],
        params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
    )
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "FORBIDDEN"


async def test_a_leadgen_notification_fetches_each_lead_from_the_graph_api(
    fb_client: httpx.AsyncClient, db: Database, tenant: Tenant, graph: FakeGraph
) -> None:
    hook = await leadgen_webhook(fb_client, tenant)
    for n, leadgen_id in enumerate(("444444444444001", "444444444444002")):
        graph.leads[leadgen_id] = {
            **FACEBOOK_LEAD,
            "id": leadgen_id,
            "field_data": [
                {"name": "full_name", "values": [f"Lead Number{n}"]},
                {"name": "email", "values": [f"lead{n}@example.com"]},
                {"name": "phone_number", "values": [f"(415) 555-010{n}"]},
                {"name": "which_system_are_you_interested_in?", "values": ["Solar"]},
            ],
        }
    body = notification("444444444444001", "444444444444002")
    signed = {"content-type": "application/json", "x-hub-signature-256": sign_hex(APP_SECRET, body)}
    answer = await fb_client.post(hook["url_path"], content=body, headers=signed)
    assert answer.status_code == 200, answer.text
    assert [lead["lead_action"] for lead in answer.json()["leads"]] == ["created", "created"]
    assert sorted(graph.asked) == ["444444444444001", "444444444444002"]
    emails = {c["email"]: c["phone_number"] for c in rows(db, Contact)}
    assert emails == {"lead0@example.com": "+14155550100", "lead1@example.com": "+14155550101"}
    assert {lead["product_interest"] for lead in rows(db, Lead)} == {"Solar"}

    # Facebook's retry of the notification stores nothing twice.
    again = await fb_client.post(hook["url_path"], content=body, headers=signed)
    assert again.status_code == 200
    assert count(db, Lead) == 2


async def test_a_leadgen_notification_with_a_bad_signature_fetches_nothing(
    fb_client: httpx.AsyncClient, db: Database, tenant: Tenant, graph: FakeGraph
) -> None:
    hook = await leadgen_webhook(fb_client, tenant)
    body = notification("444444444444009")
    forged = {
        "content-type": "application/json",
        "x-hub-signature-256": sign_hex("not-the-app-secret", body),
    }
    refused = await fb_client.post(hook["url_path"], content=body, headers=forged)
    assert refused.status_code == 401
    assert graph.asked == []
    assert count(db, Lead) == 0
    assert [r["http_status"] for r in rows(db, InboundRequest, webhook_id=hook["id"])] == [401]


async def test_a_lead_the_graph_api_cannot_give_is_a_502_kept_for_replay(
    fb_client: httpx.AsyncClient, db: Database, tenant: Tenant, graph: FakeGraph
) -> None:
    hook = await leadgen_webhook(fb_client, tenant)
    body = notification("444444444444404")  # the fake Graph does not know it
    signed = {"content-type": "application/json", "x-hub-signature-256": sign_hex(APP_SECRET, body)}
    answer = await fb_client.post(hook["url_path"], content=body, headers=signed)
    assert answer.status_code == 502
    assert answer.json()["code"] == "BAD_GATEWAY"
    assert "does not exist" in answer.json()["error"]
    logged = rows(db, InboundRequest, webhook_id=hook["id"])
    assert [(r["http_status"], r["raw_body"] is not None) for r in logged] == [(502, True)]
    assert count(db, Lead) == 0

    # Once the Graph API has it, a replay fetches it again and stores it.
    graph.leads["444444444444404"] = {**FACEBOOK_LEAD, "id": "444444444444404"}
    replayed = await fb_client.post(
        f"{WEBHOOKS}/{hook['id']}/deliveries/{logged[0]['id']}/replay", headers=auth(tenant)
    )
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["data"]["http_status"] == 200
    assert one(db, Lead)["product_interest"] == "Solar + battery"
    assert one(db, InboundRequest, id=logged[0]["id"])["replayed_as"] is not None


# -- Google Ads lead forms -------------------------------------------------------------


def google_lead(is_test: bool = False, key: str = "gk-7f3a9c") -> dict[str, Any]:
    return {
        "lead_id": "TeSter-123-ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz-0123456789",
        "api_version": "1.0",
        "form_id": 40000000000,
        "campaign_id": 20000000000,
        "google_key": key,
        "is_test": is_test,
        "gcl_id": "EAIaIQobChMI",
        "adgroup_id": 150000000000,
        "creative_id": 600000000000,
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "James Carter", "column_id": "FULL_NAME"},
            {
                "column_name": "User Email",
                "string_value": "jcarter@example.com",
                "column_id": "EMAIL",
            },
            {
                "column_name": "User Phone",
                "string_value": "+1 512-555-0147",
                "column_id": "PHONE_NUMBER",
            },
            {"column_name": "Postal Code", "string_value": "78701", "column_id": "POSTAL_CODE"},
            {
                "column_name": "What service do you need?",
                "string_value": "AC repair",
                "column_id": "what_service_do_you_need?",
            },
            {
                "column_name": "How old is your system?",
                "string_value": "10+ years",
                "column_id": "system_age",
            },
        ],
    }


async def test_a_google_ads_lead_lands_by_column_id_with_its_key_checked(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    hook = await preset_webhook(
        client,
        tenant,
        "google",
        preset_settings={"google_key": "gk-7f3a9c"},
        field_mapping={"what_service_do_you_need?": "product"},
    )
    contact, lead = landed(db, await client.post(hook["url_path"], json=google_lead()))
    assert (contact["firstname"], contact["lastname"], contact["email"]) == (
        "James",
        "Carter",
        "jcarter@example.com",
    )
    assert (contact["phone_number"], contact["zip_code"]) == ("+15125550147", "78701")
    assert (lead["product_interest"], lead["lead_source"]) == ("AC repair", "Google Ads")
    assert contact["custom_fields"]["system_age"] == "10+ years"

    wrong_key = await client.post(hook["url_path"], json=google_lead(key="guessed"))
    assert wrong_key.status_code == 401
    assert count(db, Lead) == 1


async def test_a_google_test_lead_is_logged_but_never_a_lead(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    hook = await preset_webhook(
        client, tenant, "google", preset_settings={"google_key": "gk-7f3a9c"}
    )
    answer = await client.post(hook["url_path"], json=google_lead(is_test=True))
    assert answer.status_code == 200, answer.text
    assert answer.json()["test"] is True
    assert (count(db, Lead), count(db, Contact)) == (0, 0)
    logged = (await client.get(f"{WEBHOOKS}/{hook['id']}/deliveries", headers=auth(tenant))).json()
    assert [(d["status"], d["has_body"]) for d in logged["data"]] == [("test", True)]
    queue = (await client.get("/api/inbound-leads", headers=auth(tenant))).json()
    assert (queue["total"], queue["metrics"]["totalLeads"]) == (0, 0)


# -- Typeform --------------------------------------------------------------------------

TYPEFORM_SECRET = "typeform-secret-for-tests"


def typeform_response() -> dict[str, Any]:
    return {
        "event_id": "01HQZ4Y1X2ABCDEF",
        "event_type": "form_response",
        "form_response": {
            "form_id": "lT4Z3j",
            "token": "a3a12ec67a1365927098a606107fac15",
            "submitted_at": "2026-12-01T17:25:35Z",
            "hidden": {"utm_source": "newsletter"},
            "definition": {"id": "lT4Z3j", "title": "Get a remodel quote"},
            "answers": [
                {
                    "type": "text",
                    "text": "Priya",
                    "field": {"id": "Q1", "type": "short_text", "ref": "first_name"},
                },
                {
                    "type": "text",
                    "text": "Shah",
                    "field": {"id": "Q2", "type": "short_text", "ref": "last_name"},
                },
                {
                    "type": "email",
                    "email": "priya.shah@example.com",
                    "field": {"id": "Q3", "type": "email", "ref": "3f1c9d2e"},
                },
                {
                    "type": "phone_number",
                    "phone_number": "+16175550188",
                    "field": {"id": "Q4", "type": "phone_number", "ref": "b2d4"},
                },
                {
                    "type": "choice",
                    "choice": {"label": "Kitchen"},
                    "field": {"id": "Q5", "type": "multiple_choice", "ref": "project"},
                },
                {
                    "type": "number",
                    "number": 35000,
                    "field": {"id": "Q6", "type": "number", "ref": "budget_usd"},
                },
                {
                    "type": "boolean",
                    "boolean": True,
                    "field": {"id": "Q7", "type": "yes_no", "ref": "homeowner"},
                },
            ],
        },
    }


async def test_a_typeform_response_lands_by_ref_with_its_signature_checked(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    hook = await preset_webhook(
        client, tenant, "typeform", signature_mode="required", field_mapping={"project": "product"}
    )
    await client.post(
        f"{WEBHOOKS}/{hook['id']}/secrets",
        json={"secret": TYPEFORM_SECRET, "keep_old_until": "2000-01-01T00:00:00Z"},
        headers=auth(tenant),
    )
    body = orjson.dumps(typeform_response())
    signed = {
        "content-type": "application/json",
        "typeform-signature": sign_base64(TYPEFORM_SECRET, body),
    }
    contact, lead = landed(db, await client.post(hook["url_path"], content=body, headers=signed))
    assert (contact["firstname"], contact["lastname"]) == ("Priya", "Shah")
    assert (contact["email"], contact["phone_number"]) == ("priya.shah@example.com", "+16175550188")
    assert (lead["product_interest"], lead["lead_source"], lead["utm_source"]) == (
        "Kitchen",
        "Typeform",
        "newsletter",
    )
    assert (contact["custom_fields"]["budget_usd"], contact["custom_fields"]["homeowner"]) == (
        35000,
        True,
    )
    unsigned = await client.post(
        hook["url_path"], content=body, headers={"content-type": "application/json"}
    )
    assert unsigned.status_code == 401


# -- Unbounce --------------------------------------------------------------------------


async def test_an_unbounce_form_post_lands_from_its_data_json(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    hook = await preset_webhook(
        client, tenant, "unbounce", field_mapping={"interested_in": "product"}
    )
    data = {
        "first_name": ["Tom"],
        "last_name": ["Becker"],
        "email": ["tom.becker@example.com"],
        "phone_number": ["303-555-0199"],
        "interested_in": ["Roofing"],
        "roof_age": ["15"],
        "ip_address": ["198.51.100.23"],
        "time_submitted": ["04:15 PM UTC"],
    }
    form = {
        "page_id": "a1b2c3d4-5678-90ab-cdef-1234567890ab",
        "page_name": "Roof Replacement Denver",
        "page_url": "https://roofs.example.com/denver",
        "variant": "b",
        "data.json": json.dumps(data),
        "data.xml": "<data>...</data>",
    }
    contact, lead = landed(db, await client.post(hook["url_path"], data=form))
    assert (contact["firstname"], contact["lastname"], contact["email"]) == (
        "Tom",
        "Becker",
        "tom.becker@example.com",
    )
    assert contact["phone_number"] == "+13035550199"
    assert (lead["product_interest"], lead["landing_page_url"]) == (
        "Roofing",
        "https://roofs.example.com/denver",
    )
    assert contact["custom_fields"]["roof_age"] == "15"


# -- Zapier / Make, HTML forms, generic JSON -------------------------------------------


async def test_zapier_keys_written_for_people_land_as_the_fields_they_name(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    hook = await preset_webhook(client, tenant, "zapier")
    payload = {
        "First Name": "Dana",
        "Last Name": "Whitfield",
        "Email Address": "dana.w@example.com",
        "Phone Number": "(720) 555-0133",
        "Zip Code": "80202",
        "Product Interest": "HVAC",
        "Best Time To Call": "Evenings",
    }
    contact, lead = landed(db, await client.post(hook["url_path"], json=payload))
    assert (contact["firstname"], contact["lastname"], contact["phone_number"]) == (
        "Dana",
        "Whitfield",
        "+17205550133",
    )
    assert (contact["email"], contact["zip_code"], lead["product_interest"]) == (
        "dana.w@example.com",
        "80202",
        "HVAC",
    )
    assert contact["custom_fields"]["Best Time To Call"] == "Evenings"


async def test_an_html_form_sends_the_visitor_to_the_thank_you_page(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    hook = await preset_webhook(
        client, tenant, "html_form", preset_settings={"redirect_url": "https://example.com/thanks"}
    )
    form = {
        "name": "Lee Park",
        "email": "lee@example.com",
        "phone": "2065550111",
        "product": "Bath",
    }
    answer = await client.post(hook["url_path"], data=form)
    assert (answer.status_code, answer.headers["location"]) == (303, "https://example.com/thanks")
    twice = await client.post(hook["url_path"], data=form)  # a double submit
    assert (twice.status_code, twice.headers["location"]) == (303, "https://example.com/thanks")
    assert one(db, Lead)["product_interest"] == "Bath"
    assert one(db, Contact)["lastname"] == "Park"


async def test_a_generic_webhook_maps_nested_json_by_path(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    hook = await preset_webhook(
        client,
        tenant,
        "generic",
        field_mapping={
            "customer.personal.firstName": "firstname",
            "customer.personal.lastName": "lastname",
            "customer.contact.mobile": "phone",
            "request.service": "product",
        },
    )
    payload = {
        "customer": {
            "personal": {"firstName": "Rosa", "lastName": "Diaz"},
            "contact": {"mobile": "312.555.0177", "email": "rosa@example.com"},
        },
        "request": {"service": "Insurance"},
    }
    contact, lead = landed(db, await client.post(hook["url_path"], json=payload))
    assert (contact["firstname"], contact["phone_number"], lead["product_interest"]) == (
        "Rosa",
        "+13125550177",
        "Insurance",
    )


async def test_presets_are_listed_with_what_they_need(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    listed = (await client.get(f"{WEBHOOKS}/presets", headers=auth(tenant))).json()["data"]
    by_name = {p["name"]: p for p in listed}
    assert set(by_name) == {
        "generic",
        "facebook",
        "google",
        "typeform",
        "unbounce",
        "zapier",
        "html_form",
    }
    assert by_name["facebook"]["settings"] == ["verify_token", "page_token"]
    unknown = await client.post(
        WEBHOOKS, json={"name": "x", "preset": "myspace"}, headers=auth(tenant)
    )
    assert unknown.status_code == 400
