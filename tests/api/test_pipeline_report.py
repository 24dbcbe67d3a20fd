"""GET /reports/pipeline: the pipeline report over the deals the caller may see."""

from __future__ import annotations

from typing import Any

from dealcraft.deals.services import advance_stage, close_lost

from .conftest import assert_problem


def test_the_report_counts_conversion_and_amounts_per_currency(org: Any, api_as: Any,
                                                               make_deal: Any) -> None:
    moved = make_deal(amount="1000.00")
    advance_stage(acting_user=org.alice, deal=moved, to="qualification")
    lost = make_deal(owner=org.bob, amount="250.50", currency="USD")
    close_lost(acting_user=org.bob, deal=lost, reason="No budget")

    response = api_as(org.mona).get("/reports/pipeline")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["deals"] == {"total": 2, "open": 1, "won": 0, "lost": 1}
    assert body["win_rate"] == 0
    stages = {s["key"]: s for s in body["stages"]}
    assert list(stages) == ["prospecting", "qualification", "discovery", "solution",
                            "proposal", "negotiation"]
    assert stages["prospecting"]["reached"] == 2 and stages["prospecting"]["advanced"] == 1
    assert stages["prospecting"]["conversion"] == 0.5
    assert body["amounts_by_currency"] == {
        "EUR": {"open": "1000.00", "won": "0.00", "lost": "0.00"},
        "USD": {"open": "0.00", "won": "0.00", "lost": "250.50"},
    }


def test_the_report_covers_only_what_the_caller_may_see(org: Any, api_as: Any,
                                                        make_deal: Any) -> None:
    make_deal()
    make_deal(owner=org.charlie)

    south = api_as(org.charlie).get("/reports/pipeline").json()
    everyone = api_as(org.olivia).get("/reports/pipeline").json()

    assert south["deals"]["total"] == 1
    assert everyone["deals"]["total"] == 2


def test_the_report_needs_a_token(org: Any) -> None:
    from .conftest import Api

    assert_problem(Api(None).get("/reports/pipeline"), 401)
