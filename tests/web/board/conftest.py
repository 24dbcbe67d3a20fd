"""Helpers for reading the pipeline board's HTML."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dealcraft.deals.services import advance_stage

HTMX = {"HTTP_HX_REQUEST": "true"}


def card(html: str, deal_id: int) -> str:
    """The HTML of one deal's card, or "" when the page has no card for it."""
    match = re.search(rf'<li class="deal-card[^"]*" id="deal-card-{deal_id}".*?</li>', html,
                      re.DOTALL)
    return re.sub(r"\s+", " ", match.group(0)) if match else ""


def text(html: str) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
def deal_in(org: Any, make_deal: Any) -> Any:
    """`deal_in("proposal")`: a deal of Alice's put in that stage by Mona's override."""

    def make(stage: str, **kwargs: Any) -> Any:
        deal = make_deal(**kwargs)
        if stage != deal.stage:
            deal = advance_stage(acting_user=org.mona, deal=deal, to=stage,
                                 override_reason="set up for the test")
        return deal

    return make
