"""GET /deals/{id}/history: the immutable path of a deal, oldest first."""

from __future__ import annotations

from typing import Any

from .conftest import assert_problem


def test_history_lists_every_change_with_its_context(org: Any, api_as: Any,
                                                     make_deal: Any) -> None:
    deal = make_deal()
    api = api_as(org.alice)
    api.post(f"/deals/{deal.pk}/advance", {"to": "qualification"})
    api.patch(f"/deals/{deal.pk}", {"version": 2, "amount": "50000"})

    response = api.get(f"/deals/{deal.pk}/history")

    assert response.status_code == 200, response.content
    created, advanced, updated = response.json()
    assert created["kind"] == "created"
    assert created["from"] is None and created["to"] == "prospecting"
    assert created["by"] == "alice"
    assert advanced["kind"] == "advance"
    assert advanced["from"] == "prospecting" and advanced["to"] == "qualification"
    assert advanced["override_reason"] == ""
    assert advanced["process_version"] == 1
    assert advanced["forecast_category"] == "pipeline" and advanced["probability"] == 10
    # Prospecting's gate only warns: the move is recorded with what was missing.
    assert advanced["gate_result"]["warnings"]
    assert updated["kind"] == "update" and updated["amount"] == "50000.00"
    assert updated["currency"] == "EUR"
    assert updated["expected_close"] == deal.expected_close.isoformat()
    assert created["at"] <= advanced["at"] <= updated["at"]


def test_history_of_a_deal_one_cannot_see_is_refused(org: Any, api_as: Any,
                                                     make_deal: Any) -> None:
    deal = make_deal()

    assert_problem(api_as(org.charlie).get(f"/deals/{deal.pk}/history"), 403, "not-allowed")
    assert_problem(api_as(org.charlie).get("/deals/424242/history"), 404)
