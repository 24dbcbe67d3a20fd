"""Every error is an RFC 9457 problem: malformed, unauthenticated, refused, missing,
conflicting, too large, invalid, throttled and unexpected alike."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client, RequestFactory
from ninja.errors import Throttled

from dealcraft.api.app import api

from .conftest import assert_problem


def test_malformed_json_is_a_400(org: Any, api_as: Any) -> None:
    client = api_as(org.alice)

    response = client.client.post("/api/v1/deals", "{name: 'unquoted'",
                                  content_type="application/json",
                                  HTTP_AUTHORIZATION=f"Bearer {client.key}")

    body = assert_problem(response, 400, "bad-request")
    assert body["detail"] == "The request body is not valid JSON."
    assert body["instance"] == "/api/v1/deals"


def test_malformed_json_on_evidence_is_a_400_too(org: Any, api_as: Any, make_deal: Any) -> None:
    client = api_as(org.alice)
    deal = make_deal()

    response = client.client.post(f"/api/v1/deals/{deal.pk}/evidence", b"\xff\xfe not json",
                                  content_type="application/json",
                                  HTTP_AUTHORIZATION=f"Bearer {client.key}")

    assert_problem(response, 400, "bad-request")


def test_a_wrong_json_type_is_a_422_listing_each_error(org: Any, api_as: Any) -> None:
    response = api_as(org.alice).post("/deals", {"name": ["a list"], "amount": "lots",
                                                 "currency": "EUR",
                                                 "expected_close": "someday"})

    body = assert_problem(response, 422, "invalid-input")
    locs = {tuple(e["loc"]) for e in body["errors"]}
    assert {("body", "payload", "name"), ("body", "payload", "amount"),
            ("body", "payload", "expected_close")} <= locs
    assert all(set(e) == {"loc", "msg", "type"} for e in body["errors"])


def test_a_json_array_body_is_a_422(org: Any, api_as: Any) -> None:
    assert_problem(api_as(org.alice).post("/deals", [1, 2, 3]), 422)


def test_an_unknown_address_under_the_api_is_a_404_problem(org: Any) -> None:
    assert_problem(Client().get("/api/v1/nothing/here"), 404, "not-found")
    assert_problem(Client().post("/api/v1/deals/1/teleport"), 404, "not-found")


def test_a_409_names_its_type(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.alice)
    api.patch(f"/deals/{deal.pk}", {"version": 1, "name": "One"})

    body = assert_problem(api.patch(f"/deals/{deal.pk}", {"version": 1, "name": "Two"}), 409,
                          "edit-conflict")

    assert body["title"] == "Edit conflict"


def test_throttling_is_reported_as_a_429_problem(db: Any) -> None:
    request = RequestFactory().get("/api/v1/deals")

    response = api.on_exception(request, Throttled(wait=3))

    assert_problem(response, 429, "too-many-requests")


def test_an_unexpected_error_is_a_500_problem_without_internals(
        db: Any, caplog: pytest.LogCaptureFixture, settings: Any) -> None:
    settings.DEBUG = True  # even in debug mode, no traceback goes to the client
    request = RequestFactory().get("/api/v1/deals")
    secret = "connection to db-internal.example:5432 refused"

    with caplog.at_level(logging.ERROR, logger="dealcraft.api"):
        response = api.on_exception(request, RuntimeError(secret))

    body = assert_problem(response, 500, "server-error")
    text = response.content.decode()
    assert secret not in text and "Traceback" not in text and "RuntimeError" not in text
    assert set(body) == {"type", "title", "status", "detail", "instance"}
    assert secret in caplog.text


def test_problem_bodies_are_utf8_json(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    response = api_as(org.alice).post(f"/deals/{deal.pk}/evidence",
                                      {"criterion": "критерий", "text": "x"})

    body = assert_problem(response, 422)
    assert "критерий" in json.loads(response.content.decode("utf-8"))["detail"]
    assert body["field"] == "criterion"


def test_a_wrong_method_is_a_405_problem_with_allow(org: Any, api_as: Any) -> None:
    api = api_as(org.alice)

    response = api.client.put("/api/v1/deals", HTTP_AUTHORIZATION=f"Bearer {api.key}")

    assert_problem(response, 405, "method-not-allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
