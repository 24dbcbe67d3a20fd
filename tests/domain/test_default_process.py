"""The process file dealcraft ships encodes the eight steps of the sales process."""

from __future__ import annotations

from importlib.resources import files

import pytest

from dealcraft.domain.process import Criterion, Process, parse_process
from dealcraft.domain.scoring import framework_score


def default_source() -> str:
    return files("dealcraft.processes").joinpath("default_process.yaml").read_text("utf-8")


@pytest.fixture(scope="module")
def default() -> Process:
    process, problems = parse_process(default_source())
    assert problems == []
    assert process is not None
    return process


def exits(process: Process, stage: str) -> dict[str, Criterion]:
    return {c.key: c for c in process.stage(stage).exit_criteria}


def test_the_shipped_file_validates_without_a_single_problem() -> None:
    process, problems = parse_process(default_source())
    assert problems == []
    assert process is not None


def test_pipeline_stages_are_the_six_of_the_sales_process_in_order(default: Process) -> None:
    assert default.stage_keys == (
        "prospecting", "qualification", "discovery", "solution", "proposal", "negotiation",
    )


def test_every_stage_says_why_it_exists_and_what_good_looks_like(default: Process) -> None:
    for stage in default.stages:
        assert stage.purpose.strip(), stage.key
        assert stage.guidance, stage.key
        assert stage.exit_criteria, stage.key


def test_probabilities_rise_through_the_pipeline(default: Process) -> None:
    probabilities = [s.probability for s in default.stages]
    assert probabilities == sorted(probabilities)
    assert len(set(probabilities)) == len(probabilities)


def test_qualification_exits_on_problem_impact_confirmed_meeting_and_stakeholder(
    default: Process,
) -> None:
    criteria = exits(default, "qualification")
    assert criteria["problem_confirmed"].kind == "checklist"
    assert criteria["business_impact_discussed"].kind == "checklist"
    meeting = criteria["next_meeting_booked"]
    assert meeting.kind == "next_step"
    assert meeting.buyer_confirmed is True
    stakeholder = criteria["relevant_stakeholder"]
    assert stakeholder.kind == "stakeholder"
    assert {"economic_buyer", "decision_maker", "champion"} <= set(stakeholder.roles)
    assert default.stage("qualification").gate == "enforce"


def test_qualification_scores_meddicc_against_the_process_threshold(default: Process) -> None:
    assert default.qualification_framework == "meddicc"
    assert 0 < default.qualification_threshold <= 100
    score = [c for c in default.stage("qualification").exit_criteria
             if c.kind == "qualification_score"]
    assert [(c.framework, c.min) for c in score] == [
        ("meddicc", default.qualification_threshold)]


def test_discovery_exits_on_pain_points_success_criteria_and_economic_buyer(
    default: Process,
) -> None:
    criteria = exits(default, "discovery")
    assert criteria["pain_points_identified"].kind == "checklist"
    success = criteria["success_criteria_set"]
    assert (success.kind, success.field) == ("field_set", "success_criteria")
    assert default.custom_field("success_criteria") is not None
    buyer = criteria["economic_buyer_named"]
    assert (buyer.kind, buyer.roles) == ("stakeholder", ("economic_buyer",))


def test_solution_exits_on_the_value_confirmation_checkpoint(default: Process) -> None:
    value = exits(default, "solution")["value_confirmed"]
    assert value.kind == "checklist"
    assert "does this solve the priority issues" in value.prompt


def test_proposal_exits_when_the_buyer_reviewed_it_and_next_steps_are_mutual_and_dated(
    default: Process,
) -> None:
    criteria = exits(default, "proposal")
    assert criteria["buyer_reviewed_proposal"].kind == "checklist"
    assert criteria["mutual_next_steps"].kind == "checklist"
    dated = [c for c in criteria.values() if c.kind == "next_step"]
    assert dated and all(c.buyer_confirmed for c in dated)


def test_negotiation_exits_on_legal_review_procurement_ticket_and_signature_date(
    default: Process,
) -> None:
    criteria = exits(default, "negotiation")
    assert criteria["legal_review_started"].kind == "checklist"
    ticket = criteria["procurement_ticket_submitted"]
    assert (ticket.kind, ticket.field) == ("field_set", "procurement_ticket")
    signature = criteria["signature_date_targeted"]
    assert (signature.kind, signature.field) == ("field_set", "signature_date")
    field = default.custom_field("signature_date")
    assert field is not None and field.type == "date"


def test_bant_and_meddicc_ship_with_full_weight_on_every_criterion(default: Process) -> None:
    bant = default.framework("bant")
    meddicc = default.framework("meddicc")
    assert [c.key for c in bant.criteria] == ["budget", "authority", "need", "timeline"]
    assert [c.key for c in meddicc.criteria] == [
        "metrics", "economic_buyer", "decision_criteria", "decision_process", "identify_pain",
        "champion", "competition",
    ]
    for framework in (bant, meddicc):
        assert all(c.weight > 0 and c.prompt for c in framework.criteria)
        assert framework_score(framework, {c.key: 3 for c in framework.criteria}) == 100


def test_discovery_question_bank_covers_all_four_layers_in_order(default: Process) -> None:
    layers = [q["layer"] for q in default.discovery_questions]
    assert set(layers) == {"current_state", "pain", "impact_urgency", "buying_process"}
    first_seen = list(dict.fromkeys(layers))
    assert first_seen == ["current_state", "pain", "impact_urgency", "buying_process"]
    assert any("How are you handling this today" in q["text"]
               for q in default.discovery_questions)


def test_capabilities_name_the_pains_they_answer(default: Process) -> None:
    assert len(default.capabilities) >= 3
    for capability in default.capabilities:
        assert capability["name"]
        assert capability["pains"], capability["key"]


def test_library_holds_icp_objections_and_red_flags(default: Process) -> None:
    library = default.library
    assert library["icp"]["description"]
    assert library["icp"]["fit_rules"]
    categories = {o["category"] for o in library["objections"]}
    assert {"price", "priority", "stakeholders", "implementation", "status_quo"} <= categories
    assert all(o["response"] for o in library["objections"])
    assert library["red_flags"]
    assert library["pricing_guardrails"]


def test_closing_won_requires_the_handoff_packet(default: Process) -> None:
    assert default.won_gate == "enforce"
    handoff = {c.key: c.kind for c in default.won_criteria}
    assert {"handoff_goals", "handoff_stakeholders", "handoff_risks",
            "handoff_promised_outcomes", "handoff_what_sold_and_why"} <= set(handoff)
    assert set(handoff.values()) == {"checklist"}
    assert default.checkins_days == tuple(sorted(default.checkins_days))


def test_loss_reasons_include_no_decision_and_other(default: Process) -> None:
    reasons = dict(default.lost_reasons)
    assert {"no_decision", "other"} <= set(reasons)


def test_the_default_skip_and_backward_rules_protect_the_gates(default: Process) -> None:
    assert default.settings.skip == "gates"
    assert default.settings.backward == "reason"
    assert default.settings.override == "managers"
