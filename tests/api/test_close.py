"""POST /deals/{id}/close and /reopen: won through the won gate, lost with a reason."""

from __future__ import annotations

from typing import Any

from dealcraft.deals.models import Deal

from .conftest import assert_problem


def test_closing_won_through_the_won_gate(org: Any, api_as: Any, make_deal: Any,
                                          two_step_process: Any) -> None:
    deal = make_deal()
    api = api_as(org.alice)
    api.post(f"/deals/{deal.pk}/activities", {"kind": "call", "subject": "Intro call"})
    assert api.post(f"/deals/{deal.pk}/advance", {"to": "sign"}).status_code == 200
    refused = api.post(f"/deals/{deal.pk}/close", {"outcome": "won"})
    api.post(f"/deals/{deal.pk}/evidence", {"criterion": "signed_order", "kind": "link",
                                            "url": "https://files.example/order.pdf"})

    won = api.post(f"/deals/{deal.pk}/close", {"outcome": "won"})

    assert [u["key"] for u in assert_problem(refused, 409, "gate-refused")["unmet"]] \
        == ["signed_order"]
    assert won.status_code == 200, won.content
    body = won.json()
    assert body["status"] == "won" and body["stage"] == "won"
    assert body["probability"] == 100 and body["forecast_category"] == "closed"
    assert body["closed_at"] is not None


def test_advancing_to_won_closes_won(org: Any, api_as: Any, make_deal: Any,
                                     two_step_process: Any) -> None:
    deal = make_deal()
    api = api_as(org.alice)
    api.post(f"/deals/{deal.pk}/activities", {"kind": "call", "subject": "Intro call"})
    api.post(f"/deals/{deal.pk}/advance", {"to": "sign"})
    api.post(f"/deals/{deal.pk}/evidence", {"criterion": "signed_order", "text": "Signed"})

    response = api.post(f"/deals/{deal.pk}/advance", {"to": "won"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "won"


def test_closing_lost_needs_a_reason(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()

    body = assert_problem(api_as(org.alice).post(f"/deals/{deal.pk}/close",
                                                 {"outcome": "lost"}), 422, "invalid-input")

    assert body["field"] == "reason"
    assert Deal.objects.get(pk=deal.pk).status == "open"


def test_closing_lost_records_reason_and_stage(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()

    response = api_as(org.alice).post(f"/deals/{deal.pk}/close", {
        "outcome": "lost", "reason": "Chose to build in-house", "category": "competitor"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "lost" and body["stage"] == "lost"
    assert body["lost_reason"] == "Chose to build in-house"
    assert body["lost_reason_category"] == "competitor"
    assert body["lost_from_stage"] == "prospecting"


def test_an_unknown_outcome_is_a_422(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    assert_problem(api_as(org.alice).post(f"/deals/{deal.pk}/close",
                                          {"outcome": "postponed", "reason": "x"}), 422)


def test_a_lost_deal_reopens_in_the_stage_it_was_lost_from(org: Any, api_as: Any,
                                                           make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.alice)
    api.post(f"/deals/{deal.pk}/close", {"outcome": "lost", "reason": "Timing"})

    response = api.post(f"/deals/{deal.pk}/reopen", {"reason": "Budget freed up in Q3"})

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "open"
    assert response.json()["stage"] == "prospecting"
    last = api.get(f"/deals/{deal.pk}/history").json()[-1]
    assert last["kind"] == "reopen" and last["from"] == "lost"


def test_reopening_an_open_deal_is_a_422(org: Any, api_as: Any, make_deal: Any) -> None:
    deal = make_deal()
    assert_problem(api_as(org.alice).post(f"/deals/{deal.pk}/reopen", {"reason": "why"}), 422)
