"""Deals with an explicit past, written straight to the tables so that every figure of the
forecasting reports can be worked out by hand."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.deals.models import Deal, StageHistory
from dealcraft.people.models import User
from dealcraft.processes.services import active_version

Step = tuple[datetime, str, str, int]  # when, stage (or won/lost), category, probability


def at(y: int, m: int, d: int, hour: int = 9) -> datetime:
    return datetime(y, m, d, hour, tzinfo=timezone.get_current_timezone())


def past_deal(owner: User, amount: str, close: date, steps: Sequence[Step], *,
              segment: str = "", currency: str = "EUR",
              gates: dict[int, dict[str, Any]] | None = None) -> Deal:
    """A deal whose history is `steps`; its current state is the last step. `gates` gives
    the gate_result of the step at that index."""
    version = active_version()
    when, stage, category, probability = steps[-1]
    status = stage if stage in ("won", "lost") else "open"
    deal = Deal.objects.create(
        name=f"deal {amount}", owner=owner, team_id=owner.team_id, amount=Decimal(amount),
        currency=currency, expected_close=close, stage=stage, status=status,
        forecast_category=category, probability=probability,
        fields={"segment": segment} if segment else {}, process_version=version,
        stage_entered_at=when, created_at=steps[0][0], updated_at=when,
        closed_at=when if status != "open" else None)
    previous = ""
    for i, (moment, to, cat, prob) in enumerate(steps):
        kind = ("created" if not previous else to if to in ("won", "lost") else "advance")
        StageHistory.objects.create(
            deal=deal, kind=kind, from_stage=previous, to_stage=to, at=moment,
            amount=deal.amount, currency=currency, expected_close=close, forecast_category=cat,
            probability=prob, gate_result=(gates or {}).get(i, {}), process_version=version)
        previous = to
    return deal


@pytest.fixture
def deal_with_past() -> Any:
    return past_deal
