"""POST /deals/{id}/advance and GET /deals/{id}/gate: gates refuse with the unmet list; only
managers of the team and admins override, and history keeps the reason and process version."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.deals.models import Deal

from .conftest import Api, assert_problem

MEDDICC = ("metrics", "economic_buyer", "decision_criteria", "decision_process",
           "identify_pain", "champion", "competition")


@pytest.fixture
def qualifying(org: Any, api_as: Any, make_deal: Any) -> Deal:
    """Alice's deal in qualification (prospecting's gate only warns)."""
    deal = make_deal()
    response = api_as(org.alice).post(f"/deals/{deal.pk}/advance", {"to": "qualification"})
    assert response.status_code == 200, response.content
    return deal


def satisfy_qualification(api: Api, deal_id: int) -> None:
    """Everything the qualification gate asks for, recorded through the API."""
    for criterion in ("problem_confirmed", "business_impact_discussed"):
        response = api.post(f"/deals/{deal_id}/evidence",
                            {"criterion": criterion, "text": "In the buyer's words: …"})
        assert response.status_code == 201, response.content
    due = (timezone.localdate() + timedelta(days=5)).isoformat()
    assert api.post(f"/deals/{deal_id}/next-step", {
        "text": "Discovery workshop", "due": due, "buyer_confirmed": True}).status_code == 200
    assert api.post(f"/deals/{deal_id}/stakeholders", {
        "contact": {"first_name": "Chris", "last_name": "Champion"},
        "role": "champion"}).status_code == 201
    for criterion in MEDDICC:
        assert api.post(f"/deals/{deal_id}/qualification", {
            "framework": "meddicc", "criterion": criterion, "level": 2}).status_code == 200


def test_an_unmet_gate_refuses_with_the_unmet_list(org: Any, api_as: Any,
                                                   qualifying: Deal) -> None:
    response = api_as(org.alice).post(f"/deals/{qualifying.pk}/advance", {"to": "discovery"})

    body = assert_problem(response, 409, "gate-refused")
    keys = {u["key"] for u in body["unmet"]}
    assert {"problem_confirmed", "business_impact_discussed", "next_meeting_booked",
            "relevant_stakeholder", "meddicc_score"} <= keys
    assert all(set(u) == {"key", "label", "message", "stage"} for u in body["unmet"])
    assert body["warnings"] == []
    assert body["to"] == "discovery"
    assert Deal.objects.get(pk=qualifying.pk).stage == "qualification"


def test_the_gate_preview_shows_met_and_unmet_without_moving(org: Any, api_as: Any,
                                                             qualifying: Deal) -> None:
    api = api_as(org.alice)
    api.post(f"/deals/{qualifying.pk}/evidence", {"criterion": "problem_confirmed",
                                                  "text": "Confirmed on the call"})

    response = api.get(f"/deals/{qualifying.pk}/gate", {"to": "discovery"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["from"] == "qualification" and body["to"] == "discovery"
    assert body["allowed"] is False and body["direction"] == "forward"
    (gate,) = body["gates"]
    assert gate["stage"] == "qualification" and gate["mode"] == "enforce"
    assert "problem_confirmed" in gate["met"]
    assert "meddicc_score" in {u["key"] for u in gate["unmet"]}
    assert Deal.objects.get(pk=qualifying.pk).stage == "qualification"


def test_an_unknown_target_stage_is_a_422(org: Any, api_as: Any, qualifying: Deal) -> None:
    api = api_as(org.alice)
    assert assert_problem(api.post(f"/deals/{qualifying.pk}/advance", {"to": "heaven"}),
                          422)["field"] == "to"
    assert assert_problem(api.get(f"/deals/{qualifying.pk}/gate", {"to": "heaven"}),
                          422)["field"] == "to"


def test_a_met_gate_advances(org: Any, api_as: Any, qualifying: Deal) -> None:
    api = api_as(org.alice)
    satisfy_qualification(api, qualifying.pk)

    response = api.post(f"/deals/{qualifying.pk}/advance", {"to": "discovery"})

    assert response.status_code == 200, response.content
    assert response.json()["stage"] == "discovery"
    assert response.json()["probability"] == 20


def test_rep_cannot_override_a_gate(org: Any, api_as: Any, qualifying: Deal) -> None:
    response = api_as(org.alice).post(f"/deals/{qualifying.pk}/advance", {
        "to": "discovery", "override_reason": "I have a good feeling"})

    assert_problem(response, 403, "not-allowed")
    assert Deal.objects.get(pk=qualifying.pk).stage == "qualification"


def test_manager_override_moves_and_history_keeps_reason_and_version(
        org: Any, api_as: Any, qualifying: Deal) -> None:
    reason = "CFO confirmed budget in person; paperwork follows"

    response = api_as(org.mona).post(f"/deals/{qualifying.pk}/advance", {
        "to": "discovery", "override_reason": reason})

    assert response.status_code == 200, response.content
    assert response.json()["stage"] == "discovery"
    history = api_as(org.alice).get(f"/deals/{qualifying.pk}/history").json()
    last = history[-1]
    assert last["kind"] == "override"
    assert last["from"] == "qualification" and last["to"] == "discovery"
    assert last["by"] == "mona"
    assert last["override_reason"] == reason
    assert last["process_version"] == 1
    assert "meddicc_score" in {u["key"] for u in last["gate_result"]["blocking"]}


def test_a_manager_of_another_team_cannot_override(org: Any, api_as: Any,
                                                   qualifying: Deal) -> None:
    from dealcraft.people.services import create_user

    sam = create_user(acting_user=org.ada, username="sam", role="manager", team="South")

    assert_problem(api_as(sam).post(f"/deals/{qualifying.pk}/advance", {
        "to": "discovery", "override_reason": "Trust me"}), 403)


def test_moving_back_needs_a_reason(org: Any, api_as: Any, qualifying: Deal) -> None:
    api = api_as(org.alice)

    refused = api.post(f"/deals/{qualifying.pk}/advance", {"to": "prospecting"})
    moved = api.post(f"/deals/{qualifying.pk}/advance", {
        "to": "prospecting", "reason": "The champion left the company"})

    assert assert_problem(refused, 422)["field"] == "reason"
    assert moved.status_code == 200 and moved.json()["stage"] == "prospecting"


def test_a_stale_version_on_advance_is_a_409_with_the_current_deal(
        org: Any, api_as: Any, qualifying: Deal) -> None:
    body = assert_problem(api_as(org.alice).post(f"/deals/{qualifying.pk}/advance", {
        "to": "prospecting", "reason": "x", "version": 1}), 409, "edit-conflict")

    assert body["version"] == qualifying.version + 1
    assert body["current"]["stage"] == "qualification"
