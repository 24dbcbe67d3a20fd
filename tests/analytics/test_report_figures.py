"""Every report's figures on the small company of conftest.py, against values worked out by
hand (the working is in the comments)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from dealcraft.analytics.registry import run
from dealcraft.analytics.scope import Params

from .conftest import T0, Company

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(days=60)


def report(name: str, user: Any = None, **params: Any) -> dict[str, Any]:
    return run(name, user, Params(**params).with_now(NOW))


def by_key(rows: list[dict[str, Any]], key: str = "key") -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


def test_pipeline_counts_amounts_and_win_rate(company: Company) -> None:
    got = report("pipeline")

    assert got["deals"] == {"total": 6, "open": 3, "won": 2, "lost": 1}
    assert got["win_rate"] == 0.6667  # 2 won of 3 closed
    assert got["amounts_by_currency"] == {
        "EUR": {"open": "10.00", "won": "100.00", "lost": "50.00"},
        "USD": {"open": "120.00", "won": "200.00", "lost": "0.00"},  # D3 now 90 + D4 30
    }


def test_funnel_counts_direct_and_any_later_stage(company: Company) -> None:
    funnel = by_key(report("pipeline")["funnel"])

    def triple(key: str) -> tuple[int, int, int]:
        row = funnel[key]
        return row["reached"], row["direct"], row["reached_later"]

    # Every deal starts in prospecting; D6 has not left it.
    assert triple("prospecting") == (6, 5, 5)
    # D3 skipped from qualification to proposal: later, not direct. D4 reached discovery.
    assert triple("qualification") == (5, 4, 5)
    assert funnel["qualification"]["direct_conversion"] == 0.8
    # D1, D2, D4, D5 were in discovery; D2 was lost there, D4 moved back.
    assert triple("discovery") == (4, 2, 2)
    assert funnel["discovery"]["later_conversion"] == 0.5
    assert triple("solution") == (2, 2, 2)
    # D3 sits in proposal.
    assert triple("proposal") == (3, 2, 2)
    assert triple("negotiation") == (2, 2, 2)
    stages = by_key(report("pipeline")["stages"])
    assert (stages["discovery"]["reached"], stages["discovery"]["advanced"]) == (4, 2)


def test_time_in_stage_median_and_p90(company: Company) -> None:
    rows = by_key(report("pipeline")["time_in_stage"])

    # prospecting stays 2, 4, 1, 3, 1 (D6's is still open): median 2; p90 at rank 3.6 → 3.6.
    assert (rows["prospecting"]["stays"], rows["prospecting"]["median_days"],
            rows["prospecting"]["p90_days"]) == (5, 2.0, 3.6)
    # qualification 4, 4, 2, 2, 1 (D4's second stay is open; D3's update is no move).
    assert (rows["qualification"]["median_days"], rows["qualification"]["p90_days"]) == (2, 4)
    # discovery 4, 12 (lost), 4, 1: median 4; p90 = 4 + 0.7 × 8 = 9.6.
    assert (rows["discovery"]["median_days"], rows["discovery"]["p90_days"]) == (4.0, 9.6)
    # solution 10, 1: median 5.5; p90 = 1 + 0.9 × 9 = 9.1. Proposal the same (D3's is open).
    assert (rows["solution"]["median_days"], rows["solution"]["p90_days"]) == (5.5, 9.1)
    assert (rows["proposal"]["stays"], rows["proposal"]["median_days"]) == (2, 5.5)
    # negotiation 10, 5: median 7.5; p90 9.5.
    assert (rows["negotiation"]["median_days"], rows["negotiation"]["p90_days"]) == (7.5, 9.5)
    stages = by_key(report("pipeline")["stages"])
    assert stages["discovery"]["median_days_in_stage"] == 4.0


def test_velocity_per_currency(company: Company) -> None:
    velocity = report("pipeline")["velocity"]

    # EUR: 1 open × (1 won of 2 closed) × 100 average won ÷ 40-day cycle = 1.25 a day.
    assert velocity["EUR"] == {"open_deals": 1, "won": 1, "lost": 1, "win_rate": 0.5,
                               "average_won": "100.00", "cycle_days": 40.0,
                               "per_day": "1.25"}
    # USD: 2 open × 1.0 × 200 ÷ 10 days = 40 a day.
    assert velocity["USD"]["per_day"] == "40.00"
    assert velocity["USD"]["cycle_days"] == 10.0
    by_team = {row["key"]: row["currencies"] for row in report("velocity")["by_team"]}
    # South's only deal is open and nothing of South's closed: no win rate, no velocity.
    assert by_team["South"]["USD"]["win_rate"] is None
    assert by_team["South"]["USD"]["per_day"] is None
    assert by_team["North"]["USD"]["per_day"] == "20.00"  # 1 open (D3) × 1.0 × 200 ÷ 10


def test_stuck_deals_with_their_reasons(company: Company) -> None:
    got = report("stuck")

    # At day 60: D3 57 days in proposal (rots at 30, p90 9.1), D4 51 days in qualification
    # (rots at 14, p90 4.0); D6 has been in prospecting one day.
    assert got["count"] == 2
    assert [d["name"] for d in got["deals"]] == ["D3 skipped", "D4 moved-back"]
    d3 = got["deals"][0]
    assert d3["days_in_stage"] == 57.0
    assert [r["code"] for r in d3["reasons"]] == ["rotting", "p90"]
    assert "past its rotting days (30)" in d3["reasons"][0]["text"]
    stages = by_key(got["stages"])
    assert (stages["prospecting"]["open"], stages["prospecting"]["stuck"]) == (1, 0)
    assert (stages["qualification"]["open"], stages["qualification"]["stuck"]) == (1, 1)


def test_stuck_by_p90_alone_says_so(company: Company) -> None:
    # At day 64 D6 has been 5 days in prospecting: past the 3.6-day p90, not the 14 rot days.
    got = run("stuck", None, Params().with_now(T0 + timedelta(days=64)))
    d6 = next(d for d in got["deals"] if d["name"] == "D6 new")
    assert [r["code"] for r in d6["reasons"]] == ["p90"]


def test_win_rate_and_cycle_by_rep_segment_and_cohort(company: Company) -> None:
    dims = report("cohorts")["dimensions"]

    reps = by_key(dims["rep"])
    assert (reps["alice"]["deals"], reps["alice"]["win_rate"], reps["alice"]["cycle_days"]) \
        == (3, 1.0, 40.0)
    assert (reps["bob"]["won"], reps["bob"]["lost"], reps["bob"]["win_rate"]) == (1, 1, 0.5)
    assert reps["charlie"]["win_rate"] is None
    segments = by_key(dims["segment"])
    assert segments["smb"]["win_rate"] == 0.5 and segments["smb"]["cycle_days"] == 40.0
    assert segments["mid_market"]["win_rate"] == 1.0
    sources = by_key(dims["lead_source"])
    assert sources["inbound"]["deals"] == 3 and sources["inbound"]["win_rate"] == 1.0
    cohorts = by_key(dims["cohort"])
    # D6 was created on 1 March (T0 + 59 days); the other five in January.
    assert (cohorts["2025-01"]["deals"], cohorts["2025-03"]["deals"]) == (5, 1)
    assert cohorts["2025-01"]["win_rate"] == 0.6667
    assert cohorts["2025-01"]["cycle_days"] == 25.0  # (40 + 10) / 2
    assert cohorts["2025-01"]["cycle_days_median"] == 25.0
    teams = by_key(dims["team"])
    assert teams["North"]["label"] == "North" and teams["North"]["deals"] == 5


def test_losses_by_reason_stage_and_rep_against_buyer(company: Company) -> None:
    got = report("losses")

    assert got["lost"] == 1
    assert got["by_reason"] == [{"category": "price", "label": "Price", "deals": 1,
                                 "share": 1.0}]
    assert [(s["stage"], s["deals"]) for s in got["by_stage"]] == [("discovery", 1)]
    assert got["amounts_by_currency"] == {"EUR": "50.00"}
    assert got["rep_vs_buyer"] == {
        "known": 1, "agree": 0, "agreement_rate": 0.0,
        "pairs": [{"rep_reason": "price", "buyer_reason": "no_budget", "deals": 1,
                   "agree": False}]}


def test_adherence_per_rep_next_to_outcomes(company: Company) -> None:
    reps = by_key(report("adherence")["reps"], "owner")

    alice = reps["alice"]
    # D1: five advances and the win; D3: one advance and a skip over discovery and solution.
    assert (alice["gated_moves"], alice["skips"], alice["skipped_stages"]) == (8, 1, 2)
    assert (alice["overrides"], alice["warned"]) == (0, 1)
    # Criteria judged: D1's first gate (a, b met) and D3's warn gate (x met, y not).
    assert (alice["criteria_judged"], alice["criteria_met"]) == (4, 3)
    assert alice["evidence_completeness"] == 0.75
    assert (alice["open_deals"], alice["without_next_step"]) == (2, 2)
    assert (alice["won"], alice["win_rate"], alice["won_amounts"]) == (1, 1.0,
                                                                      {"EUR": "100.00"})
    bob = reps["bob"]
    assert (bob["gated_moves"], bob["overrides"], bob["override_rate"]) == (8, 1, 0.125)
    assert (bob["criteria_judged"], bob["evidence_completeness"]) == (1, 0.0)
    assert (bob["won"], bob["lost"], bob["win_rate"]) == (1, 1, 0.5)
    charlie = reps["charlie"]
    assert (charlie["gated_moves"], charlie["open_deals"]) == (2, 1)


def test_pipeline_changes_between_two_dates(company: Company) -> None:
    got = report("changes", since=date(2025, 1, 6), until=date(2025, 1, 16))
    changes = {c["key"]: c for c in got["changes"]}

    # End of 6 Jan (day 5.6): D1 qualification, D2 qualification, D3 proposal, D4 discovery,
    # D5 negotiation, D6 not yet created. End of 16 Jan: D5 won on day 10; D3's amount went
    # 70 → 90 and its close date 30 days out; D4 was due on 11 Jan and is still open.
    assert (changes["new"]["deals"], changes["lost"]["deals"]) == (0, 0)
    assert changes["won"]["deals"] == 1
    assert changes["won"]["amounts_by_currency"] == {"USD": "200.00"}
    assert changes["amount_up"]["amounts_by_currency"] == {"USD": "20.00"}
    assert changes["amount_down"]["deals"] == 0
    assert (changes["pushed_out"]["deals"], changes["pulled_in"]["deals"]) == (1, 0)
    assert changes["slipped"]["deals"] == 1
    assert changes["slipped"]["amounts_by_currency"] == {"USD": "30.00"}
    assert got["open_at_since"] == {"EUR": {"deals": 2, "amount": "150.00"},
                                    "USD": {"deals": 3, "amount": "300.00"}}
    assert got["open_at_until"] == {"EUR": {"deals": 2, "amount": "150.00"},
                                    "USD": {"deals": 2, "amount": "120.00"}}
    later = {c["key"]: c for c in
             report("changes", since=date(2025, 2, 1), until=date(2025, 3, 5))["changes"]}
    assert later["new"]["deals"] == 1 and later["won"]["deals"] == 1  # D6; D1 won on day 40


def test_filters_narrow_every_report(company: Company) -> None:
    assert report("pipeline", team="South")["deals"]["total"] == 1
    assert report("pipeline", rep="bob")["deals"] == {"total": 2, "open": 0, "won": 1,
                                                      "lost": 1}
    assert report("pipeline", segment="smb")["deals"]["total"] == 3
    assert report("pipeline", lead_source="event")["deals"]["total"] == 1
    assert report("cohorts", since=date(2025, 2, 1))["dimensions"]["cohort"][0]["key"] \
        == "2025-03"
    assert report("losses", until=date(2024, 12, 31))["lost"] == 0


def test_an_empty_database_gives_zeroes_and_nulls_not_errors(db: Any) -> None:
    for name in ("pipeline", "stuck", "velocity", "cohorts", "losses", "adherence",
                 "changes"):
        got = report(name)
        assert got["params"]["team"] is None, name
    assert report("pipeline")["velocity"] == {}
    assert report("stuck")["count"] == 0
