"""Hostile input: another team's rep reaching for North's deal by id, bodies too large or not
JSON, awkward Unicode, and text that a spreadsheet would run as a formula."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Activity, Deal, Evidence, StageHistory

from .conftest import World, api_client, web_client

pytestmark = pytest.mark.django_db


def writes(deal: Deal) -> tuple[Any, ...]:
    """Everything a refused write could have touched."""
    return (Deal.objects.filter(pk=deal.pk).values_list("version", "stage", "status",
                                                        "next_step_id").get(),
            Evidence.objects.count(), Activity.objects.count(), StageHistory.objects.count(),
            AuditEvent.objects.exclude(action__in=["permission.refused", "token.used"]).count())


API_IDOR = [
    ("GET", "", None),
    ("GET", "/history", None),
    ("GET", "/gate?to=qualification", None),
    ("PATCH", "", {"version": 1, "name": "Mine now"}),
    ("POST", "/activities", {"kind": "note", "subject": "Peeking"}),
    ("POST", "/next-step", {"text": "Call", "due": "2031-01-01"}),
    ("POST", "/advance", {"to": "qualification"}),
    ("POST", "/evidence", {"criterion": "problem_confirmed", "text": "x"}),
    ("POST", "/close", {"outcome": "lost", "reason": "Sabotage"}),
]

WEB_IDOR = [
    ("GET", "", {}),
    ("GET", "history/", {}),
    ("GET", "activities/", {}),
    ("GET", "evidence/", {}),
    ("GET", "evidence/{evidence}/download/", {}),
    ("POST", "activities/", {"kind": "note", "subject": "Peeking"}),
    ("POST", "activities/{task}/done/", {}),
    ("POST", "next-step/", {"text": "Call", "due": "2031-01-01"}),
    ("POST", "advance/", {"to": "qualification"}),
    ("POST", "evidence/", {"criterion": "handoff_goals", "text": "Goals"}),
    ("POST", "close-lost/", {"reason": "Sabotage"}),
]


@pytest.mark.parametrize(("method", "path", "body"), API_IDOR,
                         ids=[f"{m} {p}" for m, p, _ in API_IDOR])
def test_charlie_reaching_for_norths_deal_over_the_api_is_refused(
        org: Any, world: World, method: str, path: str, body: Any) -> None:
    charlie = api_client(org, "charlie")
    before = writes(world.north)

    response = charlie.call(method, f"/api/v1/deals/{world.north.pk}{path}", body)

    assert response.status_code == 403
    assert b"North rollout" not in response.content
    assert writes(world.north) == before


@pytest.mark.parametrize(("method", "path", "body"), WEB_IDOR,
                         ids=[f"{m} {p}" for m, p, _ in WEB_IDOR])
def test_charlie_reaching_for_norths_deal_on_the_web_is_refused(
        org: Any, world: World, method: str, path: str, body: Any) -> None:
    client = web_client(org, "charlie")
    before = writes(world.north)
    url = f"/deals/{world.north.pk}/" + path.format(evidence=world.evidence.pk,
                                                    task=world.task.pk)

    response = client.get(url) if method == "GET" else client.post(url, body)

    assert response.status_code == 403
    assert b"secret notes" not in b"".join(getattr(response, "streaming_content", [])) + \
        (response.content if not response.streaming else b"")
    assert writes(world.north) == before


def test_charlie_cannot_reach_norths_evidence_through_his_own_deal(org: Any,
                                                                   world: World) -> None:
    response = web_client(org, "charlie").get(
        f"/deals/{world.south.pk}/evidence/{world.evidence.pk}/download/")

    assert response.status_code == 404


def test_an_oversized_json_body_is_a_413_problem(org: Any, world: World,
                                                 settings: Any) -> None:
    body = {"kind": "note", "subject": "x", "body": "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}

    response = api_client(org, "alice").call("POST", f"/api/v1/deals/{world.north.pk}/activities",
                                             body)

    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["status"] == 413
    assert not Activity.objects.filter(kind="note").exists()


@pytest.mark.parametrize("raw", [b"{", b"{\"name\": }", b"\xff\xfe", b"[1, 2", b"null"])
def test_a_malformed_json_body_is_a_400_problem(org: Any, world: World, raw: bytes) -> None:
    client = api_client(org, "alice")

    response = client.client.generic("PATCH", f"/api/v1/deals/{world.north.pk}", raw,
                                     content_type="application/json", **client.headers)

    assert response.status_code in (400, 422), response.content
    assert response["Content-Type"].startswith("application/problem+json")
    if raw != b"null":
        assert response.status_code == 400
    assert Deal.objects.get(pk=world.north.pk).version == world.north.version


UNICODE = [
    "Deal \u202eevil\u202c rollout",       # right-to-left override
    "Family \U0001f468\u200d\U0001f469\u200d\U0001f467 deal",  # zero-width joiners
    "Launch \U0001f680\U0001f525",            # emoji, 4-byte characters
    "Cafe\u0301 Zoe\u0308 n\u0303",           # combining marks (not normalised)
    "\U00020000\U0002a6d6 \U0001d11e",          # 4-byte CJK and musical symbols
    "\u0627\u0644\u0635\u0641\u0642\u0629",    # Arabic, right to left
]


@pytest.mark.parametrize("name", UNICODE)
def test_unicode_names_round_trip_exactly(org: Any, name: str) -> None:
    client = api_client(org, "alice")

    created = client.call("POST", "/api/v1/deals", {
        "name": name, "amount": "1", "currency": "EUR", "expected_close": "2031-01-01"})

    assert created.status_code == 201, created.content
    deal_id = created.json()["id"]
    assert client.call("GET", f"/api/v1/deals/{deal_id}").json()["name"] == name
    assert Deal.objects.get(pk=deal_id).name == name


def test_nul_is_stripped_from_text(org: Any) -> None:
    client = api_client(org, "alice")

    created = client.call("POST", "/api/v1/deals", {
        "name": "Nul\x00led", "amount": "1", "currency": "EUR", "expected_close": "2031-01-01"})

    assert created.status_code == 201, created.content
    assert Deal.objects.get(pk=created.json()["id"]).name == "Nulled"


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)"])
def test_formula_like_names_are_stored_verbatim(org: Any, name: str) -> None:
    client = api_client(org, "alice")

    created = client.call("POST", "/api/v1/deals", {
        "name": name, "amount": "1", "currency": "EUR", "expected_close": "2031-01-01"})

    assert created.status_code == 201, created.content
    assert Deal.objects.get(pk=created.json()["id"]).name == name
    assert json.loads(Client().get("/api/v1/deals").content)["status"] == 401
