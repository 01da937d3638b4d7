"""The API documents itself: OpenAPI at /openapi.json, Swagger UI at /docs."""

from __future__ import annotations

import httpx

from leadpipe.intake.examples import SEED_NEW_LEAD


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


async def test_swagger_ui_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


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
