"""A small demo company, built for each test that asks for it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest

from dealcraft.deals.models import StageHistory
from dealcraft.demo.builder import DemoResult, build_demo

SMALL = 300


@pytest.fixture
def demo(db: Any) -> DemoResult:
    return build_demo(deals=SMALL, seed=42)


@dataclass(frozen=True)
class Move:
    kind: str
    from_stage: str
    to_stage: str
    at: Any
    by_id: int | None
    gate_result: dict[str, Any]
    override_reason: str


def histories() -> dict[int, list[Move]]:
    """Each deal's stage history, in the order the application reads it (at, then id)."""
    out: dict[int, list[Move]] = defaultdict(list)
    for deal_id, *values in StageHistory.objects.order_by("deal_id", "at", "id").values_list(
            "deal_id", "kind", "from_stage", "to_stage", "at", "by_id", "gate_result",
            "override_reason"):
        out[deal_id].append(Move(*values))
    return out
