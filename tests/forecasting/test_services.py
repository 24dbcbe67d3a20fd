"""Calls, adjustments and snapshots: who may make them, what they keep, what they refuse."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.services import advance_stage, close_lost, reopen_deal, update_deal
from dealcraft.domain.forecast import parse_period
from dealcraft.errors import InvalidInput, NotAllowed
from dealcraft.forecasting.models import (
    ForecastAdjustment,
    ForecastSnapshot,
    ForecastSnapshotLine,
    ForecastSubmission,
)
from dealcraft.forecasting.queries import rollup
from dealcraft.forecasting.services import adjust_forecast, submit_forecast, take_snapshot

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 15)


def test_rep_submits_a_call_for_their_own_quarter_and_it_is_audited(org: Any) -> None:
    call = submit_forecast(acting_user=org.alice, period="2026-Q4", amount="12000",
                           note="Two commits", today=TODAY)
    assert (call.rep, call.period, call.amount, call.currency) == (
        org.alice, "2026-Q4", Decimal("12000.00"), "USD")  # the process's currency
    event = AuditEvent.objects.get(action="forecast.submit")
    assert event.actor == org.alice and event.changes["amount"] == "12000.00"


@pytest.mark.parametrize("who", ["mona", "vera", "olivia", "ada"])
def test_only_reps_submit_a_call(org: Any, who: str) -> None:
    with pytest.raises(NotAllowed):
        submit_forecast(acting_user=getattr(org, who), period="2026-Q4", amount="1",
                        today=TODAY)
    assert not ForecastSubmission.objects.exists()


@pytest.mark.parametrize(("period", "message"), [
    ("2026-Q3", "has ended"), ("2028-Q1", "more than a year"), ("Q4", "quarter like"),
    ("0000-Q1", "between 1900 and 9998"),
])
def test_a_call_for_an_ended_far_or_malformed_quarter_is_refused(org: Any, period: str,
                                                                 message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        submit_forecast(acting_user=org.alice, period=period, amount="1", today=TODAY)


def test_a_call_with_a_bad_amount_is_refused(org: Any) -> None:
    with pytest.raises(InvalidInput, match="amount"):
        submit_forecast(acting_user=org.alice, period="2026-Q4", amount="-5", today=TODAY)


def test_manager_adjusts_a_reps_call_with_a_reason_and_both_stay(org: Any) -> None:
    submit_forecast(acting_user=org.alice, period="2026-Q4", amount="12000", today=TODAY)
    adjust_forecast(acting_user=org.mona, rep=org.alice, period="2026-Q4", amount="9000",
                    reason="Acme slips to January", today=TODAY)
    view = rollup(org.mona, parse_period("2026-Q4"))
    line = next(x for x in view.lines if x.rep == org.alice)
    assert line.submission is not None and line.submission.amount == Decimal("12000.00")
    assert line.adjustment is not None and line.adjustment.reason == "Acme slips to January"
    assert line.call == Decimal("9000.00")
    assert [x.rep.username for x in view.lines] == ["alice", "bob"]
    assert view.totals["USD"]["call"] == Decimal("9000.00")
    assert AuditEvent.objects.filter(action="forecast.adjust", actor=org.mona).count() == 1


def test_an_adjustment_needs_a_reason(org: Any) -> None:
    with pytest.raises(InvalidInput, match="reason"):
        adjust_forecast(acting_user=org.mona, rep=org.alice, period="2026-Q4", amount="1",
                        reason="  ", today=TODAY)


@pytest.mark.parametrize(("who", "rep"), [
    ("mona", "charlie"), ("bob", "alice"), ("alice", "alice"), ("olivia", "alice"),
    ("vera", "alice"),
])
def test_only_the_reps_manager_or_an_admin_adjusts(org: Any, who: str, rep: str) -> None:
    with pytest.raises(NotAllowed):
        adjust_forecast(acting_user=getattr(org, who), rep=getattr(org, rep),
                        period="2026-Q4", amount="1", reason="No", today=TODAY)
    assert not ForecastAdjustment.objects.exists()
    adjust_forecast(acting_user=org.ada, rep=getattr(org, rep), period="2026-Q4",
                    amount="1", reason="Admin may", today=TODAY)


def test_a_rep_sees_only_their_own_line_of_the_rollup(org: Any) -> None:
    submit_forecast(acting_user=org.bob, period="2026-Q4", amount="5", today=TODAY)
    view = rollup(org.alice, parse_period("2026-Q4"))
    assert [x.rep for x in view.lines] == [org.alice]


def test_rollup_adds_up_each_reps_deals_by_category(org: Any, make_deal: Any) -> None:
    close = date.today() + timedelta(days=1)
    period = parse_period(f"{close.year}-Q{(close.month - 1) // 3 + 1}")
    first = make_deal(amount="1000", expected_close=close)
    update_deal(acting_user=org.alice, deal=first, version=first.version,
                changes={"forecast_category": "commit", "probability": 70})
    make_deal(amount="400", expected_close=close)  # prospecting: pipeline, 5%
    make_deal(owner=org.bob, amount="50", expected_close=close)
    line = next(x for x in rollup(org.mona, period, currency="EUR").lines
                if x.rep == org.alice)
    assert (line.commit, line.best_case, line.pipeline) == (
        Decimal("1000"), Decimal("1000"), Decimal("1400"))
    assert line.weighted == Decimal("720.00")  # 700 + 20


def test_snapshot_keeps_the_week_once(org: Any, make_deal: Any) -> None:
    today = date.today()
    make_deal(amount="1000", expected_close=today)
    snapshot, created = take_snapshot(acting_user=None, today=today)
    assert created and snapshot.week == today - timedelta(days=today.weekday())
    lines = list(ForecastSnapshotLine.objects.filter(snapshot=snapshot))
    assert [(x.owner, x.category, x.deals, x.amount, x.weighted) for x in lines] == [
        (org.alice, "pipeline", 1, Decimal("1000.00"), Decimal("50.00"))]
    again, created_again = take_snapshot(acting_user=None, today=today)
    assert again == snapshot and not created_again
    assert ForecastSnapshot.objects.count() == 1
    assert AuditEvent.objects.filter(action="forecast.snapshot").count() == 1


def test_a_rep_cannot_take_a_snapshot(org: Any) -> None:
    with pytest.raises(NotAllowed):
        take_snapshot(acting_user=org.alice)


# ---------------------------------------------------------------------------- category rule


def test_stage_change_applies_the_mapped_category_when_the_rep_chose_none(
        org: Any, make_deal: Any) -> None:
    deal = make_deal()
    moved = advance_stage(acting_user=org.alice, deal=deal, to="qualification")
    assert moved.forecast_category == "pipeline"
    assert not moved.forecast_category_overridden


def test_reps_chosen_category_is_kept_through_stage_changes(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    deal = update_deal(acting_user=org.alice, deal=deal, version=deal.version,
                       changes={"forecast_category": "commit"})
    assert deal.forecast_category_overridden
    moved = advance_stage(acting_user=org.alice, deal=deal, to="qualification")
    assert moved.forecast_category == "commit"
    moved.refresh_from_db()
    assert moved.forecast_category == "commit"
    assert moved.history.order_by("-at", "-id").first().forecast_category == "commit"


def test_closing_ends_the_choice_and_reopening_maps_the_stage_again(
        org: Any, make_deal: Any) -> None:
    deal = make_deal()
    deal = update_deal(acting_user=org.alice, deal=deal, version=deal.version,
                       changes={"forecast_category": "omitted"})
    lost = close_lost(acting_user=org.alice, deal=deal, reason="Budget cut")
    assert (lost.forecast_category, lost.forecast_category_overridden) == ("omitted", False)
    back = reopen_deal(acting_user=org.alice, deal=lost, reason="Budget back")
    assert back.forecast_category == "pipeline"


def test_snapshot_trend_adds_up_the_managers_reps_week_by_week(org: Any,
                                                                make_deal: Any) -> None:
    from dealcraft.forecasting.queries import snapshot_trend

    today = date.today()
    first = make_deal(amount="1000", currency="USD", expected_close=today)
    update_deal(acting_user=org.alice, deal=first, version=first.version,
                changes={"forecast_category": "commit", "probability": 50})
    make_deal(owner=org.bob, amount="300", currency="USD", expected_close=today)
    make_deal(owner=org.charlie, amount="7000", currency="USD", expected_close=today)
    take_snapshot(acting_user=None, today=today)
    period = parse_period(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    [row] = snapshot_trend(org.mona, period, "USD")
    assert (row.commit, row.best_case, row.pipeline, row.weighted) == (
        Decimal("1000"), Decimal("1000"), Decimal("1300"), Decimal("515.00"))  # 500 + 15
    [own] = snapshot_trend(org.charlie, period, "USD")
    assert own.pipeline == Decimal("7000")
    assert snapshot_trend(org.ada, period, "USD")[0].pipeline == Decimal("8300")
