"""Forecast maths against figures worked out by hand (no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dealcraft.domain import forecast as F

D = Decimal


def test_quarters_have_bounds_thirteen_weeks_and_neighbours() -> None:
    q4 = F.parse_period("2026-Q4")
    assert (q4.start, q4.end) == (date(2026, 10, 1), date(2026, 12, 31))
    assert q4.weeks == 13
    assert q4.week_start(2) == date(2026, 10, 8)
    assert q4.week_of(date(2026, 12, 31)) == 13  # the last days belong to week 13
    assert q4.next().label == "2027-Q1" and q4.previous().label == "2026-Q3"
    assert F.period_of(date(2026, 2, 28)).label == "2026-Q1"


@pytest.mark.parametrize("text", ["2026-Q5", "2026Q1", "Q1-2026", "", "2026-q1x"])
def test_a_period_that_is_not_a_quarter_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="quarter like 2026-Q4"):
        F.parse_period(text)


def test_wilson_interval_matches_the_published_value_for_8_of_10() -> None:
    low, high = F.wilson(8, 10)  # type: ignore[misc]
    assert low == pytest.approx(0.4902, abs=1e-4)
    assert high == pytest.approx(0.9433, abs=1e-4)


def test_wilson_interval_stays_within_0_and_1_and_is_none_without_trials() -> None:
    assert F.wilson(0, 5)[0] == 0.0  # type: ignore[index]
    assert F.wilson(5, 5)[1] == 1.0  # type: ignore[index]
    assert F.wilson(0, 0) is None


def test_difference_interval_matches_newcombes_worked_example() -> None:
    # Newcombe (1998), example (a): 56/70 against 48/80 gives 0.0524 to 0.3339.
    low, high = F.difference_interval(56, 70, 48, 80)  # type: ignore[misc]
    assert low == pytest.approx(0.0524, abs=1e-4)
    assert high == pytest.approx(0.3339, abs=1e-4)
    assert F.difference_interval(1, 2, 0, 0) is None


def test_weighted_forecast_is_amount_times_probability_to_the_cent() -> None:
    deals = [F.OpenDeal(D("1000"), 0.2), F.OpenDeal(D("333.33"), 0.5),
             F.OpenDeal(D("50"), 1.0)]
    assert F.weighted(deals) == D("416.67")  # 200 + 166.665 + 50


def test_outcome_distribution_of_two_coin_flips_is_exact() -> None:
    dist = F.outcome_distribution([D("100"), D("200")], [0.5, 0.5])
    assert dist.exact and dist.unit == D("100")
    assert dist.probabilities == (0.25, 0.25, 0.25, 0.25)
    spread = F.interval(D("50"), [D("100"), D("200")], [0.5, 0.5])
    # 0, 100, 200, 300 each a quarter: P10 is 0, P50 100 (half at or below), P90 300.
    assert (spread.p10, spread.p50, spread.p90) == (D("50.00"), D("150.00"), D("350.00"))
    assert spread.mean == D("200.00")


def test_interval_of_unequal_deals_by_hand() -> None:
    # 300 at 0.9 and 100 at 0.3: outcomes 0 (0.07), 100 (0.03), 300 (0.63), 400 (0.27).
    spread = F.interval(D("0"), [D("300"), D("100")], [0.9, 0.3])
    assert spread.p10 == D("100.00")  # 0.07 + 0.03 = 0.10 reaches P10 at 100
    assert spread.p50 == D("300.00")
    assert spread.p90 == D("400.00")
    assert spread.mean == D("300.00")  # 0.9 × 300 + 0.3 × 100
    low = F.interval(D("0"), [D("300"), D("100")], [0.9, 0.3]).p10
    assert low == F.interval(D("0"), [D("100"), D("300")], [0.3, 0.9]).p10  # order-free


def test_p10_with_cumulative_exactly_at_ten_percent_takes_the_lower_amount() -> None:
    spread = F.interval(D("0"), [D("300"), D("100")], [0.9, 0.0])
    # 0 with 0.1, 300 with 0.9.
    assert spread.p10 == D("0.00") and spread.p50 == D("300.00")


def test_interval_with_nothing_open_is_what_is_won() -> None:
    spread = F.interval(D("1234.5"), [], [])
    assert spread.p10 == spread.p50 == spread.p90 == D("1234.50")


def test_large_pipelines_are_kept_on_a_bounded_grid() -> None:
    amounts = [D(f"{1000 + 7 * i}.13") for i in range(300)]
    dist = F.outcome_distribution(amounts, [0.5] * 300, max_buckets=500)
    assert not dist.exact
    assert len(dist.probabilities) <= 510
    assert sum(dist.probabilities) == pytest.approx(1.0)
    # The mean stays within the rounding of the grid of the exact mean.
    exact_mean = sum(amounts) / 2
    assert abs(dist.mean() - exact_mean) <= dist.unit * 300 / 2


def test_calibration_shrinks_a_large_segment_and_pools_a_small_one() -> None:
    outcomes = ([F.StageOutcome("demo", "smb", True)] * 20
                + [F.StageOutcome("demo", "smb", False)] * 5
                + [F.StageOutcome("demo", "enterprise", False)] * 5
                + [F.StageOutcome("close", "smb", True)] * 3)
    cal = F.calibrate(outcomes, {"demo": 0.2, "close": 0.8}, min_sample=20,
                      prior_strength=10)
    # Team: 20 won of 30.
    assert cal.team["demo"].probability == pytest.approx(2 / 3)
    assert cal.team["demo"].source == "history"
    # smb has 25 ≥ 20: (20 + 10 × 2/3) ÷ (25 + 10).
    smb = cal.estimate("demo", "smb")
    assert smb.source == "shrunk"
    assert smb.probability == pytest.approx((20 + 10 * 2 / 3) / 35)
    # enterprise has 5 < 20: the team's rate.
    assert cal.estimate("demo", "enterprise").probability == pytest.approx(2 / 3)
    assert cal.estimate("demo", "enterprise").source == "team"
    # An unseen segment: the team's rate too.
    assert cal.probability("demo", "mid_market") == pytest.approx(2 / 3)
    # Too few deals at all: the process's default probability.
    assert cal.team["close"].source == "default"
    assert cal.probability("close", "smb") == 0.8


def test_close_times_use_medians_with_the_same_minimum_and_shrinkage() -> None:
    samples = ([F.CloseTime("demo", "smb", 10.0)] * 20 + [F.CloseTime("demo", "ent", 40.0)] * 20
               + [F.CloseTime("demo", "mid", 99.0)] * 2)
    times = F.close_times(samples, min_sample=20, prior_strength=10)
    # Team median over 42 values (20 × 10, 20 × 40, 2 × 99) = 40.
    team = 40.0
    assert times.days("demo") == team
    assert times.days("demo", "smb") == pytest.approx((20 * 10 + 10 * team) / 30)
    assert times.days("demo", "mid") == team  # 2 < 20
    assert times.days("close") is None


def test_accuracy_error_is_weighted_absolute_and_bias_is_signed() -> None:
    acc = F.Accuracy()
    acc.add(D("120"), D("100"))
    acc.add(D("80"), D("100"))
    assert acc.error == pytest.approx(0.2)
    assert acc.bias == pytest.approx(0.0)
    high = F.Accuracy()
    high.add(D("150"), D("100"))
    assert high.bias == pytest.approx(0.5)
    assert F.Accuracy().error is None


def test_deals_without_a_segment_count_once_for_the_team() -> None:
    outcomes = [F.StageOutcome("demo", "", True)] * 15 + [F.StageOutcome("demo", "smb",
                                                                         False)] * 15
    cal = F.calibrate(outcomes, {"demo": 0.2}, min_sample=20, prior_strength=10)
    assert (cal.team["demo"].trials, cal.team["demo"].wins) == (30, 15)
    assert cal.estimate("demo", "").source == "team"
    times = F.close_times([F.CloseTime("demo", "", 4.0)] * 3, min_sample=1)
    assert times.team["demo"] == (3, 4.0)


@pytest.mark.parametrize("text", ["0000-Q1", "9999-Q4", "1899-Q4"])
def test_a_quarter_whose_dates_cannot_exist_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="between 1900 and 9998"):
        F.parse_period(text)
