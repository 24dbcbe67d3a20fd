"""What changed between two process versions, in words: stages, criteria, settings,
frameworks and the library, plus the line diff of the file."""

from __future__ import annotations

from dataclasses import replace

from dealcraft.domain.process import Framework, FrameworkCriterion, Process, Settings, parse_process
from dealcraft.domain.process_diff import Change, diff_processes, diff_text

from .builders import VALID, criterion, edit, process, stage


def parsed(text: str) -> Process:
    result, problems = parse_process(text)
    assert problems == [] and result is not None, problems
    return result


def base() -> Process:
    return process(
        stage("first", criterion("amount_set", "field_set", "Amount set", field="amount")),
        stage("second",
              criterion("champion_named", "stakeholder", "Champion named", roles=("champion",)),
              criterion("call_done", "activity", "A call", activities=("call",))),
        stage("third"),
        won=[criterion("handoff", "checklist", "Handoff notes")],
    )


def test_identical_processes_have_no_differences() -> None:
    summary = diff_processes(base(), base())

    assert summary.is_empty
    assert diff_text(VALID, VALID) == []


def test_stages_added_and_removed_are_named() -> None:
    old = base()
    new = replace(old, stages=(old.stages[0], old.stages[1], stage("fourth")))

    summary = diff_processes(old, new)

    assert [(s.key, s.name) for s in summary.stages_added] == [("fourth", "Fourth")]
    assert [(s.key, s.name) for s in summary.stages_removed] == [("third", "Third")]
    assert not summary.reordered
    assert summary.stages == ()


def test_reordering_the_kept_stages_shows_the_old_and_new_order() -> None:
    old = base()
    first, second, third = old.stages
    new = replace(old, stages=(first, third, second, stage("extra")))

    summary = diff_processes(old, new)

    assert summary.order_before == ("First", "Second", "Third")
    assert summary.order_after == ("First", "Third", "Second")
    # Adding a stage alone is not a reordering.
    assert not diff_processes(old, replace(old, stages=(*old.stages, stage("x")))).reordered


def test_a_stage_s_own_settings_are_reported_old_to_new() -> None:
    old = base()
    second = old.stages[1]
    changed = replace(second, rotting_days=30, gate="warn", probability=25,
                      forecast_category="best_case", purpose="Qualify hard",
                      guidance=("Ask about budget",), next=("third",))
    new = replace(old, stages=(old.stages[0], changed, old.stages[2]))

    [diff] = diff_processes(old, new).stages

    assert (diff.key, diff.name) == ("second", "Second")
    assert set(diff.changes) == {
        Change("rotting days", "14", "30"),
        Change("gate mode", "enforce", "warn"),
        Change("probability", "10%", "25%"),
        Change("forecast category", "pipeline", "best_case"),
        Change("purpose", "The second stage", "Qualify hard"),
        Change("guidance", None, "Ask about budget"),
        Change("next stages", "(none)", "third"),
    }


def test_criteria_added_removed_and_changed_per_stage() -> None:
    old = base()
    second = old.stages[1]
    champion, call = second.exit_criteria
    changed = replace(second, exit_criteria=(
        replace(champion, label="Champion or buyer named", roles=("champion", "economic_buyer"),
                count=2),
        criterion("next_step_soon", "next_step", "Next step soon", within_days=7),
    ))
    new = replace(old, stages=(old.stages[0], changed, old.stages[2]))

    [diff] = diff_processes(old, new).stages

    assert [(c.key, c.label, c.rule) for c in diff.criteria_added] == [
        ("next_step_soon", "Next step soon", "next step dated within 7 days")]
    assert [(c.key, c.rule) for c in diff.criteria_removed] == [
        ("call_done", "1 call activity done")]
    [crit] = diff.criteria_changed
    assert crit.key == "champion_named"
    assert crit.changes == (
        Change("label", "Champion named", "Champion or buyer named"),
        Change("rule", "1 stakeholder(s) named as champion",
               "2 stakeholder(s) named as champion or economic_buyer"),
    )


def test_a_rule_change_the_one_line_reading_hides_is_still_named() -> None:
    old = base()
    first = old.stages[0]
    [amount] = first.exit_criteria
    hidden = replace(first, exit_criteria=(replace(amount, within_days=3),))
    new = replace(old, stages=(hidden, *old.stages[1:]))

    [diff] = diff_processes(old, new).stages

    assert diff.criteria_changed[0].changes == (Change("within days", "0", "3"),)


def test_reordered_criteria_are_reported() -> None:
    old = base()
    second = old.stages[1]
    new = replace(old, stages=(old.stages[0],
                               replace(second, exit_criteria=second.exit_criteria[::-1]),
                               old.stages[2]))

    [diff] = diff_processes(old, new).stages

    assert diff.changes == (Change("criteria order", "champion_named, call_done",
                                   "call_done, champion_named"),)


def test_won_requirements_and_gate_are_compared_as_their_own_step() -> None:
    old = base()
    new = replace(old, won_gate="warn", won_criteria=(
        *old.won_criteria, criterion("signed", "field_set", "Signed", field="signed")))

    [won] = diff_processes(old, new).stages

    assert won.key == "won"
    assert won.changes == (Change("gate mode", "enforce", "warn"),)
    assert [c.key for c in won.criteria_added] == ["signed"]


def test_settings_and_thresholds() -> None:
    old = base()
    new = replace(old, settings=Settings(visibility="all", skip="forbid"),
                  qualification_framework="bant", qualification_threshold=55.0,
                  currency="EUR", checkins_days=(30, 90))

    settings = diff_processes(old, new).settings

    assert set(settings) == {
        Change("settings.visibility", "team", "all"),
        Change("settings.skip", "gates", "forbid"),
        Change("qualification framework", "", "bant"),
        Change("qualification threshold", "0", "55"),
        Change("currency", "USD", "EUR"),
        Change("post-sale check-in days", "(none)", "30, 90"),
    }


def test_framework_weights_and_criteria() -> None:
    old = base()
    bant = old.frameworks[0]
    meddicc = Framework("meddicc", "MEDDICC", (FrameworkCriterion("metrics", "Metrics"),))
    new_bant = replace(bant, criteria=(
        replace(bant.criteria[0], weight=40.0, prompt="Is there budget?"),
        *bant.criteria[1:3],
    ))
    new = replace(old, frameworks=(new_bant, meddicc))

    changes = diff_processes(old, new).frameworks

    assert set(changes) == {
        Change("framework", None, "MEDDICC"),
        Change("BANT criterion", "Timeline", None),
        Change("BANT criterion 'Budget' weight", "25", "40"),
        Change("BANT criterion 'Budget' prompt", "", "Is there budget?"),
    }


def test_library_questions_capabilities_and_roles() -> None:
    old = replace(
        base(),
        library={
            "personas": [{"key": "cfo", "name": "CFO", "description": "Owns budget"}],
            "pricing_guardrails": ["Up to 10% off", "Annual billing"],
            "objections": [{"key": "price", "category": "price", "objection": "Too dear",
                            "response": "Compared to what?"}],
        },
        discovery_questions=({"key": "today", "layer": "current_state", "text": "How today?"},),
        capabilities=({"key": "reports", "name": "Reports"},),
    )
    new = replace(
        old,
        library={
            "personas": [{"key": "cfo", "name": "CFO", "description": "Owns budget"},
                         {"key": "cio", "name": "CIO"}],
            "pricing_guardrails": ["Up to 15% off", "Annual billing"],
            "objections": [{"key": "price", "category": "price", "objection": "Too dear",
                            "response": "What would it cost to wait?"}],
        },
        discovery_questions=(
            {"key": "today", "layer": "current_state", "text": "How today?"},
            {"key": "cost", "layer": "pain", "text": "What does it cost?"},
        ),
        capabilities=(),
        stakeholder_roles=(*old.stakeholder_roles, ("legal", "Legal")),
    )

    changes = diff_processes(old, new).library

    assert set(changes) == {
        Change("persona", None, "CIO"),
        Change("pricing guardrail", None, "Up to 15% off"),
        Change("pricing guardrail", "Up to 10% off", None),
        Change("objection 'Too dear' response", "Compared to what?",
               "What would it cost to wait?"),
        Change("discovery question", None, "What does it cost?"),
        Change("capability", "Reports", None),
        Change("stakeholder role", None, "Legal"),
    }
    assert {c.kind for c in changes} == {"added", "removed", "changed"}


def test_parsed_files_compare_by_meaning_not_by_layout() -> None:
    relaid = edit("rotting_days: 20\n", "rotting_days: 20   # two weeks is too short\n")

    assert diff_processes(parsed(VALID), parsed(relaid)).is_empty
    lines = diff_text(VALID, relaid, "version 1", "version 2")
    assert [line.kind for line in lines if line.kind not in ("same",)] == [
        "file", "file", "hunk", "del", "add"]


def test_the_text_diff_tags_each_line() -> None:
    new = edit("rotting_days: 30", "rotting_days: 45")

    lines = diff_text(VALID, new, "version 3", "version 4")

    assert (lines[0].kind, lines[0].text) == ("file", "--- version 3")
    assert (lines[1].kind, lines[1].text) == ("file", "+++ version 4")
    assert lines[2].kind == "hunk" and lines[2].text.startswith("@@ ")
    assert [(line.kind, line.text) for line in lines if line.kind in ("add", "del")] == [
        ("del", "-    rotting_days: 30"), ("add", "+    rotting_days: 45")]
    assert sum(1 for line in lines if line.kind == "same") == 6
    [stage_diff] = diff_processes(parsed(VALID), parsed(new)).stages
    assert stage_diff.changes == (Change("rotting days", "30", "45"),)


def test_a_removed_yaml_document_marker_is_a_removal_not_a_file_header() -> None:
    kinds = [(line.kind, line.text) for line in diff_text("---\n" + VALID, VALID)
             if line.kind != "same"]

    assert kinds[:2] == [("file", "--- old"), ("file", "+++ new")]
    assert kinds[3] == ("del", "----")
    assert [k for k, _ in kinds].count("file") == 2
