"""The forecasting reports through the API and the command line: the JSON others build on."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.test import Client

from dealcraft.cli import main
from dealcraft.people.services import create_token

from .conftest import at, past_deal

pytestmark = pytest.mark.django_db


def api_get(user: Any, path: str) -> Any:
    _, key = create_token(acting_user=None, user=user)
    return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_forecast_api_gives_p10_p50_p90_for_each_period(org: Any) -> None:
    past_deal(org.alice, "1000", date(2031, 1, 1), [(at(2026, 10, 1), "negotiation",
                                                     "commit", 80)])
    response = api_get(org.mona, "/api/v1/reports/forecast")
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["periods"]) >= 2
    for row in body["periods"]:
        assert {"period", "currency", "p10", "p50", "p90"} <= set(row)


def test_calibration_api_gives_predicted_and_actual_with_counts(org: Any) -> None:
    past_deal(org.alice, "100", date(2026, 3, 1), [
        (at(2026, 1, 1), "prospecting", "pipeline", 5), (at(2026, 1, 9), "won", "closed", 100)])
    body = api_get(org.alice, "/api/v1/reports/calibration").json()
    prospecting = next(s for s in body["stages"] if s["stage"] == "prospecting")
    assert (prospecting["predicted"], prospecting["actual"], prospecting["count"],
            prospecting["won"]) == (0.05, 1.0, 1, 1)


def test_criteria_api_gives_met_not_met_win_rates_and_an_interval(org: Any) -> None:
    gate = {"gates": [{"stage": "prospecting", "mode": "warn", "met": ["account_set"],
                       "unmet": []}]}
    past_deal(org.alice, "100", date(2026, 3, 1), [
        (at(2026, 1, 1), "prospecting", "pipeline", 5),
        (at(2026, 1, 5), "qualification", "pipeline", 10),
        (at(2026, 1, 9), "won", "closed", 100)], gates={1: gate})
    body = api_get(org.alice, "/api/v1/reports/criteria").json()
    row = next(c for c in body["criteria"] if c["criterion"] == "account_set")
    assert (row["met"], row["not_met"], row["win_rate_met"], row["win_rate_not_met"]) == (
        1, 0, 1.0, None)
    assert row["interval_met"] == [0.2065, 1.0]  # Wilson 95% for 1 of 1
    assert row["interval"] is None  # nothing to compare with


def test_api_reports_cover_only_what_the_caller_may_read(org: Any) -> None:
    past_deal(org.alice, "100", date(2026, 3, 1), [
        (at(2026, 1, 1), "prospecting", "pipeline", 5), (at(2026, 1, 9), "won", "closed", 100)])
    south = api_get(org.charlie, "/api/v1/reports/calibration").json()
    assert all(s["count"] == 0 for s in south["stages"])
    assert api_get(org.charlie, "/api/v1/reports/accuracy").status_code == 200
    assert Client().get("/api/v1/reports/forecast").status_code == 401


def test_report_command_prints_the_same_json(org: Any,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    past_deal(org.alice, "100", date(2026, 3, 1), [
        (at(2026, 1, 1), "prospecting", "pipeline", 5), (at(2026, 1, 9), "lost", "omitted", 0)])
    capsys.readouterr()
    assert main(["report", "calibration", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    prospecting = next(s for s in body["stages"] if s["stage"] == "prospecting")
    assert (prospecting["count"], prospecting["won"], prospecting["actual"]) == (1, 0, 0.0)
