"""A small company whose every report figure is worked out by hand in the tests.

Six deals, times in days after 2025-01-01 09:00 UTC (T0):

D1 won-straight: alice (North), EUR 100, smb / inbound; prospecting 0, qualification 2,
    discovery 6, solution 10, proposal 20, negotiation 30, won 40.
D2 lost-in-discovery: bob (North), EUR 50, smb / outbound; prospecting 0, qualification 4,
    discovery 8, lost 20 (rep: price; buyer: no_budget).
D3 skipped: alice (North), USD 70 then 90, mid_market / inbound; prospecting 0,
    qualification 1, proposal 3 (skip); update on day 12 (amount 90, close 30 days later).
D4 moved-back: charlie (South), USD 30, enterprise / referral; prospecting 0,
    qualification 3, discovery 5, qualification 9 (backward); expected close day 10.
D5 won-fast: bob (North), USD 200, mid_market / inbound; prospecting 0, qualification 1,
    discovery 2, solution 3, proposal 4, negotiation 5, won 10 (by override).
D6 new: alice (North), EUR 10, smb / event; prospecting 59.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from dealcraft.deals.models import Deal, StageHistory
from dealcraft.processes.services import active_version

T0 = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
CLOSE = (T0 + timedelta(days=90)).date()


def at(day: float) -> datetime:
    return T0 + timedelta(days=day)


def gate(stage: str, mode: str, met: list[str], unmet: list[str]) -> dict[str, Any]:
    return {"stage": stage, "mode": mode, "met": met,
            "unmet": [{"key": k, "label": k, "message": k, "stage": stage} for k in unmet]}


def transition(src: str, dst: str, gates: list[dict[str, Any]]) -> dict[str, Any]:
    blocking = [u for g in gates if g["mode"] == "enforce" for u in g["unmet"]]
    warnings = [u for g in gates if g["mode"] == "warn" for u in g["unmet"]]
    return {"from": src, "to": dst, "direction": "forward", "gates": gates,
            "blocking": blocking, "warnings": warnings}


@pytest.fixture(autouse=True)
def analytics_dir(settings: Any, tmp_path: Any) -> Any:
    """Each test's extract files in its own directory."""
    settings.DEALCRAFT_ANALYTICS_DIR = str(tmp_path / "analytics")
    return tmp_path / "analytics"


@dataclass
class Step:
    stage: str
    day: float
    kind: str = "advance"
    gate_result: dict[str, Any] | None = None
    override_reason: str = ""
    amount: str | None = None
    close: date | None = None


@dataclass
class Company:
    deals: dict[str, Deal]


def make_deal(owner: Any, name: str, amount: str, currency: str, fields: dict[str, str],
              steps: list[Step], *, close: date = CLOSE, lost: tuple[str, str] | None = None,
              ) -> Deal:
    version = active_version()
    last = steps[-1]
    status = last.stage if last.stage in ("won", "lost") else "open"
    deal = Deal.objects.create(
        name=name, owner=owner, team=owner.team, amount=Decimal(last.amount or amount),
        currency=currency, expected_close=last.close or close, stage=last.stage,
        status=status, forecast_category="pipeline", fields=fields, process_version=version,
        created_at=at(steps[0].day), updated_at=at(last.day),
        stage_entered_at=at(max(s.day for s in steps if s.kind != "update")),
        closed_at=at(last.day) if status != "open" else None,
        lost_reason_category=lost[0] if lost else "", lost_from_stage=lost[1] if lost else "",
        lost_reason="Lost" if lost else "")
    previous, current_amount, current_close = "", amount, close
    for step in steps:
        current_amount = step.amount or current_amount
        current_close = step.close or current_close
        kind = step.kind if previous else "created"
        StageHistory.objects.create(
            deal=deal, kind=kind, from_stage=previous if kind != "update" else step.stage,
            to_stage=step.stage, at=at(step.day), by=owner, amount=Decimal(current_amount),
            currency=currency, expected_close=current_close, forecast_category="pipeline",
            gate_result=json.loads(json.dumps(step.gate_result or {})),
            override_reason=step.override_reason, process_version=version)
        if kind != "update":
            previous = step.stage
    return deal


@pytest.fixture
def company(org: Any) -> Company:
    S = Step
    d1 = make_deal(org.alice, "D1 won-straight", "100.00", "EUR",
                   {"segment": "smb", "lead_source": "inbound"}, [
                       S("prospecting", 0),
                       S("qualification", 2, gate_result=transition(
                           "prospecting", "qualification",
                           [gate("prospecting", "enforce", ["a", "b"], [])])),
                       S("discovery", 6), S("solution", 10), S("proposal", 20),
                       S("negotiation", 30), S("won", 40, kind="won")])
    d2 = make_deal(org.bob, "D2 lost-in-discovery", "50.00", "EUR",
                   {"segment": "smb", "lead_source": "outbound",
                    "buyer_loss_reason": "no_budget"}, [
                       S("prospecting", 0), S("qualification", 4), S("discovery", 8),
                       S("lost", 20, kind="lost")], lost=("price", "discovery"))
    d3 = make_deal(org.alice, "D3 skipped", "70.00", "USD",
                   {"segment": "mid_market", "lead_source": "inbound"}, [
                       S("prospecting", 0), S("qualification", 1),
                       S("proposal", 3, kind="skip", gate_result=transition(
                           "qualification", "proposal",
                           [gate("qualification", "warn", ["x"], ["y"])])),
                       S("proposal", 12, kind="update", amount="90.00",
                         close=CLOSE + timedelta(days=30))])
    d4 = make_deal(org.charlie, "D4 moved-back", "30.00", "USD",
                   {"segment": "enterprise", "lead_source": "referral"}, [
                       S("prospecting", 0), S("qualification", 3), S("discovery", 5),
                       S("qualification", 9, kind="backward")],
                   close=(T0 + timedelta(days=10)).date())
    d5 = make_deal(org.bob, "D5 won-fast", "200.00", "USD",
                   {"segment": "mid_market", "lead_source": "inbound"}, [
                       S("prospecting", 0), S("qualification", 1), S("discovery", 2),
                       S("solution", 3), S("proposal", 4), S("negotiation", 5),
                       S("won", 10, kind="won", override_reason="Exec sponsor signed off",
                         gate_result=transition("negotiation", "won", [
                             gate("negotiation", "enforce", [], ["signed"])]))])
    d6 = make_deal(org.alice, "D6 new", "10.00", "EUR",
                   {"segment": "smb", "lead_source": "event"}, [S("prospecting", 59)])
    return Company({"D1": d1, "D2": d2, "D3": d3, "D4": d4, "D5": d5, "D6": d6})
