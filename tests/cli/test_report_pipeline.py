"""`dealcraft report pipeline [--json]`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dealcraft.deals.services import close_lost

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(org: Any, make_deal: Any) -> None:
    make_deal(name="Euro deal", amount="1000.00", currency="EUR")
    make_deal(name="Dollar deal", amount="250.50", currency="USD", owner=org.charlie)
    lost = make_deal(name="Lost euro deal", amount="40.00", currency="EUR")
    close_lost(acting_user=org.alice, deal=lost, reason="price")


def test_json_has_the_documented_keys(run: Any, deals: None) -> None:
    result = run("report", "pipeline", "--json")

    assert result.code == 0
    report = json.loads(result.out)
    assert {"deals", "win_rate", "stages", "amounts_by_currency"} <= set(report)
    assert report["deals"] == {"total": 3, "open": 2, "won": 0, "lost": 1}
    assert report["win_rate"] == 0
    assert [s["key"] for s in report["stages"]] == [
        "prospecting", "qualification", "discovery", "solution", "proposal", "negotiation"]
    for stage in report["stages"]:
        assert set(stage) == {"key", "name", "reached", "advanced", "conversion",
                              "median_days_in_stage"}
    assert report["stages"][0]["reached"] == 3
    assert report["amounts_by_currency"] == {
        "EUR": {"open": "1000.00", "won": "0.00", "lost": "40.00"},
        "USD": {"open": "250.50", "won": "0.00", "lost": "0.00"},
    }


def test_the_table_keeps_each_currency_apart(run: Any, deals: None) -> None:
    result = run("report", "pipeline")

    assert result.code == 0
    assert result.lines[0].startswith("Pipeline: 3 deals (2 open, 0 won, 1 lost); win rate 0.0%")
    prospecting = next(line for line in result.lines if line.startswith("Prospecting"))
    assert prospecting.split() == ["Prospecting", "3", "0", "0.0%", "0.0"]
    rows = {line.split()[0]: line.split()[1:] for line in result.lines
            if line.split() and line.split()[0] in ("EUR", "USD")}
    assert rows == {"EUR": ["1,000.00", "0.00", "40.00"], "USD": ["250.50", "0.00", "0.00"]}
    assert "1,250.50" not in result.out


def test_an_empty_database_reports_zeros(run: Any) -> None:
    report = json.loads(run("report", "pipeline", "--json").out)

    assert report["deals"] == {"total": 0, "open": 0, "won": 0, "lost": 0}
    assert report["win_rate"] is None
    assert report["amounts_by_currency"] == {}
