"""Stage gates: which exit criteria a deal meets, what it must still do, and which moves the
process allows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dealcraft.domain.gates import (
    DealFacts,
    UnknownStage,
    check_transition,
    evaluate_gate,
    unmet_reason,
)
from dealcraft.domain.process import Criterion, Process

from .builders import criterion, process, stage

TODAY = date(2024, 6, 3)
NOON = datetime(2024, 6, 3, 12, tzinfo=UTC)


def facts(**kwargs: Any) -> DealFacts:
    return DealFacts(today=TODAY, **kwargs)


def single(c: Criterion) -> Process:
    return process(stage("only", c))


def reason(c: Criterion, **kwargs: Any) -> str | None:
    """What the rep is told about criterion `c` for a deal with these facts (None: met)."""
    return unmet_reason(single(c), c, facts(**kwargs))


# ---------------------------------------------------------------------------- field_set

AMOUNT_SET = criterion("amount_set", "field_set", field="amount")


@pytest.mark.parametrize("value", ["48000.00", Decimal("0"), 0, date(2024, 1, 1), True, "x"])
def test_field_set_is_met_by_any_value(value: object) -> None:
    assert reason(AMOUNT_SET, fields={"amount": value}) is None


@pytest.mark.parametrize("value", [None, "", "   ", []])
def test_field_set_is_unmet_by_missing_or_blank_values(value: object) -> None:
    assert reason(AMOUNT_SET, fields={"amount": value}) == "Set amount."
    assert reason(AMOUNT_SET) == "Set amount."


def test_field_set_names_a_custom_field_by_its_label() -> None:
    go_live = criterion("go_live_set", "field_set", field="go_live")
    assert reason(go_live) == "Set Go-live date."


# ---------------------------------------------------------------------------- field_compare


def compared(field: str, op: str, value: object) -> Criterion:
    return criterion(f"{field}_{op}", "field_compare", field=field, op=op, value=value)


@pytest.mark.parametrize(("op", "value", "amount", "met"), [
    ("gte", 50000, Decimal("50000.00"), True),
    ("gte", 50000, Decimal("49999.99"), False),
    ("gt", 50000, Decimal("50000"), False),
    ("gt", 50000, "50000.01", True),
    ("lt", 10.5, 10, True),
    ("lte", 10.5, Decimal("10.51"), False),
    ("eq", 100, "100.00", True),
    ("ne", 100, 100, False),
    ("in", (100, 200), Decimal("200.0"), True),
    ("in", (100, 200), 300, False),
])
def test_number_comparisons_work_on_decimals_ints_and_decimal_text(
    op: str, value: object, amount: object, met: bool,
) -> None:
    assert (reason(compared("amount", op, value), fields={"amount": amount}) is None) is met


def test_an_unmet_number_comparison_says_what_is_needed_and_what_is_there() -> None:
    c = compared("amount", "gte", 50000)
    assert reason(c, fields={"amount": Decimal("48000.00")}) == (
        "amount must be at least 50000 (now 48000.00).")
    assert reason(c) == "amount must be at least 50000 (now not set)."


@pytest.mark.parametrize("garbage", ["lots", True, [1], {"a": 1}, "NaN", float("nan"), "sNaN"])
def test_a_number_field_holding_garbage_is_unmet_not_an_error(garbage: object) -> None:
    assert reason(compared("seats", "gte", 1), fields={"seats": garbage}) is not None


@pytest.mark.parametrize(("stored", "met"), [
    (date(2024, 6, 30), True),
    ("2024-06-30", True),
    (datetime(2024, 6, 30, 23, 59, tzinfo=UTC), True),
    (date(2024, 7, 1), False),
    ("2024-07-01", False),
    ("next week", False),
])
def test_date_comparisons_accept_dates_datetimes_and_iso_text(stored: object, met: bool) -> None:
    c = compared("expected_close", "lte", date(2024, 6, 30))
    assert (reason(c, fields={"expected_close": stored}) is None) is met


def test_an_unmet_date_comparison_shows_both_dates_in_iso_form() -> None:
    c = compared("go_live", "lt", date(2024, 9, 1))
    assert reason(c, fields={"go_live": date(2024, 9, 1)}) == (
        "Go-live date must be less than 2024-09-01 (now 2024-09-01).")


@pytest.mark.parametrize(("op", "value", "segment", "met"), [
    ("gte", "mid_market", "enterprise", True),
    ("gte", "mid_market", "mid_market", True),
    ("gte", "mid_market", "smb", False),
    ("gt", "smb", "mid_market", True),
    ("lt", "enterprise", "enterprise", False),
    ("lte", "mid_market", "smb", True),
    ("eq", "smb", "smb", True),
    ("ne", "smb", "smb", False),
    ("in", ("mid_market", "enterprise"), "enterprise", True),
    ("in", ("mid_market", "enterprise"), "smb", False),
    ("gte", "smb", "galactic", False),
])
def test_choice_comparisons_follow_the_order_of_the_choices(
    op: str, value: object, segment: str, met: bool,
) -> None:
    assert (reason(compared("segment", op, value), fields={"segment": segment}) is None) is met


def test_forecast_category_is_ordered_from_pipeline_to_closed() -> None:
    c = compared("forecast_category", "gte", "best_case")
    assert reason(c, fields={"forecast_category": "commit"}) is None
    assert reason(c, fields={"forecast_category": "pipeline"}) == (
        "forecast category must be at least best_case (now pipeline).")


def test_an_unmet_in_comparison_lists_the_allowed_values() -> None:
    c = compared("segment", "in", ("mid_market", "enterprise"))
    assert reason(c, fields={"segment": "smb"}) == (
        "Segment must be one of mid_market, enterprise (now smb).")


def test_an_equality_reads_without_an_operator_word() -> None:
    c = compared("summary", "eq", "Renewal")
    assert reason(c, fields={"summary": "New logo"}) == "Summary must be Renewal (now New logo)."
    assert reason(c, fields={"summary": "Renewal"}) is None
    assert reason(compared("summary", "ne", "Renewal"), fields={"summary": "Renewal"}) == (
        "Summary must be other than Renewal (now Renewal).")


@pytest.mark.parametrize(("op", "value", "stored", "met"), [
    ("eq", True, True, True),
    ("eq", True, False, False),
    ("ne", True, False, True),
    ("eq", False, False, True),
    ("eq", True, "true", False),
    ("eq", True, 1, False),
])
def test_bool_comparisons_accept_only_true_and_false(
    op: str, value: bool, stored: object, met: bool,
) -> None:
    assert (reason(compared("signed", op, value), fields={"signed": stored}) is None) is met


def test_an_unmet_bool_comparison_reads_like_the_process_file() -> None:
    assert reason(compared("signed", "eq", True), fields={"signed": False}) == (
        "Signed must be true (now false).")


FIELD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.decimals(), st.text(max_size=12),
    st.dates(), st.datetimes(), st.sampled_from(["smb", "enterprise", "2024-06-03", "NaN"]),
    st.lists(st.integers(), max_size=2),
)
EVERY_COMPARISON = [
    compared(field, op, value)
    for field, values in [("seats", (10, 2.5)), ("amount", (50000,)), ("summary", ("x",)),
                          ("go_live", (TODAY,)), ("expected_close", (TODAY,)),
                          ("segment", ("mid_market",)), ("forecast_category", ("commit",)),
                          ("signed", (True,))]
    for value in values
    for op in ("eq", "ne", "gt", "gte", "lt", "lte", "in")
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EVERY_COMPARISON), FIELD_VALUES)
def test_a_comparison_gives_a_verdict_whatever_the_field_holds(c: Criterion, stored: Any) -> None:
    if c.op == "in":
        c = replace(c, value=(c.value, c.value))
    verdict = reason(c, fields={c.field: stored})
    assert verdict is None or (" must be " in verdict and verdict.endswith(")."))


# ---------------------------------------------------------------------------- checklist

VALUE_CONFIRMED = criterion("value_confirmed", "checklist")


def test_a_checklist_item_is_met_only_by_evidence_against_its_own_key() -> None:
    assert reason(VALUE_CONFIRMED, evidence=frozenset({"value_confirmed"})) is None
    assert reason(VALUE_CONFIRMED, evidence=frozenset({"pain_points_identified"})) == (
        "Confirm with evidence (a note, a link or a file).")
    assert reason(VALUE_CONFIRMED) == "Confirm with evidence (a note, a link or a file)."


# ---------------------------------------------------------------------------- stakeholder


def test_a_stakeholder_criterion_counts_any_of_its_roles() -> None:
    c = criterion("buyers", "stakeholder", roles=("champion", "economic_buyer"), count=2)
    assert reason(c, stakeholder_roles={"champion": 1, "economic_buyer": 1}) is None
    assert reason(c, stakeholder_roles={"champion": 2}) is None
    assert reason(c, stakeholder_roles={"champion": 1, "legal": 5}) == (
        "Name 1 more stakeholder(s) as Champion or Economic buyer.")
    assert reason(c) == "Name 2 more stakeholder(s) as Champion or Economic buyer."


def test_a_stakeholder_role_the_process_does_not_name_is_shown_by_its_key() -> None:
    c = criterion("counsel", "stakeholder", roles=("legal",))
    assert reason(c) == "Name 1 more stakeholder(s) as legal."


# ---------------------------------------------------------------------------- qualification


BANT_60 = criterion("bant_score", "qualification_score", framework="bant", min=60)


def test_a_qualification_score_at_the_threshold_is_met() -> None:
    # 3 + 3 + 2 + 0 of 12 levels, equally weighted: 66.7
    answers = {"bant": {"budget": 3, "authority": 3, "need": 2}}
    assert reason(BANT_60, qualification=answers) is None
    exactly = criterion("bant_50", "qualification_score", framework="bant", min=50)
    assert reason(exactly, qualification={"bant": {"budget": 3, "authority": 3}}) is None


def test_a_qualification_score_below_the_threshold_says_the_score() -> None:
    answers = {"bant": {"budget": 3, "authority": 1}}
    assert reason(BANT_60, qualification=answers) == "BANT score is 33.3; it must reach 60."
    assert reason(BANT_60) == "BANT score is 0; it must reach 60."


def test_answers_to_another_framework_do_not_count() -> None:
    answers = {"meddicc": {"budget": 3, "authority": 3, "need": 3, "timeline": 3}}
    assert reason(BANT_60, qualification=answers) == "BANT score is 0; it must reach 60."


def test_a_framework_missing_from_the_process_is_unmet_with_its_name() -> None:
    c = criterion("meddicc_score", "qualification_score", framework="meddicc", min=1)
    assert reason(c) == "Framework 'meddicc' is not in this process."


# ---------------------------------------------------------------------------- next_step

NEXT_14 = criterion("next_meeting", "next_step", within_days=14)
CONFIRMED_14 = criterion("confirmed_meeting", "next_step", within_days=14, buyer_confirmed=True)


def test_a_next_step_from_today_to_the_last_day_of_the_window_is_met() -> None:
    assert reason(NEXT_14, next_step_due=TODAY) is None
    assert reason(NEXT_14, next_step_due=TODAY + timedelta(days=14)) is None


def test_a_missing_next_step_asks_for_one() -> None:
    assert reason(NEXT_14) == "Set a next step dated within 14 days."


def test_an_overdue_next_step_asks_for_a_new_date() -> None:
    assert reason(NEXT_14, next_step_due=TODAY - timedelta(days=1)) == (
        "The next step was due 2024-06-02; date a new one.")


def test_a_next_step_beyond_the_window_is_too_far() -> None:
    assert reason(NEXT_14, next_step_due=TODAY + timedelta(days=15)) == (
        "The next step (2024-06-18) is more than 14 days away.")


def test_a_buyer_confirmed_next_step_needs_the_buyers_confirmation() -> None:
    soon = TODAY + timedelta(days=3)
    assert reason(CONFIRMED_14, next_step_due=soon) == "The buyer has not confirmed the next step."
    assert reason(CONFIRMED_14, next_step_due=soon, next_step_buyer_confirmed=True) is None
    # Confirmation does not rescue a step that is overdue.
    assert reason(CONFIRMED_14, next_step_due=TODAY - timedelta(days=1),
                  next_step_buyer_confirmed=True) is not None


def test_an_unconfirmed_next_step_is_fine_when_confirmation_is_not_asked() -> None:
    assert reason(NEXT_14, next_step_due=TODAY + timedelta(days=1),
                  next_step_buyer_confirmed=False) is None


# ---------------------------------------------------------------------------- activity


def done(kind: str, days_ago: float) -> tuple[str, datetime]:
    return kind, NOON - timedelta(days=days_ago)


def test_an_activity_criterion_counts_activities_of_its_kinds() -> None:
    c = criterion("two_calls", "activity", activities=("call",), count=2)
    assert reason(c, activities_done=(done("call", 3), done("call", 1))) is None
    assert reason(c, activities_done=(done("call", 3), done("email", 1))) == (
        "Log 1 more call activity.")
    assert reason(c) == "Log 2 more call activities."


def test_an_activity_criterion_may_accept_several_kinds() -> None:
    c = criterion("conversation", "activity", activities=("call", "meeting"))
    assert reason(c, activities_done=(done("meeting", 1),)) is None
    assert reason(c, activities_done=(done("note", 1),)) == (
        "Log 1 more call or meeting activity.")


def test_since_stage_counts_only_activities_after_the_deal_entered_that_stage() -> None:
    c = criterion("discovery_meeting", "activity", activities=("meeting",),
                  since_stage="discovery")
    entered = {"discovery": NOON - timedelta(days=5)}
    assert reason(c, activities_done=(done("meeting", 6),), stage_entered=entered) == (
        "Log 1 more meeting activity since entering discovery.")
    assert reason(c, activities_done=(done("meeting", 5),), stage_entered=entered) is None
    assert reason(c, activities_done=(done("meeting", 6), done("meeting", 2)),
                  stage_entered=entered) is None


def test_since_stage_is_unmet_while_the_deal_never_entered_that_stage() -> None:
    c = criterion("discovery_meeting", "activity", activities=("meeting",),
                  since_stage="discovery")
    assert reason(c, activities_done=(done("meeting", 1),)) == (
        "Log a meeting after entering discovery.")


# ---------------------------------------------------------------------------- approval, milestone


def test_an_approval_is_unmet_until_granted() -> None:
    c = criterion("discount_ok", "approval", approval="discount")
    assert reason(c) == "Approval 'discount' has not been granted."
    assert reason(c, approvals=frozenset({"legal"})) == "Approval 'discount' has not been granted."
    assert reason(c, approvals=frozenset({"discount"})) is None


def test_a_buyer_milestone_is_unmet_until_the_buyer_marks_it_done() -> None:
    c = criterion("security_review", "buyer_milestone", milestone="security_review")
    assert reason(c) == "The buyer has not marked 'security_review' done."
    assert reason(c, milestones_done=frozenset({"security_review"})) is None


def test_an_unknown_criterion_kind_is_never_met() -> None:
    assert reason(criterion("mystery", "horoscope")) == "Unknown criterion kind 'horoscope'."


# ---------------------------------------------------------------------------- a whole gate


def test_a_gate_lists_met_and_unmet_criteria_in_file_order() -> None:
    p = process(stage("qualify", AMOUNT_SET, VALUE_CONFIRMED, NEXT_14, gate="warn"))
    result = evaluate_gate(p, "qualify", facts(fields={"amount": 1},
                                              next_step_due=TODAY + timedelta(days=1)))
    assert result.stage == "qualify"
    assert result.mode == "warn"
    assert result.met == ("amount_set", "next_meeting")
    assert [u.key for u in result.unmet] == ["value_confirmed"]
    assert result.unmet[0].stage == "qualify"
    assert result.unmet[0].label == "value confirmed"
    assert not result.passed
    assert result.total == 3
    assert result.as_dict() == {
        "stage": "qualify", "mode": "warn", "met": ["amount_set", "next_meeting"],
        "unmet": [{"key": "value_confirmed", "label": "value confirmed",
                   "message": "Confirm with evidence (a note, a link or a file).",
                   "stage": "qualify"}],
    }


def test_a_gate_without_criteria_passes() -> None:
    result = evaluate_gate(process(stage("open")), "open", facts())
    assert result.passed and result.total == 0


def test_the_won_gate_holds_the_won_criteria_and_mode() -> None:
    p = process(stage("last"), won=(VALUE_CONFIRMED,), won_gate="warn")
    result = evaluate_gate(p, "won", facts())
    assert (result.stage, result.mode, [u.key for u in result.unmet]) == (
        "won", "warn", ["value_confirmed"])


# ---------------------------------------------------------------------------- transitions

A = criterion("a_done", "checklist")
B = criterion("b_done", "checklist")
C = criterion("c_done", "checklist")
D = criterion("d_done", "checklist")
HANDOFF = criterion("handoff", "checklist")


def pipeline(**kwargs: Any) -> Process:
    """Four enforced stages a → b → c → d, each with one checklist item, and a handoff to win."""
    return process(stage("a", A), stage("b", B), stage("c", C), stage("d", D),
                   won=(HANDOFF,), **kwargs)


def with_evidence(*keys: str) -> DealFacts:
    return facts(evidence=frozenset(keys))


def keys(unmet: tuple[Any, ...]) -> list[str]:
    return [u.key for u in unmet]


def test_moving_forward_is_blocked_by_the_current_stages_unmet_criteria() -> None:
    move = check_transition(pipeline(), "a", "b", facts())
    assert move.direction == "forward"
    assert not move.allowed
    assert keys(move.blocking) == ["a_done"]
    assert move.blocking[0].message == "Confirm with evidence (a note, a link or a file)."
    assert [g.stage for g in move.gates] == ["a"]


def test_moving_forward_is_allowed_once_the_gate_passes() -> None:
    move = check_transition(pipeline(), "a", "b", with_evidence("a_done"))
    assert move.allowed
    assert move.warnings == ()
    assert not move.needs_reason


def test_a_warn_gate_lets_the_deal_through_and_records_the_unmet_criteria() -> None:
    p = process(stage("a", A, gate="warn"), stage("b", B))
    move = check_transition(p, "a", "b", facts())
    assert move.allowed
    assert keys(move.warnings) == ["a_done"]
    assert move.blocking == ()


def test_only_the_stage_being_left_is_gated_not_the_one_entered() -> None:
    move = check_transition(pipeline(), "b", "c", with_evidence("b_done"))
    assert move.allowed
    assert [g.stage for g in move.gates] == ["b"]


def test_skipping_under_gates_evaluates_every_skipped_stage() -> None:
    move = check_transition(pipeline(skip="gates"), "a", "d", with_evidence("a_done", "c_done"))
    assert move.direction == "skip"
    assert [g.stage for g in move.gates] == ["a", "b", "c"]
    assert keys(move.blocking) == ["b_done"]
    passed = check_transition(pipeline(skip="gates"), "a", "d",
                              with_evidence("a_done", "b_done", "c_done"))
    assert passed.allowed


def test_skipping_under_allow_needs_only_the_current_gate() -> None:
    move = check_transition(pipeline(skip="allow"), "a", "d", with_evidence("a_done"))
    assert move.direction == "skip"
    assert move.allowed
    assert [g.stage for g in move.gates] == ["a"]


def test_skipping_under_forbid_is_refused_even_when_every_gate_passes() -> None:
    move = check_transition(pipeline(skip="forbid"), "a", "c",
                            with_evidence("a_done", "b_done", "c_done"))
    assert move.direction == "skip"
    assert keys(move.blocking) == ["rule:skip"]
    assert move.blocking[0].message == "This process does not allow skipping stages."


def test_skipping_under_forbid_reports_the_rule_before_unmet_criteria() -> None:
    move = check_transition(pipeline(skip="forbid"), "a", "c", facts())
    assert keys(move.blocking) == ["rule:skip", "a_done"]


@pytest.mark.parametrize(("rule", "allowed", "needs_reason"), [
    ("allow", True, False),
    ("reason", True, True),
    ("forbid", False, False),
])
def test_moving_back_follows_the_backward_rule(rule: str, allowed: bool,
                                              needs_reason: bool) -> None:
    move = check_transition(pipeline(backward=rule), "c", "a", facts())
    assert move.direction == "backward"
    assert move.allowed is allowed
    assert move.needs_reason is needs_reason
    assert move.gates == ()


def test_a_forbidden_move_back_says_why() -> None:
    move = check_transition(pipeline(backward="forbid"), "b", "a", facts())
    assert keys(move.blocking) == ["rule:backward"]
    assert move.blocking[0].message == (
        "This process does not allow moving a deal back to an earlier stage.")


def test_next_restricts_where_a_deal_may_go_from_a_stage() -> None:
    p = process(stage("a", A, next=("c",)), stage("b", B), stage("c", C))
    refused = check_transition(p, "a", "b", with_evidence("a_done"))
    assert keys(refused.blocking) == ["rule:next"]
    assert refused.blocking[0].message == "From A a deal may move to c."
    branch = check_transition(p, "a", "c", with_evidence("a_done"))
    assert branch.allowed
    assert branch.direction == "forward"
    assert [g.stage for g in branch.gates] == ["a"]


def test_next_is_not_loosened_by_an_allow_skip_rule() -> None:
    p = replace(process(stage("a", A, next=("b",)), stage("b", B), stage("c", C)),
                settings=pipeline(skip="allow").settings)
    assert keys(check_transition(p, "a", "c", with_evidence("a_done")).blocking) == ["rule:next"]


def test_winning_from_the_last_stage_evaluates_its_gate_and_the_won_criteria() -> None:
    move = check_transition(pipeline(), "d", "won", with_evidence("d_done"))
    assert move.direction == "won"
    assert [g.stage for g in move.gates] == ["d", "won"]
    assert keys(move.blocking) == ["handoff"]
    assert check_transition(pipeline(), "d", "won", with_evidence("d_done", "handoff")).allowed


def test_winning_early_under_gates_evaluates_every_remaining_stage() -> None:
    move = check_transition(pipeline(), "b", "won", with_evidence("b_done", "handoff"))
    assert move.direction == "won"
    assert [g.stage for g in move.gates] == ["b", "c", "d", "won"]
    assert keys(move.blocking) == ["c_done", "d_done"]


def test_winning_early_under_forbid_is_refused() -> None:
    move = check_transition(pipeline(skip="forbid"), "c", "won",
                            with_evidence("c_done", "d_done", "handoff"))
    assert keys(move.blocking) == ["rule:skip"]


def test_a_warn_won_gate_records_a_missing_handoff_without_blocking() -> None:
    p = process(stage("a", A), won=(HANDOFF,), won_gate="warn")
    move = check_transition(p, "a", "won", with_evidence("a_done"))
    assert move.allowed
    assert keys(move.warnings) == ["handoff"]


@pytest.mark.parametrize("target", ["e", "lost", "", "A"])
def test_a_target_that_is_not_a_stage_is_refused(target: str) -> None:
    with pytest.raises(UnknownStage, match="is not a stage of this process"):
        check_transition(pipeline(), "a", target, facts())


def test_moving_to_the_current_stage_is_refused() -> None:
    with pytest.raises(UnknownStage, match="already in 'b'"):
        check_transition(pipeline(), "b", "b", facts())


def test_a_deal_in_a_stage_a_new_version_dropped_may_move_to_any_stage() -> None:
    move = check_transition(pipeline(), "legacy", "c", facts())
    assert (move.direction, move.allowed, move.gates) == ("forward", True, ())
    won = check_transition(pipeline(), "legacy", "won", facts())
    assert won.direction == "won"
    assert keys(won.blocking) == ["handoff"]


def test_a_transition_serialises_for_the_api() -> None:
    data = check_transition(pipeline(), "a", "b", facts()).as_dict()
    assert data["from"] == "a" and data["to"] == "b" and data["direction"] == "forward"
    assert [u["key"] for u in data["blocking"]] == ["a_done"]
    assert data["warnings"] == []
    assert data["gates"][0]["stage"] == "a"
