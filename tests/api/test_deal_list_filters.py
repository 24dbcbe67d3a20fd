"""GET /deals: filtering by owner, team, stage, status, forecast category, close date, amount
and last change; sorting by a documented set of fields, walked with cursors."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.crm.services import create_account
from dealcraft.deals.models import Deal
from dealcraft.deals.services import close_lost, update_deal

from .conftest import assert_problem


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [d["name"] for d in response.json()["items"]]


@pytest.fixture
def deals(org: Any, make_deal: Any) -> dict[str, Deal]:
    today = timezone.localdate()
    made = {
        "small": make_deal(name="small", amount="1000.00",
                           expected_close=today + timedelta(days=10)),
        "medium": make_deal(owner=org.bob, name="medium", amount="25000.00",
                            expected_close=today + timedelta(days=40)),
        "large": make_deal(name="large", amount="90000.00",
                           expected_close=today + timedelta(days=90)),
        "south": make_deal(owner=org.charlie, name="south", amount="25000.00",
                           expected_close=today + timedelta(days=40), currency="USD"),
    }
    close_lost(acting_user=org.bob, deal=made["medium"], reason="No budget")
    made["large"] = update_deal(acting_user=org.alice, deal=made["large"], version=1,
                                changes={"forecast_category": "commit"})
    return made


def test_filters_by_team_forecast_category_and_currency(org: Any, api_as: Any,
                                                        deals: dict[str, Deal]) -> None:
    api = api_as(org.ada)

    assert sorted(names(api.get("/deals", {"team_id": org.charlie.team_id}))) == ["south"]
    assert names(api.get("/deals", {"forecast_category": "commit"})) == ["large"]
    assert sorted(names(api.get("/deals", {"forecast_category": "pipeline",
                                           "status": "open"}))) == ["small", "south"]
    assert names(api.get("/deals", {"currency": "usd"})) == ["south"]


def test_filters_by_close_date_and_amount_ranges_inclusive(org: Any, api_as: Any,
                                                           deals: dict[str, Deal]) -> None:
    api = api_as(org.ada)
    day40 = (timezone.localdate() + timedelta(days=40)).isoformat()

    assert sorted(names(api.get("/deals", {"expected_close_from": day40,
                                           "expected_close_to": day40}))) == ["medium", "south"]
    assert sorted(names(api.get("/deals", {"amount_min": "25000", "amount_max": "90000.00"}))
                  ) == ["large", "medium", "south"]
    assert names(api.get("/deals", {"amount_max": "999.99"})) == []


def test_filters_by_updated_since(org: Any, api_as: Any, deals: dict[str, Deal]) -> None:
    api = api_as(org.ada)
    Deal.objects.filter(pk=deals["small"].pk).update(
        updated_at=timezone.now() - timedelta(days=3))
    since = (timezone.now() - timedelta(days=1)).isoformat()

    assert "small" not in names(api.get("/deals", {"updated_since": since}))
    assert "small" in names(api.get("/deals", {"updated_since": "2000-01-01T00:00:00"}))


def test_filters_combine_with_what_the_caller_may_see(org: Any, api_as: Any,
                                                      deals: dict[str, Deal]) -> None:
    # Charlie's deal matches the amount but is South's: a North rep never sees it.
    assert sorted(names(api_as(org.alice).get("/deals", {"amount_min": "20000"}))) == [
        "large", "medium"]


@pytest.mark.parametrize(("sort", "expected"), [
    ("amount", ["small", "medium", "south", "large"]),
    ("-amount", ["large", "south", "medium", "small"]),
    ("expected_close", ["small", "medium", "south", "large"]),
    ("name", ["large", "medium", "small", "south"]),
    ("-id", ["south", "large", "medium", "small"]),
    ("id", ["small", "medium", "large", "south"]),
])
def test_sorts_by_a_documented_field_with_ties_broken_by_id(
        org: Any, api_as: Any, deals: dict[str, Deal], sort: str, expected: list[str]) -> None:
    assert names(api_as(org.ada).get("/deals", {"sort": sort})) == expected


@pytest.mark.parametrize("sort", ["amount", "-amount", "-expected_close", "name",
                                  "-updated_at", "created_at", "probability", "id"])
def test_a_sorted_list_is_walked_page_by_page_without_gaps_or_repeats(
        org: Any, api_as: Any, make_deal: Any, sort: str) -> None:
    today = timezone.localdate()
    for i in range(9):  # amounts and dates repeat, so ties must be broken by id
        make_deal(name=f"Deal {i % 4}", amount=f"{(i % 3) * 1000}.00",
                  expected_close=today + timedelta(days=i % 2))
    api = api_as(org.ada)
    whole = [d["id"] for d in api.get("/deals", {"sort": sort, "limit": 200}).json()["items"]]
    walked: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = api.get("/deals", params).json()
        walked += [d["id"] for d in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert walked == whole and len(set(walked)) == 9


@pytest.mark.parametrize(("params", "field"), [
    ({"sort": "colour"}, "sort"),
    ({"sort": "-owner__password"}, "sort"),
    ({"stage": "pondering"}, "stage"),
    ({"forecast_category": "maybe"}, "forecast_category"),
    ({"currency": "euro"}, "currency"),
    ({"amount_min": "ten"}, "amount_min"),
    ({"amount_min": "1.001"}, "amount_min"),
    ({"amount_min": "1e400"}, "amount_min"),
    ({"amount_min": "500", "amount_max": "100"}, "amount_max"),
    ({"expected_close_from": "2030-02-30"}, "expected_close_from"),
    ({"expected_close_from": "2031-01-01", "expected_close_to": "2030-01-01"},
     "expected_close_to"),
    ({"updated_since": "yesterday"}, "updated_since"),
    ({"team_id": "0"}, "team_id"),
    ({"ammount_min": "5"}, "ammount_min"),
])
def test_unknown_sort_filter_or_value_is_a_422_naming_it(org: Any, api_as: Any,
                                                         params: dict[str, str],
                                                         field: str) -> None:
    body = assert_problem(api_as(org.alice).get("/deals", params), 422, "invalid-input")
    assert body["field"] == field


def test_a_cursor_of_another_sort_order_is_refused(org: Any, api_as: Any,
                                                   make_deal: Any) -> None:
    for i in range(3):
        make_deal(name=f"Deal {i}")
    api = api_as(org.alice)
    cursor = api.get("/deals", {"sort": "amount", "limit": 1}).json()["next_cursor"]

    assert cursor is not None
    assert assert_problem(api.get("/deals", {"sort": "-amount", "cursor": cursor}),
                          422)["field"] == "cursor"
    assert assert_problem(api.get("/deals", {"cursor": cursor}), 422)["field"] == "cursor"


@pytest.mark.parametrize("cursor", [
    "WyJhbW91bnQiLCJOYU4iLDFd",  # ["amount","NaN",1]
    "WyJhbW91bnQiLCIxIiw5OTk5OTk5OTk5OTk5OTk5OTk5OV0",  # an id past the largest
    "WyJhbW91bnQiLCIxIiwiMSJd",  # the id as a string
    "aWQ6OTk5OTk5OTk5OTk5OTk5OTk5OQ",  # id:9999999999999999999
    "%%%",
])
def test_a_forged_cursor_is_a_422_not_a_crash(org: Any, api_as: Any, cursor: str) -> None:
    sort = "-id" if cursor.startswith("aWQ") else "amount"
    body = assert_problem(api_as(org.alice).get("/deals", {"sort": sort, "cursor": cursor}),
                          422)
    assert body["field"] == "cursor"


def _count(api: Any, params: dict[str, Any]) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get("/deals", {**params, "limit": 200})
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), len(response.json()["items"])


def test_filtered_and_sorted_lists_run_a_constant_number_of_queries(
        org: Any, api_as: Any, make_deal: Any) -> None:
    account = create_account(acting_user=org.alice, name="Initech")
    params = {"sort": "-amount", "amount_min": "0", "expected_close_from": "2000-01-01",
              "owner": "alice", "team_id": str(org.alice.team_id), "status": "open",
              "forecast_category": "pipeline", "updated_since": "2000-01-01T00:00:00Z",
              "stage": "prospecting"}
    api = api_as(org.mona)
    api.get("/deals")  # the token's first use is written once

    def add(n: int) -> None:
        for i in range(n):
            make_deal(name=f"Deal {i}", amount=f"{i}.00", account=account if i % 2 else None,
                      expected_close=date(2030, 1, 1) + timedelta(days=i))

    add(3)
    small = _count(api, params)
    add(40)
    large = _count(api, params)

    assert (small[1], large[1]) == (3, 43)
    assert small[0] == large[0]
