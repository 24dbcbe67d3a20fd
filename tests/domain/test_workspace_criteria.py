"""`workspace` criteria: exit criteria met by what the discovery and solution workspaces hold
(research, agenda agreement, answered questions, summary, capability map, demo plan, value
confirmation) — validated with their line, described in one line, and evaluated on facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from textwrap import dedent
from typing import Any

import pytest

from dealcraft.domain.gates import DealFacts, WorkspaceFacts, evaluate_gate, unmet_reason
from dealcraft.domain.process import WORKSPACE_ITEMS, Criterion, Process, parse_process

from .builders import VALID, assert_reported, criterion, edit, line_of, problems, process, stage

TODAY = date(2024, 6, 3)

# VALID with a small question bank (one current-state question, two pain questions) and one
# capability, which `workspace` criteria may refer to.
WITH_BANK = edit("stages:\n", dedent("""\
    discovery:
      questions:
        - key: today
          layer: current_state
          text: How are you handling this today?
        - key: breaking
          layer: pain
          text: What's working, and what's breaking?
          purpose: Separate real pain from curiosity.
        - key: last_time
          layer: pain
          text: When did it last break?
    capabilities:
      - key: reports
        name: Reports
        pains: [No visibility without asking]
    stages:
    """))


def with_workspace_criterion(*lines: str, text: str = WITH_BANK) -> str:
    """`text` with a workspace criterion (`lines` are its kind-specific keys) on stage first."""
    body = "".join(f"        {line}\n" for line in lines)
    return edit("        label: Amount set\n",
                "        label: Amount set\n      - key: ws_check\n        kind: workspace\n"
                f"        label: Workspace check\n{body}", text)


def parsed(text: str) -> Process:
    result, found = parse_process(text)
    assert result is not None, found
    return result


# ---------------------------------------------------------------------------- validation


@pytest.mark.parametrize("item", WORKSPACE_ITEMS)
def test_every_workspace_item_is_accepted(item: str) -> None:
    p = parsed(with_workspace_criterion(f"item: {item}"))

    c = p.criterion("ws_check")
    assert c is not None and (c.kind, c.item, c.layer, c.min) == ("workspace", item, "", 0)


def test_questions_answered_takes_a_layer_and_a_minimum() -> None:
    p = parsed(with_workspace_criterion("item: questions_answered", "layer: pain", "min: 2"))

    c = p.criterion("ws_check")
    assert c is not None and (c.layer, c.min) == ("pain", 2)


def test_an_unknown_item_is_reported_at_its_line() -> None:
    text = with_workspace_criterion("item: research_finished")

    assert_reported(text, line_of(text, "item: research_finished"),
                    "criterion 'ws_check' item is 'research_finished'", "research_done")


def test_a_missing_item_is_reported() -> None:
    text = with_workspace_criterion()

    assert_reported(text, line_of(text, "- key: ws_check"), "missing required key 'item'")


def test_an_unknown_layer_is_reported_at_its_line() -> None:
    text = with_workspace_criterion("item: questions_answered", "layer: budget")

    assert_reported(text, line_of(text, "layer: budget"), "layer is 'budget'",
                    "current_state, pain, impact_urgency, buying_process")


@pytest.mark.parametrize("extra", ["layer: impact_urgency", "min: 1"])
def test_layer_and_min_belong_to_questions_answered_only(extra: str) -> None:
    text = with_workspace_criterion("item: summary_written", extra)

    assert_reported(text, line_of(text, extra), f"'{extra.split(':')[0]}' applies only to item "
                                                "questions_answered")


def test_a_minimum_beyond_the_layer_is_reported() -> None:
    text = with_workspace_criterion("item: questions_answered", "layer: pain", "min: 3")

    assert_reported(text, line_of(text, "min: 3"), "min 3 is more than the 2 question(s) in "
                                                   "layer 'pain'")


def test_a_minimum_beyond_the_whole_bank_is_reported() -> None:
    text = with_workspace_criterion("item: questions_answered", "min: 4")

    assert_reported(text, line_of(text, "min: 4"), "more than the 3 question(s) in the question "
                                                   "bank")


@pytest.mark.parametrize("value", ["0", "1.5", "two"])
def test_a_minimum_must_be_a_positive_whole_number(value: str) -> None:
    text = with_workspace_criterion("item: questions_answered", f"min: {value}")

    assert_reported(text, line_of(text, f"min: {value}"), "criterion 'ws_check' min")


def test_a_layer_without_questions_is_reported() -> None:
    text = with_workspace_criterion("item: questions_answered", "layer: buying_process")

    assert_reported(text, line_of(text, "layer: buying_process"),
                    "no discovery questions in layer 'buying_process'")


def test_counting_answers_needs_a_question_bank() -> None:
    text = with_workspace_criterion("item: questions_answered", text=VALID)

    assert_reported(text, line_of(text, "item: questions_answered"),
                    "the process has no discovery questions at all")


def test_mapping_capabilities_needs_capabilities() -> None:
    text = with_workspace_criterion("item: capabilities_mapped", text=VALID)

    assert_reported(text, line_of(text, "item: capabilities_mapped"),
                    "the process defines no 'capabilities'")


def test_items_that_need_nothing_else_are_accepted_without_a_question_bank() -> None:
    for item in ("research_done", "agenda_agreed", "summary_written", "demo_planned",
                 "value_confirmed"):
        assert problems(with_workspace_criterion(f"item: {item}", text=VALID)) == []


def test_a_workspace_criterion_may_guard_closing_as_won() -> None:
    text = edit("      - key: handoff\n        kind: checklist\n",
                "      - key: handoff\n        kind: workspace\n"
                "        item: value_confirmed\n", WITH_BANK)

    won = parsed(text).won_criteria[0]
    assert (won.kind, won.item) == ("workspace", "value_confirmed")


# ---------------------------------------------------------------------------- describe


@pytest.mark.parametrize(("c", "reads"), [
    (criterion("a", "workspace", item="research_done"), "pre-call research written"),
    (criterion("b", "workspace", item="agenda_agreed"), "agenda agreed by the buyer"),
    (criterion("c", "workspace", item="questions_answered"),
     "every discovery question answered"),
    (criterion("d", "workspace", item="questions_answered", layer="impact_urgency"),
     "every impact urgency discovery question answered"),
    (criterion("e", "workspace", item="questions_answered", layer="pain", min=2),
     "at least 2 pain discovery questions answered"),
    (criterion("f", "workspace", item="summary_written"),
     "discovery summary and next steps written"),
    (criterion("g", "workspace", item="capabilities_mapped"),
     "every recommended capability linked to a confirmed pain"),
    (criterion("h", "workspace", item="demo_planned"), "demo planned and dated"),
    (criterion("i", "workspace", item="value_confirmed"),
     "buyer confirmed the solution solves the priority issues"),
])
def test_every_workspace_item_describes_itself_in_one_line(c: Criterion, reads: str) -> None:
    assert c.describe() == reads


# ---------------------------------------------------------------------------- evaluation

BANK = (
    {"key": "today", "layer": "current_state", "text": "How are you handling this today?"},
    {"key": "breaking", "layer": "pain", "text": "What's breaking?"},
    {"key": "last_time", "layer": "pain", "text": "When did it last break?"},
    {"key": "six_months", "layer": "impact_urgency", "text": "And in six months?"},
)


def reason(item: str, workspace: WorkspaceFacts | None = None, **kwargs: Any) -> str | None:
    """What the rep is told about a workspace criterion for these workspace facts."""
    c = criterion("ws", "workspace", item=item, **kwargs)
    p = replace(process(stage("only", c)), discovery_questions=BANK)
    return unmet_reason(p, c, DealFacts(today=TODAY, workspace=workspace or WorkspaceFacts()))


def test_research_is_done_when_all_four_notes_are_written() -> None:
    assert reason("research_done", WorkspaceFacts(
        research=frozenset({"company", "role", "trigger events", "likely pains"}))) is None
    assert reason("research_done", WorkspaceFacts(research=frozenset({"company", "role"}))) == (
        "Write the pre-call research on: trigger events, likely pains.")
    assert reason("research_done") == (
        "Write the pre-call research on: company, role, trigger events, likely pains.")


def test_the_agenda_counts_only_once_the_buyer_agreed() -> None:
    assert reason("agenda_agreed", WorkspaceFacts(agenda_agreed=True)) is None
    assert reason("agenda_agreed") == "Agree the call's agenda with the buyer and record it."


def test_without_a_minimum_every_question_in_scope_needs_an_answer() -> None:
    three = WorkspaceFacts(answered_questions=frozenset({"today", "breaking", "last_time"}))

    assert reason("questions_answered", three, layer="pain") is None
    assert reason("questions_answered", three) == (
        "Answer 1 more discovery question (3 of 4 answered).")


def test_a_minimum_counts_answers_in_the_layer_only() -> None:
    answered = WorkspaceFacts(answered_questions=frozenset({"today", "six_months", "breaking"}))

    assert reason("questions_answered", answered, layer="pain", min=1) is None
    assert reason("questions_answered", answered, layer="pain", min=2) == (
        "Answer 1 more pain discovery question (1 of 2 answered).")
    assert reason("questions_answered", layer="impact_urgency", min=1) == (
        "Answer 1 more impact urgency discovery question (0 of 1 answered).")


def test_answers_to_questions_the_process_no_longer_asks_do_not_count() -> None:
    retired = WorkspaceFacts(answered_questions=frozenset({"old_question", "breaking"}))

    assert reason("questions_answered", retired, layer="pain") == (
        "Answer 1 more pain discovery question (1 of 2 answered).")


def test_the_summary_needs_its_next_steps() -> None:
    assert reason("summary_written", WorkspaceFacts(summary_written=True,
                                                    next_steps_written=True)) is None
    assert reason("summary_written", WorkspaceFacts(summary_written=True)) == (
        "Write its next steps.")
    assert reason("summary_written") == "Write the discovery summary and its next steps."


def test_the_capability_map_needs_a_recommendation_and_no_feature_dumping() -> None:
    assert reason("capabilities_mapped", WorkspaceFacts(capabilities_recommended=2)) is None
    assert reason("capabilities_mapped") == (
        "Recommend at least one capability, linked to a confirmed pain.")
    assert reason("capabilities_mapped", WorkspaceFacts(
        capabilities_recommended=3, capabilities_unlinked=1)) == (
        "Link 1 recommended capability to a confirmed pain (an unlinked recommendation is "
        "feature dumping).")
    assert "Link 2 recommended capabilities" in str(reason("capabilities_mapped", WorkspaceFacts(
        capabilities_recommended=2, capabilities_unlinked=2)))


def test_a_demo_is_planned_with_a_plan_and_a_date() -> None:
    assert reason("demo_planned", WorkspaceFacts(demo_plan_written=True,
                                                 demo_date=TODAY)) is None
    assert reason("demo_planned", WorkspaceFacts(demo_plan_written=True)) == (
        "Plan the demo: a date.")
    assert reason("demo_planned") == "Plan the demo: its agenda and scenarios and a date."


@pytest.mark.parametrize(("answer", "told"), [
    ("", "The buyer has not confirmed that the solution solves the priority issues."),
    ("partly", "The buyer has not confirmed that the solution solves the priority issues "
               "(the buyer said partly)."),
    ("no", "The buyer has not confirmed that the solution solves the priority issues "
           "(the buyer said no)."),
])
def test_value_is_confirmed_only_by_a_yes(answer: str, told: str) -> None:
    assert reason("value_confirmed", WorkspaceFacts(value_answer="yes")) is None
    assert reason("value_confirmed", WorkspaceFacts(value_answer=answer)) == told


def test_a_gate_lists_the_workspace_criteria_still_unmet() -> None:
    gate = stage("discovery",
                 criterion("researched", "workspace", item="research_done"),
                 criterion("agreed", "workspace", item="agenda_agreed"),
                 criterion("pains_heard", "workspace", item="questions_answered", layer="pain"))
    p = replace(process(gate), discovery_questions=BANK)
    facts = DealFacts(today=TODAY, workspace=WorkspaceFacts(
        agenda_agreed=True, answered_questions=frozenset({"breaking"})))

    result = evaluate_gate(p, "discovery", facts)

    assert result.met == ("agreed",)
    assert [u.key for u in result.unmet] == ["researched", "pains_heard"]
    assert not result.passed


def test_a_deal_without_workspace_records_meets_no_workspace_criterion() -> None:
    for item in WORKSPACE_ITEMS:
        assert reason(item) is not None, item
