"""`/api/v1/forecast`: the roll-up, the history of calls and adjustments, making and adjusting
calls — who sees and may do what, what is refused and how, retries and query counts."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.services import update_deal
from dealcraft.domain import forecast as F
from dealcraft.forecasting.models import ForecastAdjustment, ForecastSubmission
from dealcraft.forecasting.services import adjust_forecast, submit_forecast
from dealcraft.people.services import create_user

from .conftest import assert_problem

pytestmark = pytest.mark.django_db


def this_quarter() -> F.Period:
    return F.period_of(timezone.localdate())


def body(response: Any) -> Any:
    return json.loads(response.content)


def usernames(lines: list[dict[str, Any]]) -> list[str]:
    return sorted(line["rep"]["username"] for line in lines)


@pytest.fixture
def calls(org: Any, make_deal: Any) -> F.Period:
    """A commit deal of Alice's closing this quarter (EUR), Alice's and Charlie's calls, and
    Mona's adjustment of Alice's call."""
    period = this_quarter()
    deal = make_deal(amount="1000.00", currency="EUR", expected_close=period.end)
    update_deal(acting_user=org.alice, deal=deal, version=deal.version,
                changes={"forecast_category": "commit"})
    submit_forecast(acting_user=org.alice, period=period.label, amount="900", currency="EUR",
                    note="One commit")
    submit_forecast(acting_user=org.charlie, period=period.label, amount="50",
                    currency="EUR")
    adjust_forecast(acting_user=org.mona, rep=org.alice, period=period.label, amount="800",
                    currency="EUR", reason="Procurement is slow")
    return period


# ---------------------------------------------------------------------------- the roll-up


def test_rep_sees_their_own_line_with_figures_call_and_adjustment(org: Any, api_as: Any,
                                                                  calls: F.Period) -> None:
    response = api_as(org.alice).get("/forecast/rollup",
                                     {"period": calls.label, "currency": "EUR"})
    assert response.status_code == 200, response.content
    data = body(response)
    assert (data["period"], data["currency"], data["teams"]) == (calls.label, "EUR", [])
    [line] = data["lines"]
    assert line["rep"]["username"] == "alice" and line["team"] == "North"
    assert (line["won"], line["commit"], line["best_case"], line["pipeline"]) == (
        "0.00", "1000.00", "1000.00", "1000.00")
    deal_probability = Decimal(line["weighted"]) / 1000 * 100
    assert 0 < deal_probability <= 100
    assert line["submission"]["amount"] == "900.00"
    assert line["submission"]["note"] == "One commit"
    adjustment = line["adjustment"]
    assert (adjustment["amount"], adjustment["reason"], adjustment["by"]["username"]) == (
        "800.00", "Procurement is slow", "mona")
    assert adjustment["at"]
    assert line["call"] == "800.00"  # the adjustment counts
    assert line["adjustable"] is False
    assert data["totals"]["call"] == "800.00" and data["totals"]["submitted"] == "900.00"


def test_manager_sees_their_teams_reps_and_may_adjust_them(org: Any, api_as: Any,
                                                           calls: F.Period) -> None:
    data = body(api_as(org.mona).get("/forecast/rollup",
                                     {"period": calls.label, "currency": "EUR"}))
    assert data["teams"] == ["North"]
    assert usernames(data["lines"]) == ["alice", "bob"]
    assert all(line["adjustable"] for line in data["lines"])
    assert data["totals"]["commit"] == "1000.00"


@pytest.mark.parametrize(("who", "adjusts"), [("ada", True), ("olivia", False)])
def test_admins_and_ops_see_every_rep(org: Any, api_as: Any, calls: F.Period, who: str,
                                      adjusts: bool) -> None:
    data = body(api_as(getattr(org, who)).get("/forecast/rollup",
                                              {"period": calls.label, "currency": "EUR"}))
    assert usernames(data["lines"]) == ["alice", "bob", "charlie"]
    assert {line["adjustable"] for line in data["lines"]} == {adjusts}
    assert data["totals"]["submitted"] == "950.00"


def test_rollup_is_per_currency(org: Any, api_as: Any, calls: F.Period) -> None:
    data = body(api_as(org.alice).get("/forecast/rollup",
                                      {"period": calls.label, "currency": "USD"}))
    [line] = data["lines"]
    assert data["currency"] == "USD"
    assert line["commit"] == "0.00" and line["call"] is None and line["submission"] is None


def test_rollup_defaults_to_this_quarter_in_the_process_currency(org: Any,
                                                                 api_as: Any) -> None:
    data = body(api_as(org.alice).get("/forecast/rollup"))
    assert (data["period"], data["currency"]) == (this_quarter().label, "USD")


def test_viewer_is_refused_the_rollup_and_the_calls(org: Any, api_as: Any,
                                                    calls: F.Period) -> None:
    client = api_as(org.vera)
    assert_problem(client.get("/forecast/rollup"), 403, "not-allowed")
    assert_problem(client.get("/forecast/calls"), 403, "not-allowed")


@pytest.mark.parametrize("period", ["2026-Q5", "Q4", "0000-Q1", "9999-Q4"])
def test_rollup_of_a_malformed_quarter_is_a_problem(org: Any, api_as: Any,
                                                    period: str) -> None:
    problem = assert_problem(api_as(org.mona).get("/forecast/rollup", {"period": period}),
                             422, "invalid-input")
    assert problem["field"] == "period"


def test_rollup_reads_a_fixed_number_of_queries(org: Any, api_as: Any, make_deal: Any) -> None:
    period = this_quarter()
    client = api_as(org.ada)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/forecast/rollup", {"period": period.label}).status_code == 200
        return len(captured)

    count()  # the first request also notes the token's first use
    few = count()
    for i in range(6):
        rep = create_user(acting_user=None, username=f"rep{i}", role="rep",
                          team="North" if i % 2 else "West")
        make_deal(owner=rep, amount="10", currency="USD", expected_close=period.end)
        submit_forecast(acting_user=rep, period=period.label, amount=str(i + 1))
        adjust_forecast(acting_user=org.ada, rep=rep, period=period.label, amount="3",
                        reason="Checked")
    assert count() == few


# ---------------------------------------------------------------------------- history


def test_history_lists_what_each_role_may_see(org: Any, api_as: Any, calls: F.Period) -> None:
    def seen(who: Any) -> list[tuple[str, str]]:
        response = api_as(who).get("/forecast/calls")
        assert response.status_code == 200, response.content
        return sorted((item["kind"], item["rep"]["username"]) for item in body(response)["items"])

    mine = [("adjustment", "alice"), ("call", "alice")]
    assert seen(org.alice) == mine
    assert seen(org.bob) == []
    assert seen(org.charlie) == [("call", "charlie")]
    assert seen(org.mona) == mine
    assert seen(org.ada) == seen(org.olivia) == sorted([*mine, ("call", "charlie")])


def test_history_items_say_who_adjusted_and_why(org: Any, api_as: Any,
                                                calls: F.Period) -> None:
    items = body(api_as(org.alice).get("/forecast/calls", {"period": calls.label}))["items"]
    adjustment = next(item for item in items if item["kind"] == "adjustment")
    call = next(item for item in items if item["kind"] == "call")
    assert (adjustment["reason"], adjustment["by"]["username"], adjustment["amount"]) == (
        "Procurement is slow", "mona", "800.00")
    assert (call["note"], call["amount"], call["currency"]) == ("One commit", "900.00", "EUR")


def test_manager_is_refused_the_calls_of_another_teams_rep(org: Any, api_as: Any,
                                                           calls: F.Period) -> None:
    client = api_as(org.mona)
    assert_problem(client.get("/forecast/calls", {"rep": "charlie"}), 403, "not-allowed")
    assert_problem(client.get("/forecast/calls", {"rep": str(org.charlie.pk)}), 403)
    assert body(client.get("/forecast/calls", {"rep": "alice"}))["items"]


def test_history_filters_by_quarter(org: Any, api_as: Any, calls: F.Period) -> None:
    later = calls.next()
    submit_forecast(acting_user=org.alice, period=later.label, amount="5")
    client = api_as(org.alice)
    items = body(client.get("/forecast/calls", {"period": later.label}))["items"]
    assert [(i["kind"], i["period"], i["amount"]) for i in items] == [
        ("call", later.label, "5.00")]
    problem = assert_problem(client.get("/forecast/calls", {"rep": "nobody"}), 422)
    assert problem["field"] == "rep"


def test_history_pages_through_calls_and_adjustments_without_gaps(org: Any,
                                                                  api_as: Any) -> None:
    period = this_quarter().label
    for i in range(4):
        submit_forecast(acting_user=org.alice, period=period, amount=str(i))
        adjust_forecast(acting_user=org.mona, rep=org.alice, period=period, amount=str(i),
                        reason=f"r{i}")
    client = api_as(org.mona)
    seen: list[tuple[str, int]] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        data = body(client.get("/forecast/calls", params))
        seen += [(item["kind"], item["id"]) for item in data["items"]]
        cursor = data["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8
    assert sum(kind == "adjustment" for kind, _ in seen) == 4
    for bogus in ("bogus", _cursor(["0001-01-01T00:00:00+05:00", "call", 1]),
                  _cursor(["2026-01-01T00:00:00", "call", 1]), _cursor(["x", "deal", 1])):
        problem = assert_problem(client.get("/forecast/calls", {"cursor": bogus}), 422,
                                 "invalid-input")
        assert problem["field"] == "cursor"


def _cursor(data: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_history_reads_a_fixed_number_of_queries(org: Any, api_as: Any) -> None:
    period = this_quarter().label
    client = api_as(org.ada)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/forecast/calls").status_code == 200
        return len(captured)

    submit_forecast(acting_user=org.alice, period=period, amount="1")
    adjust_forecast(acting_user=org.mona, rep=org.alice, period=period, amount="1",
                    reason="One")
    count()  # the first request also notes the token's first use
    few = count()
    for who in (org.bob, org.charlie, org.alice):
        submit_forecast(acting_user=who, period=period, amount="2")
        adjust_forecast(acting_user=org.ada, rep=who, period=period, amount="2",
                        reason="More")
    assert count() == few


# ---------------------------------------------------------------------------- making calls


def test_rep_makes_a_call_through_the_api(org: Any, api_as: Any) -> None:
    period = this_quarter().label
    response = api_as(org.alice).post("/forecast/calls", {
        "period": period, "amount": "12000.50", "currency": "eur", "note": "Two commits"})
    assert response.status_code == 201, response.content
    data = body(response)
    assert (data["rep"]["username"], data["period"], data["amount"], data["currency"],
            data["note"]) == ("alice", period, "12000.50", "EUR", "Two commits")
    call = ForecastSubmission.objects.get()
    assert (call.rep, call.amount) == (org.alice, Decimal("12000.50"))
    assert AuditEvent.objects.filter(action="forecast.submit", actor=org.alice).exists()


@pytest.mark.parametrize("who", ["mona", "olivia", "ada", "vera"])
def test_only_reps_make_calls(org: Any, api_as: Any, who: str) -> None:
    response = api_as(getattr(org, who)).post("/forecast/calls", {"amount": "1"})
    assert_problem(response, 403, "not-allowed")
    assert not ForecastSubmission.objects.exists()


@pytest.mark.parametrize(("payload", "field"), [
    ({"amount": "-5"}, "amount"),
    ({"amount": "1.234"}, "amount"),
    ({"amount": "1", "currency": "E1R"}, "currency"),
    ({"amount": "1", "period": "2020-Q1"}, "period"),
    ({"amount": "1", "period": "0000-Q1"}, "period"),
    ({}, "amount"),
    ({"amount": "1", "extra": True}, "extra"),
])
def test_a_bad_call_is_refused_with_the_field_at_fault(org: Any, api_as: Any,
                                                       payload: dict[str, Any],
                                                       field: str) -> None:
    problem = assert_problem(api_as(org.alice).post("/forecast/calls", payload), 422,
                             "invalid-input")
    assert problem["field"] == field
    assert not ForecastSubmission.objects.exists()


def test_a_read_only_token_cannot_make_a_call(org: Any, api_as: Any) -> None:
    response = api_as(org.alice, read_only=True).post("/forecast/calls", {"amount": "1"})
    assert_problem(response, 403, "read-only-token")
    assert not ForecastSubmission.objects.exists()


def test_a_retried_call_with_the_same_key_is_made_once(org: Any, api_as: Any) -> None:
    client = api_as(org.alice)
    payload = {"amount": "700"}
    first = client.post("/forecast/calls", payload, headers={"Idempotency-Key": "call-1"})
    again = client.post("/forecast/calls", payload, headers={"Idempotency-Key": "call-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert body(again) == body(first)
    assert ForecastSubmission.objects.count() == 1


# ---------------------------------------------------------------------------- adjusting


def test_manager_adjusts_their_reps_call_and_the_reps_own_stays(org: Any, api_as: Any,
                                                                calls: F.Period) -> None:
    response = api_as(org.mona).post("/forecast/adjustments", {
        "rep": "alice", "period": calls.label, "amount": "650", "currency": "EUR",
        "reason": "Lost the second deal"})
    assert response.status_code == 201, response.content
    data = body(response)
    assert (data["rep"]["username"], data["by"]["username"], data["amount"],
            data["reason"]) == ("alice", "mona", "650.00", "Lost the second deal")
    line = body(api_as(org.alice).get("/forecast/rollup", {
        "period": calls.label, "currency": "EUR"}))["lines"][0]
    assert (line["call"], line["submission"]["amount"]) == ("650.00", "900.00")
    assert AuditEvent.objects.filter(action="forecast.adjust", actor=org.mona).count() == 2


def test_admin_adjusts_any_reps_call_by_id(org: Any, api_as: Any) -> None:
    response = api_as(org.ada).post("/forecast/adjustments", {
        "rep": str(org.charlie.pk), "amount": "10", "reason": "Board number"})
    assert response.status_code == 201, response.content
    assert ForecastAdjustment.objects.get().rep == org.charlie


def test_manager_is_refused_adjusting_another_teams_rep(org: Any, api_as: Any) -> None:
    response = api_as(org.mona).post("/forecast/adjustments", {
        "rep": "charlie", "amount": "10", "reason": "Not mine"})
    assert_problem(response, 403, "not-allowed")
    assert not ForecastAdjustment.objects.exists()


@pytest.mark.parametrize("who", ["alice", "bob", "charlie", "olivia", "vera"])
def test_others_may_not_adjust_a_call(org: Any, api_as: Any, who: str) -> None:
    response = api_as(getattr(org, who)).post("/forecast/adjustments", {
        "rep": "alice", "amount": "10", "reason": "Mine"})
    assert_problem(response, 403, "not-allowed")
    assert not ForecastAdjustment.objects.exists()


@pytest.mark.parametrize(("payload", "field"), [
    ({"rep": "alice", "amount": "10"}, "reason"),
    ({"rep": "alice", "amount": "10", "reason": "   "}, "reason"),
    ({"rep": "nobody", "amount": "10", "reason": "Why"}, "rep"),
    ({"rep": "mona", "amount": "10", "reason": "Why"}, "rep"),
    ({"rep": "alice", "amount": "x", "reason": "Why"}, "amount"),
])
def test_a_bad_adjustment_is_refused_with_the_field_at_fault(org: Any, api_as: Any,
                                                             payload: dict[str, Any],
                                                             field: str) -> None:
    problem = assert_problem(api_as(org.mona).post("/forecast/adjustments", payload), 422,
                             "invalid-input")
    assert problem["field"] == field
    assert not ForecastAdjustment.objects.exists()


def test_a_read_only_token_cannot_adjust(org: Any, api_as: Any) -> None:
    response = api_as(org.mona, read_only=True).post("/forecast/adjustments", {
        "rep": "alice", "amount": "10", "reason": "Why"})
    assert_problem(response, 403, "read-only-token")
    assert not ForecastAdjustment.objects.exists()


def test_a_retried_adjustment_with_the_same_key_is_made_once(org: Any, api_as: Any) -> None:
    client = api_as(org.mona)
    payload = {"rep": "bob", "amount": "10", "reason": "Retry"}
    first = client.post("/forecast/adjustments", payload, headers={"Idempotency-Key": "a-1"})
    again = client.post("/forecast/adjustments", payload, headers={"Idempotency-Key": "a-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert ForecastAdjustment.objects.count() == 1
