"""Advancing through the process: enforce gates refuse with the unmet list, warn gates record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.crm.services import create_contact
from dealcraft.deals.models import Deal, StageHistory
from dealcraft.deals.services import (
    advance_stage,
    answer_qualification,
    name_stakeholder,
    preview_move,
    record_evidence,
    set_next_step,
)
from dealcraft.errors import Conflict, GateRefused, InvalidInput, NotAllowed
from dealcraft.processes.services import active_process

from .conftest import MEDDICC, counts, reload, satisfy_qualification

QUALIFICATION_GATE = {"problem_confirmed", "business_impact_discussed", "next_meeting_booked",
                      "relevant_stakeholder", "meddicc_score"}


def _blocking(refused: pytest.ExceptionInfo[GateRefused]) -> set[str]:
    return {u.key for u in refused.value.transition.blocking}


def test_rep_cannot_advance_qualification_without_evidence(org: Any,
                                                           qualifying_deal: Deal) -> None:
    with pytest.raises(GateRefused) as refused:
        advance_stage(acting_user=org.alice, deal=qualifying_deal, to="discovery")

    assert _blocking(refused) == QUALIFICATION_GATE
    assert "5 exit criteria are not met" in refused.value.message
    assert reload(qualifying_deal).stage == "qualification"


def test_rep_advances_qualification_once_every_criterion_is_evidenced(
        org: Any, qualifying_deal: Deal) -> None:
    version, _ = active_process()
    satisfy_qualification(qualifying_deal, org.alice)

    deal = advance_stage(acting_user=org.alice, deal=qualifying_deal, to="discovery")

    stored = reload(deal)
    assert (stored.stage, stored.probability, stored.forecast_category) == (
        "discovery", 20, "pipeline")
    row = StageHistory.objects.filter(deal=deal).last()
    assert row is not None
    assert (row.kind, row.from_stage, row.to_stage) == ("advance", "qualification", "discovery")
    assert row.by == org.alice
    assert row.override_reason == ""
    (gate,) = row.gate_result["gates"]
    assert gate["stage"] == "qualification"
    assert set(gate["met"]) == QUALIFICATION_GATE
    assert gate["unmet"] == []
    assert row.gate_result["blocking"] == []
    assert row.process_version == version
    assert row.process_version.number == 1


def test_each_piece_of_evidence_takes_its_criterion_off_the_unmet_list(
        org: Any, qualifying_deal: Deal) -> None:
    deal = qualifying_deal
    unmet = {u.key for u in preview_move(reload(deal), "discovery").blocking}
    assert unmet == QUALIFICATION_GATE

    for criterion in ("problem_confirmed", "business_impact_discussed"):
        record_evidence(acting_user=org.alice, deal=deal, criterion=criterion,
                        text="Confirmed on the call")
    unmet = {u.key for u in preview_move(reload(deal), "discovery").blocking}
    assert unmet == {"next_meeting_booked", "relevant_stakeholder", "meddicc_score"}

    champion = create_contact(acting_user=org.alice, account=None, first_name="Chris",
                              last_name="Champion")
    name_stakeholder(acting_user=org.alice, deal=deal, contact=champion, role="champion")
    unmet = {u.key for u in preview_move(reload(deal), "discovery").blocking}
    assert unmet == {"next_meeting_booked", "meddicc_score"}

    set_next_step(acting_user=org.alice, deal=deal, text="Workshop",
                  due=timezone.localdate() + timedelta(days=10), buyer_confirmed=True)
    unmet = {u.key for u in preview_move(reload(deal), "discovery").blocking}
    assert unmet == {"meddicc_score"}

    for criterion in MEDDICC:
        answer_qualification(acting_user=org.alice, deal=deal, framework="meddicc",
                             criterion=criterion, level=2)
    assert preview_move(reload(deal), "discovery").allowed


def test_next_step_not_confirmed_by_the_buyer_does_not_count(org: Any,
                                                              qualifying_deal: Deal) -> None:
    satisfy_qualification(qualifying_deal, org.alice)
    set_next_step(acting_user=org.alice, deal=qualifying_deal, text="We'll call them",
                  due=timezone.localdate() + timedelta(days=3), buyer_confirmed=False)

    with pytest.raises(GateRefused) as refused:
        advance_stage(acting_user=org.alice, deal=qualifying_deal, to="discovery")

    assert _blocking(refused) == {"next_meeting_booked"}


def test_next_step_beyond_fourteen_days_does_not_count(org: Any,
                                                        qualifying_deal: Deal) -> None:
    satisfy_qualification(qualifying_deal, org.alice)
    set_next_step(acting_user=org.alice, deal=qualifying_deal, text="Quarterly check-in",
                  due=timezone.localdate() + timedelta(days=15), buyer_confirmed=True)

    with pytest.raises(GateRefused) as refused:
        advance_stage(acting_user=org.alice, deal=qualifying_deal, to="discovery")

    assert _blocking(refused) == {"next_meeting_booked"}


def test_meddicc_score_below_the_threshold_blocks(org: Any, qualifying_deal: Deal) -> None:
    satisfy_qualification(qualifying_deal, org.alice, meddicc_level=1)

    with pytest.raises(GateRefused) as refused:
        advance_stage(acting_user=org.alice, deal=qualifying_deal, to="discovery")

    assert _blocking(refused) == {"meddicc_score"}
    (unmet,) = refused.value.transition.blocking
    assert "33.3" in unmet.message


def test_refused_advance_writes_no_history_and_no_audit(org: Any,
                                                        qualifying_deal: Deal) -> None:
    before = counts()

    with pytest.raises(GateRefused):
        advance_stage(acting_user=org.alice, deal=qualifying_deal, to="discovery")

    assert counts() == before
    assert reload(qualifying_deal).version == qualifying_deal.version


def test_warn_gate_lets_the_move_through_and_records_the_warnings(org: Any,
                                                                  make_deal: Any) -> None:
    deal = make_deal()

    moved = advance_stage(acting_user=org.alice, deal=deal, to="qualification")

    assert reload(moved).stage == "qualification"
    row = StageHistory.objects.filter(deal=deal).last()
    assert row is not None
    assert row.kind == "advance"
    assert row.override_reason == ""
    warned = {w["key"] for w in row.gate_result["warnings"]}
    assert warned == {"account_set", "contact_named", "conversation_started",
                      "next_step_scheduled"}
    assert row.gate_result["blocking"] == []
    assert row.gate_result["gates"][0]["mode"] == "warn"
    event = AuditEvent.objects.get(action="deal.advance")
    assert set(event.changes["warnings"]) == warned


def test_advancing_to_an_unknown_stage_is_invalid_input(org: Any, make_deal: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        advance_stage(acting_user=org.alice, deal=make_deal(), to="celebration")

    assert refused.value.field == "to"


def test_advancing_with_a_stale_version_is_a_conflict(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    advance_stage(acting_user=org.alice, deal=deal, to="qualification", version=1)

    with pytest.raises(Conflict) as conflict:
        advance_stage(acting_user=org.alice, deal=deal, to="qualification", version=1)

    assert conflict.value.current.version == 2
    assert conflict.value.current.stage == "qualification"


def test_other_teams_rep_cannot_advance_norths_deal(org: Any, make_deal: Any) -> None:
    deal = make_deal()

    with pytest.raises(NotAllowed):
        advance_stage(acting_user=org.charlie, deal=deal, to="qualification")

    assert reload(deal).stage == "prospecting"


def test_viewer_cannot_advance_a_deal(org: Any, make_deal: Any) -> None:
    with pytest.raises(NotAllowed):
        advance_stage(acting_user=org.vera, deal=make_deal(), to="qualification")
