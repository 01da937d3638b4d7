"""Each preset's payload in the shapes its sender should never send, through
``POST /webhooks/{id}`` on both databases: a delivery the preset cannot read is refused
with a 4xx naming the field, kept in the intake log, and its replay answers the same;
a value it can read but is odd is kept as sent, with a warning (DESIGN §2.12). Never a
500, never a lead from a delivery that was refused."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead
from leadpipe.webhooks.signatures import sign_hex
from tests.conftest import Tenant
from tests.integration.helpers import count, inbound_log, one
from tests.integration.test_lead_api import auth
from tests.integration.test_presets import (
    APP_SECRET,
    FACEBOOK_LEAD,
    WEBHOOKS,
    google_lead,
    leadgen_webhook,
    notification,
    preset_webhook,
    typeform_response,
)

ENVELOPE = {"success", "error", "code", "request_id", "details"}


async def refused_naming(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    hook: dict[str, Any],
    answer: httpx.Response,
    field: str,
) -> None:
    """The delivery was refused naming ``field``, kept in the log, its replay answers
    the same, and nothing was written."""
    assert 400 <= answer.status_code < 500, answer.text
    body = answer.json()
    assert set(body) == ENVELOPE
    assert (body["success"], body["code"]) == (False, "VALIDATION_ERROR")
    assert field in [d["field"] for d in body["details"]], body
    logged = inbound_log(db, hook["id"])
    assert [(r["status"], r["http_status"]) for r in logged] == [("error", answer.status_code)]
    assert logged[0]["raw_body"] is not None
    assert field in logged[0]["error_message"]

    replayed = await client.post(
        f"{WEBHOOKS}/{hook['id']}/deliveries/{logged[0]['id']}/replay", headers=auth(tenant)
    )
    assert replayed.status_code == 200, replayed.text
    again = replayed.json()["data"]
    assert again["http_status"] == answer.status_code
    assert (again["response"]["code"], again["response"]["details"]) == (
        body["code"],
        body["details"],
    )
    assert (count(db, Lead), count(db, Contact)) == (0, 0)


def kept_with_warning(db: Database, answer: httpx.Response, field: str) -> dict[str, Any]:
    """The lead was made, with a warning naming ``field``; the contact's custom fields."""
    assert answer.status_code == 200, answer.text
    assert field in [w["field"] for w in answer.json()["warnings"]], answer.json()
    assert count(db, Lead) == 1
    return dict(one(db, Contact)["custom_fields"])


# -- Typeform --------------------------------------------------------------------------


def typeform_with(**changes: Any) -> dict[str, Any]:
    """Priya's response with some of its answers (by position) or parts replaced."""
    payload = typeform_response()
    response = payload["form_response"]
    for where, value in changes.items():
        if where.removeprefix("answer").isdigit():
            response["answers"][int(where.removeprefix("answer"))] = value
        else:
            response[where] = value
    return payload


TYPEFORM_UNREADABLE = {
    "answer_type_not_text": (
        typeform_with(answer2={"type": 7, "email": "x@example.com", "field": {"ref": "e"}}),
        "form_response.answers[2].type",
    ),
    "answer_without_field": (
        typeform_with(answer0={"type": "text", "text": "Priya"}),
        "form_response.answers[0].field",
    ),
    "field_without_ref_or_id": (
        typeform_with(answer0={"type": "text", "text": "Priya", "field": {"type": "short_text"}}),
        "form_response.answers[0].field.ref",
    ),
    "field_not_an_object": (
        typeform_with(answer1={"type": "text", "text": "Shah", "field": "Q2"}),
        "form_response.answers[1].field",
    ),
    "answer_not_an_object": (typeform_with(answer3="+16175550188"), "form_response.answers[3]"),
    "answers_not_a_list": (typeform_with(answers={"0": "x"}), "form_response.answers"),
    "form_response_not_an_object": ({"event_id": "e1", "form_response": []}, "form_response"),
}


@pytest.mark.parametrize("shape", TYPEFORM_UNREADABLE)
async def test_a_typeform_delivery_it_cannot_read_is_refused_naming_the_field(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, shape: str
) -> None:
    hook = await preset_webhook(client, tenant, "typeform")
    payload, field = TYPEFORM_UNREADABLE[shape]
    answer = await client.post(hook["url_path"], json=payload)
    await refused_naming(client, db, tenant, hook, answer, field)


async def test_a_typeform_answer_of_an_odd_shape_is_kept_as_sent(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    hook = await preset_webhook(client, tenant, "typeform")
    payload = typeform_with(
        answer4={"type": "choice", "choice": "Kitchen", "field": {"ref": "project"}},
        answer5={"type": "choices", "choices": {"labels": "Deck"}, "field": {"ref": "extras"}},
        hidden=["newsletter"],
    )
    answer = await client.post(hook["url_path"], json=payload)
    kept = kept_with_warning(db, answer, "form_response.answers[4].choice")
    assert kept["project"] == "Kitchen"
    assert kept["extras"] == {"labels": "Deck"}
    assert kept["typeform_hidden"] == ["newsletter"]
    warned = {w["field"] for w in answer.json()["warnings"]}
    assert {"form_response.answers[5].choices.labels", "form_response.hidden"} <= warned
    assert one(db, Contact)["email"] == "priya.shah@example.com"


# -- Unbounce --------------------------------------------------------------------------

UNBOUNCE_DATA = {
    "first_name": ["Tom"],
    "email": ["tom.becker@example.com"],
    "phone_number": ["303-555-0199"],
}


def unbounce_form(data_json: Any) -> dict[str, Any]:
    return {
        "page_id": "a1b2c3d4",
        "page_url": "https://roofs.example.com/denver",
        "data.json": data_json,
    }


def with_answer(raw_value: str) -> str:
    """UNBOUNCE_DATA's JSON text with ``roof_age`` written as ``raw_value`` (JSON text)."""
    return json.dumps(UNBOUNCE_DATA)[:-1] + f', "roof_age": {raw_value}}}'


UNBOUNCE_UNREADABLE = {
    "not_json": (unbounce_form("{first_name: Tom"), "data.json"),
    "nested_100000_deep": (unbounce_form("[" * 100_000 + "]" * 100_000), "data.json"),
    "not_an_object": (unbounce_form(json.dumps(["Tom"])), "data.json"),
    "missing": ({"page_id": "a1b2c3d4", "email": "tom@example.com"}, "data.json"),
    "a_nul_character": (unbounce_form(with_answer('"15\\u0000"')), "data.json.roof_age"),
    "a_lone_surrogate": (unbounce_form(with_answer('"15\\ud800"')), "data.json.roof_age"),
    "a_nul_in_a_key": (
        unbounce_form(json.dumps({**UNBOUNCE_DATA, "ro\u0000of": "15"})),
        "data.json.ro\\u0000of",
    ),
}


@pytest.mark.parametrize("shape", UNBOUNCE_UNREADABLE)
async def test_an_unbounce_delivery_it_cannot_read_is_refused_naming_the_field(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, shape: str
) -> None:
    hook = await preset_webhook(client, tenant, "unbounce")
    form, field = UNBOUNCE_UNREADABLE[shape]
    answer = await client.post(hook["url_path"], data=form)
    await refused_naming(client, db, tenant, hook, answer, field)


async def test_an_unbounce_data_json_sent_twice_is_refused_naming_it(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    hook = await preset_webhook(client, tenant, "unbounce")
    body = "data.json=%7B%7D&data.json=%7B%7D"  # a repeated form key is a list
    answer = await client.post(
        hook["url_path"],
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    await refused_naming(client, db, tenant, hook, answer, "data.json")


async def test_an_unbounce_number_json_cannot_hold_is_kept_as_its_text_with_a_warning(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    hook = await preset_webhook(client, tenant, "unbounce")
    answer = await client.post(hook["url_path"], data=unbounce_form(with_answer("NaN")))
    assert kept_with_warning(db, answer, "data.json.roof_age")["roof_age"] == "NaN"


async def test_an_unbounce_integer_beyond_64_bits_is_kept_as_its_exact_text(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    hook = await preset_webhook(client, tenant, "unbounce")
    answer = await client.post(hook["url_path"], data=unbounce_form(with_answer(str(2**70))))
    assert answer.status_code == 200, answer.text
    assert one(db, Contact)["custom_fields"]["roof_age"] == str(2**70)


# -- Facebook Lead Ads, Google Ads ----------------------------------------------------

FACEBOOK_UNREADABLE = {
    "field_data_not_a_list": ({**FACEBOOK_LEAD, "field_data": {"email": "x"}}, "field_data"),
    "an_item_not_an_object": (
        {**FACEBOOK_LEAD, "field_data": [*FACEBOOK_LEAD["field_data"][:1], "maria@example.com"]},
        "field_data[1]",
    ),
    "an_item_without_a_name": (
        {**FACEBOOK_LEAD, "field_data": [{"values": ["+14155550123"]}]},
        "field_data[0].name",
    ),
    "a_notification_it_cannot_read": (
        {"object": "page", "entry": [{"id": "1", "changes": 5}]},
        "entry[0].changes",
    ),
}


@pytest.mark.parametrize("shape", FACEBOOK_UNREADABLE)
async def test_a_facebook_delivery_it_cannot_read_is_refused_naming_the_field(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, shape: str
) -> None:
    hook = await preset_webhook(client, tenant, "facebook")
    payload, field = FACEBOOK_UNREADABLE[shape]
    answer = await client.post(hook["url_path"], json=payload)
    await refused_naming(client, db, tenant, hook, answer, field)


class RawGraph:
    """The Graph API's lead endpoint on a local port, answering each lead id with the
    exact bytes set for it (JSON no encoder would write)."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = bodies[self.path.split("?")[0].strip("/").split("/")[-1]]
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v21.0"


@pytest.fixture
def raw_graph() -> Iterator[RawGraph]:
    fake = RawGraph()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()


@pytest.fixture
async def graph_client(
    settings: Settings, db: Database, raw_graph: RawGraph
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"facebook_graph_url": raw_graph.url}), db)
    transport = httpx.ASGITransport(app=app, client=("173.252.127.1", 443))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c
    await app.state.graph.close()


def graph_lead(answer_json: str) -> bytes:
    """FACEBOOK_LEAD as the Graph API's JSON, with one more answer written as given."""
    text = json.dumps(FACEBOOK_LEAD)
    extra = f'{{"name": "monthly_bill", "values": [{answer_json}]}}'
    return text.replace('"field_data": [', f'"field_data": [{extra}, ', 1).encode()


async def notify(client: httpx.AsyncClient, hook: dict[str, Any], leadgen_id: str) -> Any:
    body = notification(leadgen_id)
    signed = {"content-type": "application/json", "x-hub-signature-256": sign_hex(APP_SECRET, body)}
    return await client.post(hook["url_path"], content=body, headers=signed)


async def test_a_graph_lead_holding_a_nul_is_refused_naming_the_field(
    graph_client: httpx.AsyncClient, db: Database, tenant: Tenant, raw_graph: RawGraph
) -> None:
    hook = await leadgen_webhook(graph_client, tenant)
    raw_graph.bodies["444444444444101"] = graph_lead('"$150\\u0000"')
    answer = await notify(graph_client, hook, "444444444444101")
    await refused_naming(graph_client, db, tenant, hook, answer, "field_data[0].values[0]")


async def test_a_graph_lead_nested_100000_deep_is_a_502_kept_for_replay(
    graph_client: httpx.AsyncClient, db: Database, tenant: Tenant, raw_graph: RawGraph
) -> None:
    hook = await leadgen_webhook(graph_client, tenant)
    raw_graph.bodies["444444444444102"] = graph_lead("[" * 100_000 + "]" * 100_000)
    answer = await notify(graph_client, hook, "444444444444102")
    assert answer.status_code == 502, answer.text
    assert answer.json()["code"] == "BAD_GATEWAY"
    (logged,) = inbound_log(db, hook["id"])
    replayed = await graph_client.post(
        f"{WEBHOOKS}/{hook['id']}/deliveries/{logged['id']}/replay", headers=auth(tenant)
    )
    assert replayed.json()["data"]["http_status"] == 502
    assert count(db, Lead) == 0


async def test_a_graph_lead_with_an_integer_beyond_64_bits_keeps_its_exact_text(
    graph_client: httpx.AsyncClient, db: Database, tenant: Tenant, raw_graph: RawGraph
) -> None:
    hook = await leadgen_webhook(graph_client, tenant)
    raw_graph.bodies["444444444444103"] = graph_lead(str(2**70))
    answer = await notify(graph_client, hook, "444444444444103")
    assert answer.status_code == 200, answer.text
    assert one(db, Contact)["custom_fields"]["monthly_bill"] == str(2**70)


def google_with(column: int, value: Any) -> dict[str, Any]:
    lead = google_lead()
    lead["user_column_data"][column] = value
    return lead


GOOGLE_UNREADABLE = {
    "columns_not_a_list": ({**google_lead(), "user_column_data": "EMAIL"}, "user_column_data"),
    "a_column_not_an_object": (google_with(1, "jcarter@example.com"), "user_column_data[1]"),
    "a_column_without_its_id": (
        google_with(2, {"string_value": "+1 512-555-0147"}),
        "user_column_data[2].column_id",
    ),
}


@pytest.mark.parametrize("shape", GOOGLE_UNREADABLE)
async def test_a_google_delivery_it_cannot_read_is_refused_naming_the_field(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, shape: str
) -> None:
    hook = await preset_webhook(client, tenant, "google")
    payload, field = GOOGLE_UNREADABLE[shape]
    answer = await client.post(hook["url_path"], json=payload)
    await refused_naming(client, db, tenant, hook, answer, field)


async def test_a_google_answer_that_is_not_text_is_kept_as_sent(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    hook = await preset_webhook(client, tenant, "google")
    lead = google_with(5, {"column_id": "system_age", "string_value": {"years": 10}})
    answer = await client.post(hook["url_path"], json=lead)
    assert answer.status_code == 200, answer.text
    assert one(db, Contact)["custom_fields"]["system_age"] == {"years": 10}


# -- Zapier / Make, HTML forms, generic JSON: no envelope of their own ------------------

ODD_VALUES = {
    "email": "dana.w@example.com",
    "First Name": {"given": "Dana"},
    "Zip Code": [80202],
    "tags": [{"a": 1}, None, 3],
    "priority": ["high"],
    "estimated_value": {"amount": 1},
    "consent": {"value": [1], "description": {"x": 1}},
}


@pytest.mark.parametrize("preset", ["zapier", "generic", "html_form"])
async def test_odd_values_without_an_envelope_never_fail_the_delivery(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, preset: str
) -> None:
    hook = await preset_webhook(client, tenant, preset)
    answer = await client.post(
        hook["url_path"],
        content=orjson.dumps(ODD_VALUES),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    assert one(db, Contact)["email"] == "dana.w@example.com"
