"""GET /openapi.json: a complete description — every operation, its errors, its schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

EXPECTED = {
    "/api/v1/deals": {"get", "post"},
    "/api/v1/deals/{deal_id}": {"get", "patch"},
    "/api/v1/deals/{deal_id}/evidence": {"get", "post"},
    "/api/v1/deals/{deal_id}/evidence/{evidence_id}/file": {"get"},
    "/api/v1/deals/{deal_id}/next-step": {"post"},
    "/api/v1/deals/{deal_id}/next-steps": {"get"},
    "/api/v1/deals/{deal_id}/activities": {"get", "post"},
    "/api/v1/deals/{deal_id}/activities/{activity_id}/complete": {"post"},
    "/api/v1/deals/{deal_id}/stakeholders": {"get", "post"},
    "/api/v1/deals/{deal_id}/qualification": {"post"},
    "/api/v1/deals/{deal_id}/gate": {"get"},
    "/api/v1/deals/{deal_id}/advance": {"post"},
    "/api/v1/deals/{deal_id}/close": {"post"},
    "/api/v1/deals/{deal_id}/reopen": {"post"},
    "/api/v1/deals/{deal_id}/history": {"get"},
    "/api/v1/process": {"get", "post"},
    "/api/v1/reports/pipeline": {"get"},
    "/api/v1/accounts": {"get", "post"},
    "/api/v1/contacts": {"get", "post"},
    "/api/v1/webhooks": {"get", "post"},
    "/api/v1/webhooks/{webhook_id}": {"delete"},
    "/api/v1/webhooks/{webhook_id}/deliveries": {"get"},
    "/api/v1/users": {"get", "post"},
    "/api/v1/users/{user_id}": {"get", "patch"},
    "/api/v1/directory": {"get"},
    "/api/v1/teams": {"get", "post"},
    "/api/v1/teams/{team_id}": {"get", "patch"},
    "/api/v1/teams/{team_id}/managers": {"post"},
    "/api/v1/teams/{team_id}/managers/{user_id}": {"delete"},
    "/api/v1/teams/{team_id}/members": {"post"},
    "/api/v1/teams/{team_id}/members/{user_id}": {"delete"},
}
#: Every other operation of the document is still checked by the tests below (and has its row
#: in tests/security/test_permission_matrix.py).
BINARY = {"type": "string", "format": "binary"}


@pytest.fixture
def spec(db: Any) -> dict[str, Any]:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    parsed: dict[str, Any] = json.loads(response.content)
    return parsed


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in spec["paths"].items()
            for method, op in ops.items()]


def test_every_endpoint_is_described(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.")
    described = {path: set(ops) for path, ops in spec["paths"].items()}
    assert {path: described.get(path, set()) for path in EXPECTED} == EXPECTED


def test_every_operation_needs_the_bearer_token(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["BearerToken"] == {"type": "http",
                                                                    "scheme": "bearer"}
    for path, method, op in _operations(spec):
        assert op["security"] == [{"BearerToken": []}], (path, method)


def test_every_operation_documents_its_success_and_problem_responses(
        spec: dict[str, Any]) -> None:
    for path, method, op in _operations(spec):
        codes = set(op["responses"])
        assert codes & {"200", "201"}, (path, method)
        assert {"400", "401", "403", "500"} <= codes, (path, method)
        for code, response in op["responses"].items():
            if int(code) >= 400:
                (media_type,) = response["content"]
                assert media_type == "application/problem+json", (path, method, code)
                continue
            for media_type, content in response["content"].items():
                # JSON, or a file download described as binary.
                assert media_type == "application/json" or content["schema"] == BINARY, (
                    path, method, code, media_type)
        assert op.get("summary") and op.get("operationId"), (path, method)


def test_conflicts_and_refusals_have_their_own_problem_schemas(spec: dict[str, Any]) -> None:
    def schema_of(path: str, method: str, code: str) -> dict[str, Any]:
        content = spec["paths"][path][method]["responses"][code]["content"]
        found: dict[str, Any] = content["application/problem+json"]["schema"]
        return found

    assert schema_of("/api/v1/deals/{deal_id}", "patch", "409")["$ref"].endswith(
        "/ConflictProblem")
    assert schema_of("/api/v1/deals/{deal_id}/advance", "post", "409")["$ref"].endswith(
        "/AdvanceConflictProblem")
    assert schema_of("/api/v1/deals/{deal_id}/evidence", "post", "413")["$ref"].endswith(
        "/TooLargeProblem")
    problem = spec["components"]["schemas"]["ProblemDetails"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}


def test_the_deal_schema_lists_the_documented_fields(spec: dict[str, Any]) -> None:
    deal = spec["components"]["schemas"]["DealOut"]
    assert {"id", "name", "account", "account_id", "owner", "stage", "status", "amount",
            "currency", "expected_close", "next_step", "version", "forecast_category",
            "probability", "stage_entered_at", "created_at", "updated_at", "fields",
            "lost_reason", "lost_from_stage", "external_id"} <= set(deal["required"])
    assert deal["properties"]["amount"]["type"] == "string"
    history = spec["components"]["schemas"]["HistoryOut"]
    assert {"from", "to", "at", "by", "override_reason"} <= set(history["properties"])


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert refs
    for ref in refs:
        prefix, _, name = ref.rpartition("/")
        assert prefix == "#/components/schemas" and name in schemas, ref


def test_evidence_accepts_json_or_a_multipart_file(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/api/v1/deals/{deal_id}/evidence"]["post"]["requestBody"]
    assert set(body["content"]) == {"application/json", "multipart/form-data"}
    upload = body["content"]["multipart/form-data"]["schema"]["properties"]["file"]
    assert upload == {"type": "string", "format": "binary"}


def test_the_evidence_file_is_described_as_a_binary_download(spec: dict[str, Any]) -> None:
    ok = spec["paths"]["/api/v1/deals/{deal_id}/evidence/{evidence_id}/file"]["get"][
        "responses"]["200"]
    assert ok["content"] == {"application/octet-stream": {"schema": BINARY}}


def test_operation_ids_are_unique(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids))
