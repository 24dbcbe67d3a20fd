"""The forecasting reports over a small demo company, against an independent pandas
computation from the database's own tables."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
import pytest

from dealcraft.deals.models import Deal, StageHistory
from dealcraft.demo.builder import build_demo
from dealcraft.domain.forecast import period_of
from dealcraft.forecasting.queries import (
    accuracy_report,
    calibration_report,
    criteria_report,
    forecast_report,
)
from dealcraft.processes.services import active_process

pytestmark = pytest.mark.django_db
TODAY = date(2026, 6, 10)
GATED = ("advance", "skip", "override", "won")


@pytest.fixture(scope="module")
def demo_db(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """One demo company for the module (built once, removed after)."""
    with django_db_blocker.unblock():
        from django.core.management import call_command

        build_demo(deals=2000, seed=7, today=TODAY)
        yield
        call_command("flush", interactive=False, verbosity=0)


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    deals = pd.DataFrame.from_records(Deal.objects.values(
        "id", "owner_id", "status", "stage", "amount", "currency", "expected_close",
        "forecast_category", "probability", "closed_at", "fields"))
    deals["amount"] = deals["amount"].map(Decimal)
    deals["segment"] = deals["fields"].map(lambda f: (f or {}).get("segment", ""))
    history = pd.DataFrame.from_records(StageHistory.objects.values(
        "id", "deal_id", "kind", "to_stage", "at", "amount", "expected_close",
        "forecast_category", "probability", "gate_result"))
    history["at"] = pd.to_datetime(history["at"], utc=True)
    history = history.sort_values(["deal_id", "at", "id"]).reset_index(drop=True)
    return deals, history


def test_demo_company_has_what_forecasting_needs(demo_db: Any) -> None:
    deals, history = frames()
    closed = deals[deals["status"] != "open"]
    assert set(closed["status"]) == {"won", "lost"}
    assert set(deals["segment"]) == {"smb", "mid_market", "enterprise"}
    assert history["gate_result"].map(lambda g: bool((g or {}).get("gates"))).sum() > 100
    # Deals pushed past unmet criteria win less often, so some criterion shows it.
    assert any(row["interval"] and row["interval"][0] > 0
               for row in criteria_report()["criteria"])


def test_calibration_matches_pandas(demo_db: Any) -> None:
    _, process = active_process()
    deals, history = frames()
    keys = set(process.stage_keys)
    h = history.copy()
    h["changed"] = h["to_stage"] != h.groupby("deal_id")["to_stage"].shift()
    entries = h[h["changed"] & h["to_stage"].isin(keys)]
    entries = entries.groupby(["deal_id", "to_stage"]).tail(1)  # the last entry per stage
    closed = deals[deals["status"] != "open"][["id", "status"]]
    merged = entries.merge(closed, left_on="deal_id", right_on="id")
    merged["won"] = merged["status"] == "won"
    expected = merged.groupby("to_stage").agg(count=("won", "size"), won=("won", "sum"),
                                              predicted=("probability", "mean"))
    report = {row["stage"]: row for row in calibration_report()["stages"]}
    assert any(row["count"] for row in report.values())
    for stage, row in report.items():
        if stage not in expected.index:
            assert row["count"] == 0
            continue
        want = expected.loc[stage]
        assert row["count"] == want["count"]
        assert row["won"] == want["won"]
        assert row["actual"] == pytest.approx(want["won"] / want["count"], abs=5e-5)
        assert row["predicted"] == pytest.approx(want["predicted"] / 100, abs=5e-5)


def test_criteria_match_pandas(demo_db: Any) -> None:
    deals, history = frames()
    gated = history[history["kind"].isin(GATED)]
    rows = []
    for deal_id, at, hid, result in gated[["deal_id", "at", "id", "gate_result"]].itertuples(
            index=False):
        for gate in (result or {}).get("gates", []):
            rows += [(deal_id, at, hid, gate["stage"], key, True) for key in gate["met"]]
            rows += [(deal_id, at, hid, gate["stage"], u["key"], False)
                     for u in gate["unmet"]]
    judged = pd.DataFrame(rows, columns=["deal_id", "at", "hid", "gate", "criterion", "met"])
    judged = judged.sort_values(["at", "hid"]).groupby(
        ["deal_id", "gate", "criterion"]).tail(1)
    closed = deals[deals["status"] != "open"][["id", "status"]]
    judged = judged.merge(closed, left_on="deal_id", right_on="id")
    judged["won"] = judged["status"] == "won"
    counts = judged.groupby(["gate", "criterion", "met"])["won"].agg(["size", "sum"])
    report = criteria_report()["criteria"]
    assert sum(row["met"] + row["not_met"] for row in report) == len(judged)
    for row in report:
        for met, n_key, w_key in ((True, "met", "won_met"), (False, "not_met", "won_not_met")):
            index = (row["stage"], row["criterion"], met)
            n, w = (counts.loc[index, "size"], counts.loc[index, "sum"]) \
                if index in counts.index else (0, 0)
            assert (row[n_key], row[w_key]) == (n, w), index


def test_quarter_forecast_matches_pandas(demo_db: Any) -> None:
    deals, _ = frames()
    quarter = period_of(TODAY)
    report = forecast_report(today=TODAY)
    rows = {r["currency"]: r for r in report["periods"] if r["period"] == quarter.label}
    start = pd.Timestamp(datetime.combine(quarter.start, time.min), tz="UTC")
    end = pd.Timestamp(datetime.combine(quarter.end + timedelta(days=1), time.min), tz="UTC")
    closed_at = pd.to_datetime(deals["closed_at"], utc=True)
    won = deals[(deals["status"] == "won") & (closed_at >= start) & (closed_at < end)]
    in_quarter = deals[(deals["status"] == "open") & deals["expected_close"].between(
        quarter.start, quarter.end)]
    counted = in_quarter[in_quarter["forecast_category"] != "omitted"]
    assert set(rows) == set(deals["currency"])
    for currency, row in rows.items():
        w = won[won["currency"] == currency]["amount"].sum()
        mine = counted[counted["currency"] == currency]
        commit = w + mine[mine["forecast_category"] == "commit"]["amount"].sum()
        weighted = w + sum((a * p / 100 for a, p in zip(mine["amount"], mine["probability"],
                                                        strict=True)), Decimal("0"))
        assert Decimal(row["won"]) == w
        assert Decimal(row["commit"]) == commit
        assert Decimal(row["pipeline"]) == w + mine["amount"].sum()
        assert Decimal(row["weighted"]) == weighted.quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert Decimal(row["p10"]) <= Decimal(row["p50"]) <= Decimal(row["p90"])
        assert Decimal(row["p10"]) >= w


def test_accuracy_ledger_matches_a_pandas_replay(demo_db: Any) -> None:
    deals, history = frames()
    report = accuracy_report(today=TODAY, periods=1)
    quarter = period_of(TODAY).previous()
    assert report["periods"] == [quarter.label]
    ends = history.groupby("deal_id").tail(1)
    last_won = ends[(ends["to_stage"] == "won")
                    & ends["at"].dt.date.map(quarter.contains)]
    currency = dict(zip(deals["id"], deals["currency"], strict=True))
    owners = deals["owner_id"].nunique()
    checked = 0
    for week in (1, 5, 9, 13):
        moment = pd.Timestamp(datetime.combine(quarter.week_start(week), time.min), tz="UTC")
        state = history[history["at"] <= moment].groupby("deal_id").tail(1)
        is_open = ~state["to_stage"].isin(["won", "lost"])
        in_quarter = state["expected_close"].map(quarter.contains)
        open_rows = state[is_open & in_quarter & (state["forecast_category"] != "omitted")]
        won_by_then = last_won[last_won["at"] <= moment]
        for code in sorted(set(deals["currency"])):
            def of(frame: pd.DataFrame, code: str = code) -> pd.DataFrame:
                return frame[frame["deal_id"].map(currency) == code]

            so_far = sum(of(won_by_then)["amount"], Decimal("0"))
            rows = of(open_rows)
            commit = so_far + sum(rows[rows["forecast_category"] == "commit"]["amount"],
                                  Decimal("0"))
            pipeline = so_far + sum(rows["amount"], Decimal("0"))
            weighted = so_far + sum((a * p / 100 for a, p in zip(
                rows["amount"], rows["probability"], strict=True)), Decimal("0"))
            actual = sum(of(last_won)["amount"], Decimal("0"))
            got = {r["category"]: r for r in report["rows"]
                   if r["rep"] is None and r["week"] == week and r["currency"] == code}
            if not actual and not pipeline:
                continue
            assert Decimal(got["commit"]["actual"]) == actual
            assert Decimal(got["commit"]["forecast"]) == commit
            assert Decimal(got["pipeline"]["forecast"]) == pipeline
            # The ledger rounds each rep's weighted call to the cent before adding them up.
            assert abs(Decimal(got["weighted"]["forecast"]) - weighted) <= Decimal(
                "0.005") * owners
            if actual:
                assert got["pipeline"]["bias"] == pytest.approx(
                    float((pipeline - actual) / actual), abs=1e-4)
            checked += 1
    assert checked >= 4
