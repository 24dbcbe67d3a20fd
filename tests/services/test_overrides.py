"""Overriding a gate: only a manager of the deal's team (or an admin), always with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.deals.services import advance_stage
from dealcraft.errors import GateRefused, NotAllowed
from dealcraft.people.services import create_user
from dealcraft.processes.services import apply_process

from .conftest import counts, reload, satisfy_qualification, with_setting


def test_rep_cannot_override_a_gate(org: Any, qualifying_deal: Deal) -> None:
    before = counts()

    with pytest.raises(NotAllowed) as refused:
        advance_stage(acting_user=org.alice, deal=qualifying_deal, to="discovery",
                      override_reason="I have a good feeling")

    assert "manager" in refused.value.message
    assert counts() == before
    assert reload(qualifying_deal).stage == "qualification"


def test_manager_of_the_team_overrides_with_a_reason(org: Any, qualifying_deal: Deal) -> None:
    deal = advance_stage(acting_user=org.mona, deal=qualifying_deal, to="discovery",
                         override_reason="CFO confirmed budget in person; paperwork follows")

    assert reload(deal).stage == "discovery"
    row = StageHistory.objects.filter(deal=deal).last()
    assert row is not None
    assert row.kind == "override"
    assert row.by == org.mona
    assert row.override_reason == "CFO confirmed budget in person; paperwork follows"
    assert {u["key"] for u in row.gate_result["blocking"]} >= {"problem_confirmed",
                                                               "meddicc_score"}
    event = AuditEvent.objects.get(action="deal.override")
    assert event.actor == org.mona
    assert event.changes["override_reason"] == row.override_reason
    assert "meddicc_score" in event.changes["unmet"]


def test_admin_may_override(org: Any, qualifying_deal: Deal) -> None:
    advance_stage(acting_user=org.ada, deal=qualifying_deal, to="discovery",
                  override_reason="Board-sponsored deal")

    row = StageHistory.objects.filter(deal=qualifying_deal).last()
    assert row is not None
    assert (row.kind, row.by) == ("override", org.ada)


def test_manager_of_another_team_cannot_override(org: Any, qualifying_deal: Deal) -> None:
    sam = create_user(acting_user=org.ada, username="sam", role="manager", team="South")
    before = counts()

    with pytest.raises(NotAllowed):
        advance_stage(acting_user=sam, deal=qualifying_deal, to="discovery",
                      override_reason="Looks fine to me")

    assert counts() == before
    assert reload(qualifying_deal).stage == "qualification"


def test_ops_cannot_override(org: Any, qualifying_deal: Deal) -> None:
    with pytest.raises(NotAllowed):
        advance_stage(acting_user=org.olivia, deal=qualifying_deal, to="discovery",
                      override_reason="Ops says so")


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_empty_reason_does_not_count_as_an_override(org: Any, qualifying_deal: Deal,
                                                     reason: str) -> None:
    with pytest.raises(GateRefused):
        advance_stage(acting_user=org.mona, deal=qualifying_deal, to="discovery",
                      override_reason=reason)

    assert reload(qualifying_deal).stage == "qualification"


def test_reason_given_for_a_gate_that_passes_is_not_recorded_as_an_override(
        org: Any, qualifying_deal: Deal) -> None:
    satisfy_qualification(qualifying_deal, org.alice)

    advance_stage(acting_user=org.mona, deal=qualifying_deal, to="discovery",
                  override_reason="Just in case")

    row = StageHistory.objects.filter(deal=qualifying_deal).last()
    assert row is not None
    assert row.kind == "advance"
    assert row.override_reason == ""


def test_process_can_forbid_overrides_even_for_managers(org: Any,
                                                        qualifying_deal: Deal) -> None:
    apply_process(with_setting("override", "nobody"), acting_user=org.olivia)

    with pytest.raises(NotAllowed) as refused:
        advance_stage(acting_user=org.mona, deal=qualifying_deal, to="discovery",
                      override_reason="Please")

    assert "does not allow" in refused.value.message
