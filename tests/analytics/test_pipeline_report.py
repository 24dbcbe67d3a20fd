"""The pipeline report, checked against figures computed by hand on a small history."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealcraft.analytics.reports import pipeline_report
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.processes.services import active_version


def _at(day: float) -> datetime:
    return datetime(2025, 1, 1, 9, 0, tzinfo=timezone.get_current_timezone()) + timedelta(
        days=day)


def _path(deal: Deal, steps: list[tuple[str, float]], status: str = "open") -> None:
    """Give a deal (created without history) an explicit path of (stage, day) entries."""
    version = active_version()
    previous = ""
    for stage, day in steps:
        StageHistory.objects.create(
            deal=deal, kind="advance" if previous else "created", from_stage=previous,
            to_stage=stage, at=_at(day), amount=deal.amount, currency=deal.currency,
            expected_close=deal.expected_close, forecast_category="pipeline",
            process_version=version)
        previous = stage
    Deal.objects.filter(pk=deal.pk).update(status=status, stage=previous)


@pytest.mark.django_db
def test_pipeline_report_matches_hand_computed_funnel(org: Any) -> None:
    version = active_version()

    def deal(name: str, amount: str, currency: str, status: str,
             steps: list[tuple[str, float]]) -> Deal:
        d = Deal.objects.create(name=name, owner=org.alice, team=org.alice.team,
                                amount=Decimal(amount), currency=currency,
                                expected_close=_at(90).date(), stage=steps[-1][0],
                                status=status, process_version=version)
        _path(d, steps, status)
        return d

    deal("won-straight", "100.00", "EUR", "won", [
        ("prospecting", 0), ("qualification", 2), ("discovery", 6), ("solution", 10),
        ("proposal", 20), ("negotiation", 30), ("won", 40)])
    deal("lost-in-discovery", "50.00", "EUR", "lost", [
        ("prospecting", 0), ("qualification", 4), ("discovery", 8), ("lost", 20)])
    deal("skipped-to-proposal", "70.00", "USD", "open", [
        ("prospecting", 0), ("qualification", 1), ("proposal", 3)])
    deal("moved-back", "30.00", "USD", "open", [
        ("prospecting", 0), ("qualification", 3), ("discovery", 5), ("qualification", 9)])
    deal("open-in-qualification", "10.00", "USD", "open", [
        ("prospecting", 0), ("qualification", 8)])

    report = pipeline_report()

    assert report["deals"] == {"total": 5, "open": 3, "won": 1, "lost": 1}
    assert report["win_rate"] == 0.5
    stages = {s["key"]: s for s in report["stages"]}
    # reached / advanced by hand: every deal was in prospecting and left it.
    assert (stages["prospecting"]["reached"], stages["prospecting"]["advanced"]) == (5, 5)
    # qualification: all five reached; four went on (open-in-qualification did not; moved-back
    # reached discovery after its first qualification entry).
    assert (stages["qualification"]["reached"], stages["qualification"]["advanced"]) == (5, 4)
    assert stages["qualification"]["conversion"] == 0.8
    # discovery: won-straight, lost-in-discovery, moved-back; only won-straight went further.
    assert (stages["discovery"]["reached"], stages["discovery"]["advanced"]) == (3, 1)
    # solution was skipped by skipped-to-proposal, so it is not "reached" for that deal.
    assert (stages["solution"]["reached"], stages["solution"]["advanced"]) == (1, 1)
    assert (stages["proposal"]["reached"], stages["proposal"]["advanced"]) == (2, 1)
    assert (stages["negotiation"]["reached"], stages["negotiation"]["advanced"]) == (1, 1)
    # completed stays in prospecting: 2, 4, 1, 3, 8 days → median 3.
    assert stages["prospecting"]["median_days_in_stage"] == 3.0
    # qualification stays: 4 (won), 4 (lost), 2 (skipped), 2 (moved back, first stay) → 3.
    assert stages["qualification"]["median_days_in_stage"] == 3.0
    # discovery stays: 4, 12, 4 → 4.
    assert stages["discovery"]["median_days_in_stage"] == 4.0
    assert report["amounts_by_currency"] == {
        "EUR": {"open": "0.00", "won": "100.00", "lost": "50.00"},
        "USD": {"open": "110.00", "won": "0.00", "lost": "0.00"},
    }


@pytest.mark.django_db
def test_pipeline_report_for_a_user_covers_only_deals_they_may_see(org: Any,
                                                                    make_deal: Any) -> None:
    make_deal(owner=org.alice, amount="10.00", currency="USD")
    make_deal(owner=org.charlie, amount="99.00", currency="USD")

    north = pipeline_report(org.bob)
    south = pipeline_report(org.charlie)
    everyone = pipeline_report()

    assert north["deals"]["total"] == 1
    assert north["amounts_by_currency"]["USD"]["open"] == "10.00"
    assert south["deals"]["total"] == 1
    assert south["amounts_by_currency"]["USD"]["open"] == "99.00"
    assert everyone["deals"]["total"] == 2
    assert north["stages"][0]["reached"] == 1


@pytest.mark.django_db
def test_pipeline_report_never_sums_currencies_together(org: Any, make_deal: Any) -> None:
    make_deal(amount="10.00", currency="USD")
    make_deal(amount="10.00", currency="EUR")
    make_deal(amount="10.00", currency="JPY")

    amounts = pipeline_report()["amounts_by_currency"]

    assert set(amounts) == {"USD", "EUR", "JPY"}
    assert all(a["open"] == "10.00" for a in amounts.values())


@pytest.mark.django_db
def test_pipeline_report_runs_a_constant_number_of_queries(org: Any, make_deal: Any) -> None:
    pipeline_report()  # the default process is applied on first use
    make_deal()
    with CaptureQueriesContext(connection) as few:
        pipeline_report(org.alice)
    for _ in range(15):
        make_deal()
    with CaptureQueriesContext(connection) as many:
        pipeline_report(org.alice)
    assert len(few) == len(many)


@pytest.mark.django_db
def test_empty_database_reports_zeroes_not_errors(db: Any) -> None:
    report = pipeline_report()
    assert report["deals"] == {"total": 0, "open": 0, "won": 0, "lost": 0}
    assert report["win_rate"] is None
    assert all(s["reached"] == 0 and s["conversion"] is None for s in report["stages"])
    assert report["amounts_by_currency"] == {}
