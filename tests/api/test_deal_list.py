"""GET /deals: what each caller sees, filters, cursor pagination, and a constant query count."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.crm.services import create_account
from dealcraft.deals.services import close_lost, set_next_step

from .conftest import assert_problem


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [d["name"] for d in response.json()["items"]]


def test_a_rep_sees_their_team_and_not_another_team(org: Any, api_as: Any,
                                                   make_deal: Any) -> None:
    make_deal(name="Alice North")
    make_deal(owner=org.bob, name="Bob North")
    make_deal(owner=org.charlie, name="Charlie South")

    assert sorted(names(api_as(org.alice).get("/deals"))) == ["Alice North", "Bob North"]
    assert names(api_as(org.charlie).get("/deals")) == ["Charlie South"]
    assert len(names(api_as(org.olivia).get("/deals"))) == 3


def test_the_deal_json_carries_the_documented_fields(org: Any, api_as: Any,
                                                     make_deal: Any) -> None:
    account = create_account(acting_user=org.alice, name="Acme GmbH")
    deal = make_deal(account=account)
    due = timezone.localdate() + timedelta(days=3)
    set_next_step(acting_user=org.alice, deal=deal, text="Demo to the CFO", due=due,
                  buyer_confirmed=True)

    item = api_as(org.alice).get("/deals").json()["items"][0]

    assert item["id"] == deal.pk
    assert item["name"] == "Acme platform rollout"
    assert item["account"] == "Acme GmbH" and item["account_id"] == account.pk
    assert item["owner"] == "alice"
    assert item["stage"] == "prospecting" and item["status"] == "open"
    assert item["amount"] == "48000.00" and item["currency"] == "EUR"
    assert item["expected_close"] == deal.expected_close.isoformat()
    assert item["next_step"] == {"text": "Demo to the CFO", "due": due.isoformat(),
                                 "owner": "alice", "buyer_confirmed": True}
    assert item["version"] == 2
    assert item["forecast_category"] == "pipeline" and item["probability"] == 5
    assert item["process_version"] == 1
    for key in ("stage_entered_at", "created_at", "updated_at", "fields", "lost_reason",
                "lost_from_stage", "external_id"):
        assert key in item


def test_filters_by_stage_status_and_owner(org: Any, api_as: Any, make_deal: Any) -> None:
    make_deal(name="Open one")
    lost = make_deal(owner=org.bob, name="Lost one")
    close_lost(acting_user=org.bob, deal=lost, reason="No budget")
    api = api_as(org.mona)

    assert names(api.get("/deals", {"status": "lost"})) == ["Lost one"]
    assert names(api.get("/deals", {"stage": "prospecting"})) == ["Open one"]
    assert names(api.get("/deals", {"owner": "bob"})) == ["Lost one"]
    assert names(api.get("/deals", {"owner": str(org.alice.pk)})) == ["Open one"]
    assert names(api.get("/deals", {"owner": "nobody"})) == []


def test_an_unknown_status_is_a_422(org: Any, api_as: Any) -> None:
    body = assert_problem(api_as(org.alice).get("/deals", {"status": "pending"}), 422,
                          "invalid-input")
    assert body["errors"][0]["loc"] == ["query", "status"]


def test_cursor_pagination_walks_every_deal_once(org: Any, api_as: Any, make_deal: Any) -> None:
    created = [make_deal(name=f"Deal {i}").pk for i in range(7)]
    api = api_as(org.alice)
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = api.get("/deals", params).json()
        seen += [d["id"] for d in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == sorted(created, reverse=True)


def test_limit_is_between_1_and_200(org: Any, api_as: Any) -> None:
    api = api_as(org.alice)
    assert_problem(api.get("/deals", {"limit": 0}), 422)
    assert_problem(api.get("/deals", {"limit": 201}), 422)
    assert api.get("/deals", {"limit": 200}).status_code == 200


def test_a_forged_cursor_is_a_422(org: Any, api_as: Any) -> None:
    body = assert_problem(api_as(org.alice).get("/deals", {"cursor": "not-a-cursor"}), 422)
    assert body["field"] == "cursor"


def _count_list_queries(api: Any) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/deals", {"limit": 200})
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["items"])


def test_the_list_runs_a_constant_number_of_queries(org: Any, api_as: Any,
                                                    make_deal: Any) -> None:
    account = create_account(acting_user=org.alice, name="Initech")

    def add(n: int) -> None:
        for i in range(n):
            deal = make_deal(owner=org.alice if i % 2 else org.bob, name=f"Deal {i}",
                             account=account if i % 3 else None)
            if i % 4 == 0:
                set_next_step(acting_user=deal.owner, deal=deal, text="Call back",
                              due=timezone.localdate() + timedelta(days=2))

    apis = {"alice": api_as(org.alice), "mona": api_as(org.mona)}
    for api in apis.values():
        api.get("/deals")  # a token's first use is written once; later ones within a minute not
    add(3)
    small = {name: _count_list_queries(api) for name, api in apis.items()}
    add(57)
    large = {name: _count_list_queries(api) for name, api in apis.items()}

    assert small["alice"][1] == 3 and large["alice"][1] == 60
    assert small["alice"][0] == large["alice"][0]
    assert small["mona"][0] == large["mona"][0]
    # The token and its user, the token's rate-limit counter (add, read), the active
    # process, the page's ids, its deals with their related rows; and a manager's teams.
    assert large["alice"][0] == 6
    assert large["mona"][0] == 7
