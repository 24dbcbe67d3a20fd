"""What the API fuzz (tests/fuzz/) found, each kept fixed by an ordinary test.

Each test names the request Schemathesis sent and the answer the description promised.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from pydantic import BaseModel

from .conftest import assert_problem


@pytest.fixture
def spec(db: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(Client().get("/api/v1/openapi.json").content)
    return parsed


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in spec["paths"].items()
            for method, op in ops.items()]


# ---------------------------------------------------------------------------- 5xx


def test_a_multipart_body_without_its_boundary_is_a_400_not_a_500(
        org: Any, api_as: Any, make_deal: Any) -> None:
    api = api_as(org.alice)
    deal = make_deal()

    response = api.client.post(f"/api/v1/deals/{deal.pk}/evidence",
                               b'{"criterion": "problem_confirmed"}',
                               content_type="multipart/form-data",
                               HTTP_AUTHORIZATION=f"Bearer {api.key}")

    body = assert_problem(response, 400, "bad-request")
    assert "boundary" in body["detail"]


def test_an_employee_count_beyond_the_column_is_a_422_not_a_500(org: Any, api_as: Any) -> None:
    """PostgreSQL's integer column overflowed on `employees: 1025917155405`."""
    api = api_as(org.alice)

    body = assert_problem(api.post("/accounts", {"name": "Huge", "employees": 1025917155405}),
                          422, "invalid-input")
    assert body["field"] == "employees"
    assert api.post("/accounts", {"name": "Big", "employees": 2_147_483_647}).status_code == 201


# ---------------------------------------------------------------------------- undocumented statuses


def test_a_path_id_that_is_not_a_number_is_a_documented_422(
        org: Any, api_as: Any, spec: dict[str, Any]) -> None:
    api = api_as(org.ada)

    for path in ("/deals/null,null", "/deals/null,null/history", "/webhooks/abc"):
        method = api.client.delete if path.startswith("/webhooks") else api.client.get
        response = method("/api/v1" + path, HTTP_AUTHORIZATION=f"Bearer {api.key}")
        assert_problem(response, 422, "invalid-input")
    for path, method in (("/api/v1/deals/{deal_id}", "get"),
                         ("/api/v1/deals/{deal_id}/history", "get"),
                         ("/api/v1/webhooks/{webhook_id}", "delete")):
        assert "422" in spec["paths"][path][method]["responses"], (method, path)


def test_every_operation_that_takes_input_documents_422_and_every_one_429(
        spec: dict[str, Any]) -> None:
    for path, method, op in _operations(spec):
        responses = op["responses"]
        assert "429" in responses, (method, path)
        assert list(responses["429"]["content"]) == ["application/problem+json"]
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in responses, (method, path)


# ---------------------------------------------------------------- schema-violating input


@pytest.mark.parametrize("value", [0, "0", 20261128, "0.5"])
def test_a_close_date_sent_as_a_number_is_refused_not_read_as_1970(
        org: Any, api_as: Any, value: Any) -> None:
    api = api_as(org.alice)

    response = api.post("/deals", {"name": "Acme", "amount": "1.00", "currency": "EUR",
                                   "expected_close": value})

    body = assert_problem(response, 422, "invalid-input")
    assert body["field"] == "expected_close"


def test_dates_and_times_in_queries_and_bodies_must_be_iso_8601(
        org: Any, api_as: Any, make_deal: Any) -> None:
    api = api_as(org.alice)
    deal = make_deal()

    assert_problem(api.get("/deals", {"updated_since": "0.5"}), 422, "invalid-input")
    assert_problem(api.get("/deals", {"expected_close_from": "0"}), 422, "invalid-input")
    assert_problem(api.get("/reports/pipeline", {"until": "0"}), 422, "invalid-input")
    assert_problem(api.post(f"/deals/{deal.pk}/next-step", {"text": "Call", "due": 1}),
                   422, "invalid-input")
    assert_problem(api.post(f"/deals/{deal.pk}/activities",
                            {"kind": "task", "subject": "Call", "due_at": 1.5}),
                   422, "invalid-input")
    # ISO 8601 still works.
    assert api.get("/deals", {"updated_since": "2026-01-01T00:00:00Z"}).status_code == 200
    assert api.get("/reports/pipeline", {"until": "2031-01-01"}).status_code == 200


# ---------------------------------------------------------- bodies that broke the schema


def test_no_two_api_models_share_a_component_name() -> None:
    """Two models of one name made the description of GET /process show the criteria of a
    report instead of the process's exit criteria."""
    from dealcraft.api.app import api

    seen: dict[tuple[str, str], tuple[str, str]] = {}
    clashes: list[str] = []
    for _, router in api._routers:
        for view in router.path_operations.values():
            for operation in view.operations:
                models = [m for m in [*operation.response_models.values(), *operation.models]
                          if isinstance(m, type) and issubclass(m, BaseModel)]
                for model in models:
                    for mode in ("serialization", "validation"):
                        defs = model.model_json_schema(
                            mode=mode, ref_template="#/components/schemas/{model}").get(
                                "$defs", {})
                        for name, schema in defs.items():
                            text = json.dumps(schema, sort_keys=True)
                            first = seen.setdefault((name, mode), (text, operation.view_func
                                                                   .__module__))
                            if first[0] != text:
                                clashes.append(f"{name}: {first[1]} and "
                                               f"{operation.view_func.__module__}")
    assert not clashes, clashes


def test_the_process_is_described_with_its_own_exit_criteria(
        org: Any, api_as: Any, spec: dict[str, Any]) -> None:
    stage = spec["components"]["schemas"]["StageOut"]
    ref = stage["properties"]["exit_criteria"]["items"]["$ref"]
    criterion = spec["components"]["schemas"][ref.rpartition("/")[2]]
    body = api_as(org.alice).get("/process").json()
    sent = body["process"]["stages"][0]["exit_criteria"][0]

    assert set(criterion["required"]) <= set(sent)
    assert {"key", "kind", "label"} <= set(criterion["properties"])


def test_timestamps_are_sent_in_utc_with_their_offset(org: Any, api_as: Any) -> None:
    """The stuck-deals report computes `as_of` in naive UTC; it was sent without an offset,
    which is not an RFC 3339 date-time."""
    body = api_as(org.mona).get("/reports/stuck").json()

    assert body["as_of"].endswith("Z"), body["as_of"]


# ---------------------------------------------------------------------------- links


def test_a_created_deal_links_to_what_a_client_does_next(spec: dict[str, Any]) -> None:
    created = spec["paths"]["/api/v1/deals"]["post"]["responses"]["201"]
    links = created["links"]
    patch = spec["paths"]["/api/v1/deals/{deal_id}"]["patch"]["operationId"]

    assert links["GetDeal"]["parameters"] == {"path.deal_id": "$response.body#/id"}
    assert links["ChangeDeal"]["operationId"] == patch
    assert links["ChangeDeal"]["requestBody"] == {"version": "$response.body#/version"}
    assert {"RecordEvidence", "SetNextStep", "LogActivity", "NameStakeholder", "Advance",
            "Close", "History"} <= set(links)


def test_every_link_names_an_operation_of_the_description(spec: dict[str, Any]) -> None:
    ids = {op["operationId"] for _, _, op in _operations(spec)}
    count = 0
    for path, method, op in _operations(spec):
        for status, response in op["responses"].items():
            for name, link in response.get("links", {}).items():
                count += 1
                assert link["operationId"] in ids, (method, path, status, name)
    assert count >= 40
    account = spec["paths"]["/api/v1/accounts"]["post"]["responses"]["201"]["links"]
    assert account["CreateDealForAccount"]["requestBody"] == {
        "account_id": "$response.body#/id"}
