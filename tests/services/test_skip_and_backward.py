"""The process file's rules for skipping stages and moving a deal back."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.deals.models import Deal, StageHistory
from dealcraft.deals.services import advance_stage
from dealcraft.errors import GateRefused, InvalidInput
from dealcraft.processes.services import apply_process

from .conftest import counts, reload, satisfy_qualification, with_setting


def test_skipping_to_discovery_evaluates_the_skipped_qualification_gate(
        org: Any, make_deal: Any) -> None:
    deal = make_deal()

    with pytest.raises(GateRefused) as refused:
        advance_stage(acting_user=org.alice, deal=deal, to="discovery")

    transition = refused.value.transition
    assert transition.direction == "skip"
    assert [g.stage for g in transition.gates] == ["prospecting", "qualification"]
    assert {u.stage for u in transition.blocking} == {"qualification"}
    assert {u.stage for u in transition.warnings} == {"prospecting"}
    assert reload(deal).stage == "prospecting"


def test_skip_succeeds_once_the_skipped_gate_is_met(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    satisfy_qualification(deal, org.alice)

    advance_stage(acting_user=org.alice, deal=deal, to="discovery")

    assert reload(deal).stage == "discovery"
    row = StageHistory.objects.filter(deal=deal).last()
    assert row is not None
    assert (row.kind, row.from_stage, row.to_stage) == ("skip", "prospecting", "discovery")
    assert [g["stage"] for g in row.gate_result["gates"]] == ["prospecting", "qualification"]
    assert row.gate_result["direction"] == "skip"


def test_process_that_forbids_skipping_refuses_a_skip(org: Any, make_deal: Any) -> None:
    apply_process(with_setting("skip", "forbid"), acting_user=org.olivia)
    deal = make_deal()
    satisfy_qualification(deal, org.alice)

    with pytest.raises(GateRefused) as refused:
        advance_stage(acting_user=org.alice, deal=deal, to="discovery")

    assert [u.key for u in refused.value.transition.blocking] == ["rule:skip"]


def test_process_that_allows_skipping_ignores_the_skipped_gates(org: Any,
                                                                make_deal: Any) -> None:
    apply_process(with_setting("skip", "allow"), acting_user=org.olivia)
    deal = make_deal()

    advance_stage(acting_user=org.alice, deal=deal, to="negotiation")

    assert reload(deal).stage == "negotiation"
    row = StageHistory.objects.filter(deal=deal).last()
    assert row is not None
    assert row.kind == "skip"
    assert [g["stage"] for g in row.gate_result["gates"]] == ["prospecting"]


def test_moving_back_without_a_reason_is_refused(org: Any, qualifying_deal: Deal) -> None:
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        advance_stage(acting_user=org.alice, deal=qualifying_deal, to="prospecting")

    assert refused.value.field == "reason"
    assert counts() == before
    assert reload(qualifying_deal).stage == "qualification"


def test_moving_back_with_a_reason_records_it(org: Any, qualifying_deal: Deal) -> None:
    advance_stage(acting_user=org.alice, deal=qualifying_deal, to="prospecting",
                  reason="Champion left; starting over with the new VP")

    stored = reload(qualifying_deal)
    assert (stored.stage, stored.probability) == ("prospecting", 5)
    row = StageHistory.objects.filter(deal=qualifying_deal).last()
    assert row is not None
    assert (row.kind, row.from_stage, row.to_stage) == ("backward", "qualification",
                                                        "prospecting")
    assert row.gate_result["reason"] == "Champion left; starting over with the new VP"
    assert row.gate_result["gates"] == []


def test_whitespace_is_not_a_reason_to_move_back(org: Any, qualifying_deal: Deal) -> None:
    with pytest.raises(InvalidInput):
        advance_stage(acting_user=org.alice, deal=qualifying_deal, to="prospecting",
                      reason="   ")


def test_process_that_allows_moving_back_needs_no_reason(org: Any,
                                                         qualifying_deal: Deal) -> None:
    apply_process(with_setting("backward", "allow"), acting_user=org.olivia)

    advance_stage(acting_user=org.alice, deal=qualifying_deal, to="prospecting")

    assert reload(qualifying_deal).stage == "prospecting"


def test_process_that_forbids_moving_back_refuses_it(org: Any, qualifying_deal: Deal) -> None:
    apply_process(with_setting("backward", "forbid"), acting_user=org.olivia)

    with pytest.raises(GateRefused) as refused:
        advance_stage(acting_user=org.alice, deal=qualifying_deal, to="prospecting",
                      reason="Want to redo it")

    assert [u.key for u in refused.value.transition.blocking] == ["rule:backward"]
