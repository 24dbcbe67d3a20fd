"""An API client per persona: the Django test client with a bearer token and JSON bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from dealcraft.people.models import User
from dealcraft.people.services import create_token

PROBLEM_JSON = "application/problem+json"


class Api:
    """Calls `/api/v1/…` as one token's user."""

    def __init__(self, key: str | None) -> None:
        self.client = Client()
        self.key = key

    def _headers(self, extra: dict[str, str] | None) -> dict[str, Any]:
        headers: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {self.key}"} if self.key else {}
        for name, value in (extra or {}).items():
            headers["HTTP_" + name.upper().replace("-", "_")] = value
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Any:
        return self.client.get("/api/v1" + path, params or {}, **self._headers(headers))

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.post("/api/v1" + path, json.dumps(body),
                                content_type="application/json", **self._headers(headers))

    def patch(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.patch("/api/v1" + path, json.dumps(body),
                                 content_type="application/json", **self._headers(headers))

    def delete(self, path: str, headers: dict[str, str] | None = None) -> Any:
        return self.client.delete("/api/v1" + path, **self._headers(headers))

    def upload(self, path: str, fields: dict[str, Any]) -> Any:
        """A multipart/form-data POST (files as SimpleUploadedFile)."""
        return self.client.post("/api/v1" + path, fields, **self._headers(None))


@pytest.fixture
def api_as(org: Any) -> Callable[..., Api]:
    """`api_as(org.alice)` — a client holding a fresh token for that user."""

    def make(user: User, **token_options: Any) -> Api:
        _, key = create_token(acting_user=None, user=user, **token_options)
        return Api(key)

    return make


def assert_problem(response: Any, status: int, type_slug: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with `status`; returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = json.loads(response.content)
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["type"].startswith("/api/v1/problems/")
    if type_slug is not None:
        assert body["type"] == f"/api/v1/problems/{type_slug}"
    return body


#: A small process whose won gate is one checklist item, for closing deals without ceremony.
TWO_STEP_PROCESS = """\
name: "Two-step process"
currency: EUR
stakeholder_roles:
  - key: champion
    name: "Champion"
stages:
  - key: talk
    name: "Talk"
    purpose: "Find out whether there is a deal."
    probability: 10
    forecast_category: pipeline
    rotting_days: 14
    exit_criteria:
      - key: call_logged
        kind: activity
        activity: call
        label: "A call is logged"
  - key: sign
    name: "Sign"
    purpose: "Get the signature."
    probability: 80
    forecast_category: commit
    rotting_days: 14
outcomes:
  won:
    criteria:
      - key: signed_order
        kind: checklist
        label: "Signed order form"
  lost:
    reasons:
      - key: price
        name: "Price"
"""


@pytest.fixture
def two_step_process(org: Any) -> Any:
    from dealcraft.processes.services import apply_process

    return apply_process(TWO_STEP_PROCESS, acting_user=org.olivia, note="tests")
