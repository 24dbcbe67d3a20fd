"""Closing deals as won or lost, and reopening them."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.deals.services import (
    advance_stage,
    close_lost,
    close_won,
    record_evidence,
    reopen_deal,
    update_deal,
)
from dealcraft.errors import GateRefused, InvalidInput, NotAllowed

from .conftest import counts, reload

HANDOFF = {"handoff_goals", "handoff_stakeholders", "handoff_risks",
           "handoff_promised_outcomes", "handoff_what_sold_and_why"}
NEGOTIATION = {"legal_review_started", "procurement_ticket_submitted",
               "signature_date_targeted"}


@pytest.fixture
def negotiating_deal(org: Any, qualifying_deal: Deal) -> Deal:
    """Alice's deal pushed into negotiation by Mona's override."""
    return advance_stage(acting_user=org.mona, deal=qualifying_deal, to="negotiation",
                         override_reason="Late-stage deal moved in from the old CRM")


def _meet_negotiation_gate(deal: Deal, user: Any) -> None:
    record_evidence(acting_user=user, deal=deal, criterion="legal_review_started",
                    text="Buyer's counsel opened the MSA review on Monday")
    current = reload(deal)
    update_deal(acting_user=user, deal=deal, version=current.version,
                changes={"fields": {"procurement_ticket": "PRC-1042",
                                    "signature_date": "2031-06-30"}})


def _write_handoff(deal: Deal, user: Any) -> None:
    for criterion in sorted(HANDOFF):
        record_evidence(acting_user=user, deal=deal, criterion=criterion,
                        text=f"Handoff notes: {criterion}")


# ---------------------------------------------------------------- lost


def test_close_lost_records_the_reason_and_the_stage_it_was_lost_from(
        org: Any, qualifying_deal: Deal) -> None:
    close_lost(acting_user=org.alice, deal=qualifying_deal,
               reason="Chose the incumbent's bundle", category="competitor")

    deal = reload(qualifying_deal)
    assert (deal.status, deal.stage, deal.lost_from_stage) == ("lost", "lost", "qualification")
    assert (deal.probability, deal.forecast_category) == (0, "omitted")
    assert deal.lost_reason == "Chose the incumbent's bundle"
    assert deal.lost_reason_category == "competitor"
    assert deal.closed_at is not None
    row = StageHistory.objects.filter(deal=deal).last()
    assert row is not None
    assert (row.kind, row.from_stage, row.to_stage) == ("lost", "qualification", "lost")
    assert row.gate_result == {"reason": "Chose the incumbent's bundle",
                               "category": "competitor"}
    event = AuditEvent.objects.get(action="deal.lost")
    assert event.actor == org.alice
    assert event.changes["from"] == "qualification"


@pytest.mark.parametrize("reason", ["", "   "])
def test_close_lost_needs_a_reason(org: Any, qualifying_deal: Deal, reason: str) -> None:
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        close_lost(acting_user=org.alice, deal=qualifying_deal, reason=reason)

    assert refused.value.field == "reason"
    assert counts() == before
    assert reload(qualifying_deal).status == "open"


@pytest.mark.parametrize(("reason", "category"), [
    ("Lost to competitor", "competitor"),
    ("price", "price"),
    ("NO BUDGET", "no_budget"),
    ("They went quiet after the demo", ""),
])
def test_reason_that_names_a_loss_category_files_the_deal_under_it(
        org: Any, make_deal: Any, reason: str, category: str) -> None:
    deal = close_lost(acting_user=org.alice, deal=make_deal(), reason=reason)

    assert reload(deal).lost_reason_category == category


def test_unknown_loss_category_is_refused(org: Any, make_deal: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        close_lost(acting_user=org.alice, deal=make_deal(), reason="Gone", category="aliens")

    assert refused.value.field == "category"


def test_a_lost_deal_cannot_be_lost_again_or_advanced(org: Any, make_deal: Any) -> None:
    deal = close_lost(acting_user=org.alice, deal=make_deal(), reason="Timing")

    with pytest.raises(InvalidInput):
        close_lost(acting_user=org.alice, deal=deal, reason="Timing")
    with pytest.raises(InvalidInput):
        advance_stage(acting_user=org.alice, deal=deal, to="qualification")


def test_other_teams_rep_cannot_close_norths_deal(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    with pytest.raises(NotAllowed):
        close_lost(acting_user=org.charlie, deal=deal, reason="Sabotage")

    assert reload(deal).status == "open"


# ---------------------------------------------------------------- won


def test_close_won_is_blocked_by_the_negotiation_gate_and_the_handoff(
        org: Any, negotiating_deal: Deal) -> None:
    with pytest.raises(GateRefused) as refused:
        close_won(acting_user=org.alice, deal=negotiating_deal)

    assert {u.key for u in refused.value.transition.blocking} == NEGOTIATION | HANDOFF
    assert reload(negotiating_deal).status == "open"


def test_close_won_stays_blocked_until_the_handoff_is_complete(
        org: Any, negotiating_deal: Deal) -> None:
    _meet_negotiation_gate(negotiating_deal, org.alice)
    record_evidence(acting_user=org.alice, deal=negotiating_deal, criterion="handoff_goals",
                    text="Go live by Q3 with two teams")

    with pytest.raises(GateRefused) as refused:
        close_won(acting_user=org.alice, deal=negotiating_deal)

    assert {u.key for u in refused.value.transition.blocking} == HANDOFF - {"handoff_goals"}


def test_close_won_succeeds_with_commitment_and_a_complete_handoff(
        org: Any, negotiating_deal: Deal) -> None:
    _meet_negotiation_gate(negotiating_deal, org.alice)
    _write_handoff(negotiating_deal, org.alice)

    close_won(acting_user=org.alice, deal=negotiating_deal)

    deal = reload(negotiating_deal)
    assert (deal.status, deal.stage, deal.probability, deal.forecast_category) == (
        "won", "won", 100, "closed")
    assert deal.closed_at is not None
    row = StageHistory.objects.filter(deal=deal).last()
    assert row is not None
    assert (row.kind, row.from_stage, row.to_stage) == ("won", "negotiation", "won")
    assert [g["stage"] for g in row.gate_result["gates"]] == ["negotiation", "won"]
    assert set(row.gate_result["gates"][1]["met"]) == HANDOFF
    assert AuditEvent.objects.get(action="deal.won").actor == org.alice


def test_manager_override_to_won_keeps_the_reason(org: Any, negotiating_deal: Deal) -> None:
    close_won(acting_user=org.mona, deal=negotiating_deal,
              override_reason="Signed on paper; handoff call booked for Monday")

    assert reload(negotiating_deal).status == "won"
    row = StageHistory.objects.filter(deal=negotiating_deal).last()
    assert row is not None
    assert row.kind == "won"
    assert row.override_reason == "Signed on paper; handoff call booked for Monday"


def test_rep_cannot_override_close_won(org: Any, negotiating_deal: Deal) -> None:
    with pytest.raises(NotAllowed):
        close_won(acting_user=org.alice, deal=negotiating_deal, override_reason="Trust me")


def test_closing_won_from_an_early_stage_checks_every_later_gate(
        org: Any, qualifying_deal: Deal) -> None:
    with pytest.raises(GateRefused) as refused:
        close_won(acting_user=org.alice, deal=qualifying_deal)

    assert [g.stage for g in refused.value.transition.gates] == [
        "qualification", "discovery", "solution", "proposal", "negotiation", "won"]


# ---------------------------------------------------------------- reopen


def test_reopen_returns_a_lost_deal_to_the_stage_it_was_lost_from(
        org: Any, qualifying_deal: Deal) -> None:
    close_lost(acting_user=org.alice, deal=qualifying_deal, reason="Price")

    reopen_deal(acting_user=org.alice, deal=qualifying_deal,
                reason="New budget approved for Q3")

    deal = reload(qualifying_deal)
    assert (deal.status, deal.stage, deal.probability, deal.forecast_category) == (
        "open", "qualification", 10, "pipeline")
    assert deal.closed_at is None
    row = StageHistory.objects.filter(deal=deal).last()
    assert row is not None
    assert (row.kind, row.from_stage, row.to_stage) == ("reopen", "lost", "qualification")
    assert row.gate_result == {"reason": "New budget approved for Q3"}


def test_reopened_deal_no_longer_carries_its_loss(org: Any, qualifying_deal: Deal) -> None:
    close_lost(acting_user=org.alice, deal=qualifying_deal, reason="Price")

    reopen_deal(acting_user=org.alice, deal=qualifying_deal, reason="Budget is back")

    deal = reload(qualifying_deal)
    assert (deal.lost_reason, deal.lost_reason_category, deal.lost_from_stage) == ("", "", "")
    lost = StageHistory.objects.get(deal=deal, kind="lost")
    assert lost.gate_result == {"reason": "Price", "category": "price"}


def test_reopen_a_won_deal_returns_it_to_the_last_stage(org: Any,
                                                        negotiating_deal: Deal) -> None:
    close_won(acting_user=org.mona, deal=negotiating_deal, override_reason="Signed")

    reopen_deal(acting_user=org.mona, deal=negotiating_deal, reason="Contract rescinded")

    assert reload(negotiating_deal).stage == "negotiation"


def test_reopen_needs_a_reason_and_a_closed_deal(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    with pytest.raises(InvalidInput):
        reopen_deal(acting_user=org.alice, deal=deal, reason="Never closed")

    close_lost(acting_user=org.alice, deal=deal, reason="Timing")
    with pytest.raises(InvalidInput) as refused:
        reopen_deal(acting_user=org.alice, deal=deal, reason=" ")
    assert refused.value.field == "reason"
