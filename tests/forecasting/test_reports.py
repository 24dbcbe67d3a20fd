"""The forecast, calibration, criteria and accuracy reports against hand-computed figures."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from dealcraft.domain.forecast import wilson
from dealcraft.forecasting.models import ForecastSubmission
from dealcraft.forecasting.queries import (
    accuracy_report,
    calibration_report,
    criteria_report,
    forecast_report,
)

from .conftest import at, past_deal

pytestmark = pytest.mark.django_db
TODAY = date(2026, 11, 15)


def test_forecast_for_the_quarter_by_hand(org: Any) -> None:
    a = org.alice
    past_deal(a, "1000", date(2026, 12, 1), [(at(2026, 10, 1), "negotiation", "commit", 80)])
    past_deal(a, "500", date(2026, 12, 10), [(at(2026, 10, 2), "proposal", "best_case", 60)])
    past_deal(a, "200", date(2027, 1, 10), [(at(2026, 10, 3), "discovery", "pipeline", 20)])
    past_deal(a, "300", date(2026, 10, 20), [(at(2026, 9, 1), "negotiation", "commit", 80),
                                             (at(2026, 10, 20), "won", "closed", 100)])
    past_deal(a, "999", date(2026, 12, 5), [(at(2026, 10, 4), "proposal", "omitted", 60)])
    # Won last quarter: not part of this one.
    past_deal(a, "7000", date(2026, 9, 1), [(at(2026, 8, 1), "negotiation", "commit", 80),
                                            (at(2026, 9, 20), "won", "closed", 100)])
    report = forecast_report(today=TODAY)
    q4, q1 = report["periods"]
    assert (q4["period"], q4["currency"], q1["period"]) == ("2026-Q4", "EUR", "2027-Q1")
    assert q4["won"] == "300.00"
    assert q4["commit"] == "1300.00"
    assert q4["best_case"] == "1800.00"
    assert q4["pipeline"] == "1800.00"
    assert q4["omitted"] == "999.00"
    assert q4["weighted"] == "1400.00"  # 300 + 1000 × 0.8 + 500 × 0.6
    # Too little history: the calibrated method uses the stages' default probabilities and
    # the expected close dates, so it agrees with the weighted one here.
    assert q4["calibrated"] == "1400.00"
    # 300 won plus 1000 (0.8) and 500 (0.6): 0 (0.08), 500 (0.12), 1000 (0.32), 1500 (0.48).
    assert (q4["p10"], q4["p50"], q4["p90"]) == ("800.00", "1300.00", "1800.00")
    assert q4["exact"] is True
    assert q1["pipeline"] == "200.00" and q1["weighted"] == "40.00"
    assert (q1["p10"], q1["p90"]) == ("0.00", "200.00")


def test_forecast_report_covers_only_deals_the_user_may_see(org: Any) -> None:
    past_deal(org.alice, "1000", date(2026, 12, 1),
              [(at(2026, 10, 1), "negotiation", "commit", 80)])
    past_deal(org.charlie, "5000", date(2026, 12, 1),
              [(at(2026, 10, 1), "negotiation", "commit", 80)])
    everyone = forecast_report(today=TODAY)["periods"][0]
    north = forecast_report(org.mona, today=TODAY)["periods"][0]
    south = forecast_report(org.charlie, today=TODAY)["periods"][0]
    assert (everyone["commit"], north["commit"], south["commit"]) == (
        "6000.00", "1000.00", "5000.00")


def _closed(org: Any, n: int, won: int, segment: str) -> None:
    for i in range(n):
        outcome = "won" if i < won else "lost"
        past_deal(org.alice, "100", date(2026, 3, 1), [
            (at(2026, 1, 1), "prospecting", "pipeline", 5),
            (at(2026, 1, 5), "qualification", "pipeline", 10),
            (at(2026, 1, 15), outcome, "closed" if outcome == "won" else "omitted",
             100 if outcome == "won" else 0)], segment=segment)


def test_calibration_reliability_table_by_hand(org: Any) -> None:
    _closed(org, 20, 12, "smb")
    _closed(org, 4, 0, "enterprise")
    past_deal(org.alice, "100", date(2026, 12, 1), [(at(2026, 10, 1), "qualification",
                                                     "pipeline", 10)], segment="smb")  # open
    report = calibration_report()
    stages = {row["stage"]: row for row in report["stages"]}
    qual = stages["qualification"]
    assert (qual["count"], qual["won"]) == (24, 12)
    assert qual["predicted"] == 0.1
    assert qual["actual"] == 0.5
    assert qual["interval"] == [round(x, 4) for x in wilson(12, 24)]  # type: ignore[union-attr]
    assert (qual["calibrated"], qual["source"]) == (0.5, "history")
    segments = {row["segment"]: row for row in qual["segments"]}
    # smb: 20 deals ≥ 20, shrunk: (12 + 10 × 0.5) ÷ (20 + 10).
    assert segments["smb"]["calibrated"] == round(17 / 30, 4)
    assert segments["smb"]["source"] == "shrunk"
    assert (segments["enterprise"]["calibrated"], segments["enterprise"]["source"]) == (
        0.5, "team")
    assert (stages["prospecting"]["count"], stages["prospecting"]["predicted"]) == (24, 0.05)
    # No closed deal reached discovery: the default stays and nothing is claimed.
    assert stages["discovery"]["count"] == 0 and stages["discovery"]["actual"] is None
    assert (stages["discovery"]["calibrated"], stages["discovery"]["source"]) == (
        0.2, "default")
    # Brier over 48 stays: prospecting 12 × 0.95² + 12 × 0.05², qualification 12 × 0.9² +
    # 12 × 0.1²: (10.83 + 0.03 + 9.72 + 0.12) ÷ 48 = 0.43125.
    assert report["brier"] == pytest.approx(0.43125, abs=1e-4)


def test_calibrated_forecast_uses_history_probability_per_segment(org: Any) -> None:
    _closed(org, 20, 12, "smb")
    _closed(org, 4, 0, "enterprise")
    past_deal(org.alice, "3000", date(2026, 12, 1), [(at(2026, 11, 10), "qualification",
                                                      "pipeline", 10)], segment="smb")
    q4 = forecast_report(today=TODAY)["periods"][0]
    assert q4["weighted"] == "300.00"
    # Won deals took 10 days from qualification (20 samples ≥ 20): entered 11-10, closes
    # 11-20, inside Q4, at the smb probability 17/30.
    assert q4["calibrated"] == str((Decimal("3000") * Decimal(str(17 / 30))).quantize(
        Decimal("0.01"), ROUND_HALF_UP))


def _gate(stage: str, met: list[str], unmet: list[str]) -> dict[str, Any]:
    return {"gates": [{"stage": stage, "mode": "enforce", "met": met,
                       "unmet": [{"key": k, "label": k, "message": "", "stage": stage}
                                 for k in unmet]}]}


def test_criteria_win_rates_by_hand(org: Any) -> None:
    start = at(2026, 1, 1)
    q = "qualification"

    def deal(outcome: str, gates: dict[int, dict[str, Any]], extra: int = 0) -> None:
        steps = [(start, q, "pipeline", 10)]
        steps += [(at(2026, 1, 2 + i), q, "pipeline", 10) for i in range(extra)]
        steps.append((at(2026, 2, 1), "discovery", "pipeline", 20))
        if outcome != "open":
            steps.append((at(2026, 3, 1), outcome, "closed", 0))
        past_deal(org.alice, "100", date(2026, 3, 1), steps, gates=gates)

    pc, bi = "problem_confirmed", "business_impact_discussed"
    deal("won", {1: _gate(q, [pc, bi], [])})
    deal("won", {1: _gate(q, [pc], [bi])})
    deal("lost", {1: _gate(q, [], [pc, bi])})
    # Judged twice: unmet first, met the last time; the last judgement counts.
    deal("won", {1: _gate(q, [], [pc]), 2: _gate(q, [pc], [])}, extra=1)
    deal("open", {1: _gate(q, [], [pc])})  # open deals prove nothing yet
    rows = {row["criterion"]: row for row in criteria_report()["criteria"]
            if row["stage"] == q}
    p = rows[pc]
    assert (p["met"], p["won_met"], p["not_met"], p["won_not_met"]) == (3, 3, 1, 0)
    assert (p["win_rate_met"], p["win_rate_not_met"]) == (1.0, 0.0)
    assert p["interval_met"] == [round(x, 4) for x in wilson(3, 3)]  # type: ignore[union-attr]
    assert p["difference"] == 1.0
    assert p["interval"][0] > 0
    b = rows[bi]
    assert (b["met"], b["won_met"], b["not_met"], b["won_not_met"]) == (1, 1, 2, 1)
    assert (b["win_rate_met"], b["win_rate_not_met"]) == (1.0, 0.5)
    assert rows["next_meeting_booked"]["met"] == 0
    assert rows["next_meeting_booked"]["win_rate_met"] is None
    assert rows["next_meeting_booked"]["interval"] is None


def test_accuracy_ledger_replays_history_by_hand(org: Any) -> None:
    a = org.alice
    # Won in Q3 2026: pipeline from June, commit from July 10, won August 20.
    past_deal(a, "1000", date(2026, 8, 15), [
        (at(2026, 6, 1), "prospecting", "pipeline", 5),
        (at(2026, 7, 10), "negotiation", "commit", 80),
        (at(2026, 8, 20), "won", "closed", 100)])
    # Best case from July 1 (noon: after week 1 began), lost August 1.
    past_deal(a, "500", date(2026, 9, 1), [
        (at(2026, 7, 1, 12), "proposal", "best_case", 60),
        (at(2026, 8, 1), "lost", "omitted", 0)])
    # Bob commits 400 all quarter and loses it in September.
    past_deal(org.bob, "400", date(2026, 9, 10), [
        (at(2026, 6, 1), "negotiation", "commit", 80),
        (at(2026, 9, 5), "lost", "omitted", 0)])
    ForecastSubmission.objects.create(rep=a, team_id=a.team_id, period="2026-Q3",
                                      currency="EUR", amount=Decimal("900"),
                                      submitted_at=at(2026, 7, 5))
    report = accuracy_report(today=TODAY, periods=1)
    assert report["periods"] == ["2026-Q3"]
    rows = {(r["rep"], r["category"], r["week"]): r for r in report["rows"]}

    def f(category: str, week: int) -> tuple[str, float | None, float | None]:
        row = rows[("alice", category, week)]
        assert row["actual"] == "1000.00"
        return row["forecast"], row["error"], row["bias"]

    # Week 1 (July 1): only the first deal, in pipeline.
    assert f("commit", 1) == ("0.00", 1.0, -1.0)
    assert f("pipeline", 1) == ("1000.00", 0.0, 0.0)
    assert f("weighted", 1) == ("50.00", 0.95, -0.95)
    assert ("alice", "submitted", 1) not in rows  # no call made yet
    # Week 2 (July 8): the best-case deal too; the call of July 5.
    assert f("best_case", 2) == ("500.00", 0.5, -0.5)
    assert f("pipeline", 2) == ("1500.00", 0.5, 0.5)
    assert f("weighted", 2) == ("350.00", 0.65, -0.65)
    assert f("submitted", 2) == ("900.00", 0.1, -0.1)
    # Week 3 (July 15): the first deal in commit at 80%.
    assert f("commit", 3) == ("1000.00", 0.0, 0.0)
    assert f("weighted", 3) == ("1100.00", 0.1, 0.1)
    # Week 6 (August 5): the best-case deal is lost.
    assert f("best_case", 6) == ("1000.00", 0.0, 0.0)
    # Week 9 (August 26): won.
    assert f("weighted", 9) == ("1000.00", 0.0, 0.0)
    # Bob won nothing: his forecast has no error ratio to give, but it is kept.
    bob = rows[("bob", "commit", 1)]
    assert (bob["forecast"], bob["actual"], bob["error"], bob["bias"]) == (
        "400.00", "0.00", None, None)
    # Everyone together: Alice's and Bob's calls added up against the 1000 won.
    team = rows[(None, "commit", 1)]
    assert (team["forecast"], team["actual"], team["error"], team["bias"]) == (
        "400.00", "1000.00", 0.6, -0.6)
    assert rows[(None, "commit", 3)]["forecast"] == "1400.00"
    assert rows[(None, "commit", 3)]["bias"] == 0.4
    assert rows[(None, "weighted", 2)]["forecast"] == "670.00"  # 350 + 400 × 0.8
    assert rows[(None, "submitted", 2)]["forecast"] == "900.00"  # only Alice made a call
    assert team["periods"] == 1
