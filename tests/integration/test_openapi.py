"""The API documents itself: OpenAPI at /openapi.json, Swagger UI at /docs."""

from __future__ import annotations

import re

import httpx

from leadpipe.webhooks.examples import SEED_NEW_LEAD
from tests.conftest import Tenant


async def test_webhook_intake_is_documented_with_errors_and_seed_examples(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()

    operation = spec["paths"]["/webhooks/{webhook_id}"]["post"]
    assert {"200", "400", "403", "404", "413", "415"} <= set(operation["responses"])
    content = operation["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded", "multipart/form-data"} <= set(
        content
    )
    assert content["application/json"]["examples"]["new_lead"]["value"] == SEED_NEW_LEAD
    assert "/webhook/{webhook_id}" not in spec["paths"]  # the alias is not advertised twice


async def test_swagger_ui_and_redoc_are_served_from_leadpipe_itself(
    client: httpx.AsyncClient,
) -> None:
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status_code == 200
        assert "cdn" not in response.text, page
        assert "googleapis" not in response.text, page
        assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', response.text)
        assert assets, page
        for asset in assets:
            served = await client.get(asset)
            assert served.status_code == 200, asset
            # Nor do the scripts fetch anything from the internet (ReDoc's footer logo did).
            assert "https://cdn." not in served.text, asset


async def test_unknown_route_uses_the_error_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/nope")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert response.json()["success"] is False


async def test_every_api_operation_documents_its_errors_and_examples(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert op.get("description") or op.get("summary"), where
            if not path.startswith("/api") or path.endswith("/health"):
                continue
            assert {"401", "403", "429"} <= set(op["responses"]), where
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body and "$ref" in body["schema"]:
                name = body["schema"]["$ref"].rsplit("/", 1)[1]
                assert "example" in schemas[name], f"{where}: {name} has no example"


LEAD_FILTERS = (
    "stage",
    "source",
    "product",
    "priority",
    "temperature",
    "assigned_to",
    "assigned_user_id",
    "is_active",
    "q",
    "created_from",
    "created_to",
)


async def test_the_lead_list_and_the_lead_exports_document_the_same_filters(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()

    def parameters(path: str) -> dict[str, dict[str, object]]:
        return {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}

    listed = parameters("/api/v3/leads")
    paging = ("sort", "order", "limit", "offset", "include_activities")
    assert list(listed) == ["workspace_id", *LEAD_FILTERS, *paging]  # filters first
    assert listed["q"]["description"] == "Name, email or phone in any format"
    assert listed["is_active"]["schema"] == {
        "type": "boolean",
        "default": True,
        "description": "true (default): open leads; false: lost and inactive ones",
        "title": "Is Active",
    }
    for path in ("/api/v3/exports/leads", "/api/v3/exports/activities"):
        exported = parameters(path)
        for name in LEAD_FILTERS:
            if name != "is_active":
                assert exported[name] == listed[name], f"{path}: {name}"
        assert "default" not in exported["is_active"]["schema"], path  # unset: every lead
        assert exported["is_active"]["description"] == (
            "true: open leads; false: lost and inactive ones; unset: all"
        )


async def test_a_wrong_method_is_405_listing_every_method_of_the_path(
    client: httpx.AsyncClient,
) -> None:
    response = await client.delete("/api/v3/leads/01a2383f-b96b-7115-9fea-cc962a27f0cd")
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert response.headers["allow"] == "GET, HEAD, PUT"  # two routes: GET and PUT


async def test_an_unknown_query_parameter_is_400_naming_it(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.get(
        "/api/v3/leads",
        params={"stage_name": "won", "limit": 5},
        headers={"X-API-Key": tenant.api_key},
    )
    assert response.status_code == 400
    (detail,) = response.json()["details"]
    assert detail["field"] == "stage_name"
    assert "stage" in detail["message"]  # the parameters it does take


async def test_a_webhook_delivery_may_carry_any_query_parameter(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(f"{tenant.url}?utm=x&src=y", json={"phone": "5551000001"})
    assert response.status_code == 200


async def test_every_answer_is_typed_and_errors_are_documented_as_sent(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            assert "422" not in op["responses"], where  # validation fails with 400
            success = next(
                op["responses"][c] for c in ("200", "201", "202") if c in op["responses"]
            )
            if "text/plain" in success["content"]:  # Facebook's handshake wants its challenge
                assert success["content"]["text/plain"]["schema"] == {"type": "string"}, where
            elif path.startswith("/api/v3/exports/"):  # streamed files, in either format
                assert set(success["content"]) == {"text/csv", "application/x-ndjson"}, where
            elif path == "/api/v3/imports/{import_id}/errors":  # the error report, a CSV file
                assert set(success["content"]) == {"text/csv"}, where
            else:
                schema = success["content"]["application/json"]["schema"]
                assert "$ref" in schema, f"{where} answers an undeclared shape: {schema}"
            for code, answer in op["responses"].items():
                if code.startswith(("4", "5")):
                    error = answer["content"]["application/json"]["schema"]
                    assert error == {"$ref": "#/components/schemas/ErrorEnvelope"}, where
    assert "HTTPValidationError" not in spec["components"]["schemas"]


async def test_only_declared_lead_fields_are_public(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await client.post(tenant.url, json={"phone": "5551000001", "product": "Solar"})
    listed = await client.get("/api/v3/leads", headers={"X-API-Key": tenant.api_key})
    (lead,) = listed.json()["data"]
    spec = (await client.get("/openapi.json")).json()
    declared = set(spec["components"]["schemas"]["LeadOut"]["properties"])
    assert set(lead) <= declared
    assert "product_key" not in lead  # a column of the table, not of the API
    assert "raw_payload" not in lead  # one lead only
