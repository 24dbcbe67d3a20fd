"""Validating a process file reports every problem, each at the line that causes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealcraft.domain.process import parse_process
from dealcraft.domain.yamlsource import Problem

from .builders import VALID, assert_reported, edit, line_of, problems


def test_the_reference_file_is_valid() -> None:
    assert problems(VALID) == []


@dataclass(frozen=True)
class Case:
    """One edit of the valid file, and what validation must say about it and where.

    `at` is text on the line the problem must be reported at (by default, the first line the
    edit adds).
    """

    old: str
    new: str
    says: tuple[str, ...]
    at: str = ""

    def text(self) -> str:
        return edit(self.old, self.new)

    def line(self) -> int:
        added = [n for n in self.new.splitlines() if n not in self.old.splitlines()]
        marker = self.at or added[0].strip()
        return line_of(self.text(), marker)


def with_criterion(*lines: str) -> str:
    """The valid file with one more criterion (given line by line) in stage 'second'."""
    body = "".join(f"        {line}\n" for line in lines[1:])
    return edit("      - key: seats_known\n",
                f"      - {lines[0]}\n{body}      - key: seats_known\n")


def case(old: str, new: str, *says: str, at: str = "") -> Case:
    return Case(old, new, says, at)


AMOUNT_SET = "        kind: field_set\n        field: amount\n"
SEATS_COMPARE = "        field: seats\n        op: gte\n        value: 10\n"


def compare(field: str, op: str, value: str) -> str:
    return f"        field: {field}\n        op: {op}\n        value: {value}\n"


UNKNOWN_KEYS = {
    "at the top level": case("currency: EUR\n", "currency: EUR\ncolour: blue\n",
                             "unknown key 'colour' in the process file", "allowed: name,"),
    "in settings": case("  skip: gates\n", "  skip: gates\n  theme: dark\n",
                        "unknown key 'theme' in settings"),
    "in a stage": case("    rotting_days: 20\n", "    rotting_days: 20\n    owner: bob\n",
                       "unknown key 'owner' in stage item 2", "allowed: key, name, purpose"),
    "in a criterion": case(AMOUNT_SET, AMOUNT_SET + "        weight: 3\n",
                           "unknown key 'weight' in stage 'first' criterion 'amount_set'",
                           "allowed: key, kind, label, prompt, field"),
    "belonging to another criterion kind": case(
        AMOUNT_SET, AMOUNT_SET + "        within_days: 3\n",
        "unknown key 'within_days' in stage 'first' criterion 'amount_set'"),
    "in a field": case("    type: bool\n", "    type: bool\n    default: false\n",
                       "unknown key 'default' in field item 2"),
    "in outcomes.won": case("  won:\n", "  won:\n    message: hooray\n",
                            "unknown key 'message' in outcomes.won"),
}

WRONG_TYPES = {
    "text where a list belongs": case("roles: [champion]", "roles: champion",
                                      "criterion 'champion_named' roles must be a list, not text"),
    "a mapping where a list belongs": case(
        "    purpose: Start the conversation\n",
        "    purpose: Start the conversation\n    guidance: {good: yes}\n",
        "stage 'first' guidance must be a list, not a mapping"),
    "a number where text belongs": case("purpose: Qualify", "purpose: 42",
                                        "stage 'second' purpose must be non-empty text, "
                                        "not a number"),
    "blank text": case("name: Test process", "name: ' '",
                       "name must be non-empty text, not blank"),
    "true/false where a whole number belongs": case(
        "probability: 40", "probability: true",
        "stage 'second' probability must be a whole number, not true/false"),
    "a fraction where a whole number belongs": case(
        "rotting_days: 20", "rotting_days: 20.5",
        "stage 'second' rotting_days must be a whole number, not a number"),
    "a number where a choice belongs": case(
        "    rotting_days: 30\n", "    rotting_days: 30\n    gate: 1\n",
        "stage 'third' gate is 1; expected one of: enforce, warn"),
    "a number where a key belongs": case("since_stage: second", "since_stage: 2",
                                         "criterion 'calls_made' since_stage must be a key "
                                         "(text), not a number"),
    "a date where text belongs": case("name: Test process", "name: 2024-01-31",
                                      "name must be non-empty text, not a date"),
    "nothing where a mapping belongs": case("qualification:\n  framework: bant\n  threshold: 50\n",
                                            "qualification:\n",
                                            "qualification must be a mapping, not nothing",
                                            at="qualification:"),
    "the whole file is a list": case(VALID, "- name: Test process\n",
                                     "the process file must be a mapping, not a list"),
}


def test_a_boolean_is_not_accepted_as_a_count() -> None:
    text = edit("        roles: [champion]\n", "        roles: [champion]\n        count: true\n")
    assert_reported(text, line_of(text, "count: true"),
                    "criterion 'champion_named' count must be a whole number, not true/false")


def test_a_number_is_not_accepted_as_true_or_false() -> None:
    text = with_criterion(
        "key: meeting_soon",
        "kind: next_step",
        "within_days: 7",
        "buyer_confirmed: 1",
        "label: Meeting soon",
    )
    assert_reported(text, line_of(text, "buyer_confirmed: 1"),
                    "criterion 'meeting_soon' buyer_confirmed must be true or false, "
                    "not a number")


MISSING_KEYS = {
    "a required top-level key": case("outcomes:\n  won:\n", "outcomes_:\n  won:\n",
                                     "the process file is missing required key 'outcomes'",
                                     at="name: Test process"),
    "a stage's purpose": case("    purpose: Start the conversation\n", "",
                              "stage item 1 is missing required key 'purpose'",
                              at="- key: first"),
    "a criterion's label": case("    label: Amount set\n", "",
                                "stage 'first' criterion 'amount_set' is missing required "
                                "key 'label'", at="- key: amount_set"),
    "a criterion's kind": case("        kind: field_set\n", "",
                               "stage 'first' criterion 1 is missing required key 'kind'",
                               at="- key: amount_set"),
    "a kind-specific key": case("        value: 10\n", "",
                                "criterion 'seats_known' is missing required key 'value'",
                                at="- key: seats_known"),
    "a field's type": case("    type: bool\n", "", "field item 2 is missing required key 'type'",
                           at="- key: signed"),
    "choices of a choice field": case("    choices: [smb, mid_market, enterprise]\n", "",
                                      "field 'segment' of type choice needs 'choices'",
                                      at="- key: segment"),
}


def test_a_duplicate_mapping_key_names_the_first_occurrence() -> None:
    text = edit("currency: EUR\n", "currency: EUR\nname: Again\n")
    assert problems(text) == [(3, "duplicate key 'name' (first on line 1)")]


def test_a_duplicate_stage_key_is_reported_at_the_second_one() -> None:
    text = edit("  - key: third\n", "  - key: second\n")
    first = line_of(VALID, "- key: second")
    second = line_of(VALID, "- key: third")
    assert_reported(text, second, f"duplicate stage key 'second' (first on line {first})")


def test_a_criterion_key_must_be_unique_across_stages() -> None:
    text = edit("  - key: champion_named\n", "  - key: amount_set\n")
    first = line_of(VALID, "- key: amount_set")
    assert problems(text) == [
        (line_of(VALID, "- key: champion_named"),
         f"duplicate criterion key 'amount_set' (first on line {first})"),
    ]


def test_a_won_criterion_key_must_not_repeat_a_stage_criterion_key() -> None:
    text = edit("      - key: handoff\n", "      - key: calls_made\n")
    first = line_of(VALID, "- key: calls_made")
    assert_reported(text, line_of(VALID, "- key: handoff"),
                    f"duplicate criterion key 'calls_made' (first on line {first})")


def test_duplicate_framework_field_and_choice_keys_are_reported() -> None:
    text = edit("      - key: need\n", "      - key: budget\n")
    assert_reported(text, line_of(VALID, "- key: need"),
                    "duplicate framework 'bant' criterion key 'budget'")
    text = edit("  - key: signed\n", "  - key: segment\n")
    assert_reported(text, line_of(VALID, "- key: signed"), "duplicate field key 'segment'")
    text = edit("[smb, mid_market, enterprise]", "[smb, smb]")
    assert_reported(text, line_of(text, "[smb, smb]"), "field 'segment' has duplicate choices")


UNKNOWN_NAMES = {
    "an unknown field": case("field: amount", "field: colour",
                             "criterion 'amount_set' names unknown field 'colour'",
                             "use a built-in field (name, account, amount"),
    "an unknown stage in since_stage": case("since_stage: second", "since_stage: fourth",
                                            "criterion 'calls_made' names unknown stage "
                                            "'fourth'"),
    "an unknown framework in qualification": case(
        "framework: bant", "framework: meddicc",
        "qualification.framework names unknown framework 'meddicc' (known: bant)"),
    "an unknown stakeholder role": case("roles: [champion]", "roles: [champion, cfo]",
                                        "criterion 'champion_named' names unknown stakeholder "
                                        "role 'cfo'"),
    "an unknown activity kind": case("activity: call", "activity: lunch",
                                     "criterion 'calls_made' activity is 'lunch'; expected one "
                                     "of: call, email, meeting, note, task"),
    "an unknown kind in an activity list": case("activity: call", "activity: [call, lunch]",
                                                "criterion 'calls_made' activity is 'lunch'"),
    "an unknown criterion kind": case("kind: field_set", "kind: magic",
                                      "stage 'first' criterion kind is 'magic'; expected one "
                                      "of: field_set, field_compare, checklist"),
    "an unknown stage in next": case("    rotting_days: 10\n",
                                     "    rotting_days: 10\n    next: [fourth]\n",
                                     "stage 'first' next names unknown stage 'fourth'"),
    "an unknown setting value": case("skip: gates", "skip: sometimes",
                                     "settings.skip is 'sometimes'; expected one of: forbid, "
                                     "gates, allow"),
    "an unknown forecast category": case("forecast_category: commit",
                                         "forecast_category: upside",
                                         "stage 'third' forecast_category is 'upside'; "
                                         "expected one of: pipeline, best_case, commit, "
                                         "omitted"),
    "an unknown field type": case("type: bool", "type: boolean",
                                  "field 'signed' type is 'boolean'; expected one of: text"),
}


def test_a_qualification_score_criterion_must_name_a_known_framework() -> None:
    text = with_criterion(
        "key: meddicc_score",
        "kind: qualification_score",
        "framework: meddicc",
        "min: 60",
        "label: MEDDICC score",
    )
    assert_reported(text, line_of(text, "framework: meddicc"),
                    "criterion 'meddicc_score' framework names unknown framework 'meddicc' "
                    "(known: bant)")


def test_a_stage_that_no_next_leads_to_is_unreachable() -> None:
    text = edit("    rotting_days: 10\n", "    rotting_days: 10\n    next: [third]\n")
    assert problems(text) == [
        (line_of(text, "- key: second"),
         "stage 'second' is unreachable: no stage's 'next' leads to it from the first stage "
         "'first'"),
    ]


def test_next_may_branch_as_long_as_every_stage_stays_reachable() -> None:
    text = edit("    rotting_days: 10\n", "    rotting_days: 10\n    next: [second, third]\n")
    assert problems(text) == []


def test_next_may_not_point_back_nor_at_the_stage_itself() -> None:
    text = edit("    rotting_days: 30\n", "    rotting_days: 30\n    next: [first]\n")
    assert_reported(text, line_of(text, "next: [first]"),
                    "stage 'third' next names earlier stage 'first'; moving back is governed "
                    "by settings.backward")
    # With the only way out pointing back, nothing leads to the outcome either.
    assert_reported(text, line_of(text, "- key: first"),
                    "no path through the stages leads to 'won'")
    text = edit("    rotting_days: 30\n", "    rotting_days: 30\n    next: [third]\n")
    assert_reported(text, line_of(text, "next: [third]"), "stage 'third' next names the stage "
                                                          "itself")


OUT_OF_RANGE = {
    "qualification threshold 120": case("threshold: 50", "threshold: 120",
                                        "qualification.threshold 120 is out of range (0 to 100)"),
    "qualification threshold NaN": case("threshold: 50", "threshold: .nan",
                                        "qualification.threshold nan is out of range"),
    "criterion count 0": case("        roles: [champion]\n",
                              "        roles: [champion]\n        count: 0\n",
                              "criterion 'champion_named' count 0 is out of range (1 to 50)"),
    "probability 101": case("probability: 40", "probability: 101",
                            "stage 'second' probability 101 is out of range (0 to 100)"),
    "probability -1": case("probability: 40", "probability: -1",
                           "stage 'second' probability -1 is out of range (0 to 100)"),
    "rotting_days 0": case("rotting_days: 20", "rotting_days: 0",
                           "stage 'second' rotting_days 0 is out of range (1 to 3650)"),
    "framework weight 0": case("        name: Need\n", "        name: Need\n        weight: 0\n",
                               "framework 'bant' criterion 'need' weight 0 is out of range "
                               "(more than 0 to 100)"),
    "check-in after 0 days": case("  won:\n", "  won:\n    checkins_days: [30, 0]\n",
                                  "outcomes.won.checkins_days item 0 is out of range "
                                  "(1 to 3650)"),
}


def qualification_score_criterion(minimum: str) -> str:
    return with_criterion("key: bant_score", "kind: qualification_score", "framework: bant",
                          f"min: {minimum}", "label: BANT score")


@pytest.mark.parametrize(("minimum", "says"), [
    ("-1", "criterion 'bant_score' min -1 is out of range (0 to 100)"),
    ("100.5", "criterion 'bant_score' min 100.5 is out of range (0 to 100)"),
    (".inf", "criterion 'bant_score' min inf is out of range (0 to 100)"),
    (".nan", "criterion 'bant_score' min nan is out of range (0 to 100)"),
])
def test_a_qualification_score_minimum_must_be_a_percentage(minimum: str, says: str) -> None:
    text = qualification_score_criterion(minimum)
    assert problems(text) == [(line_of(text, f"min: {minimum}"), says)]


def test_qualification_score_bounds_are_inclusive() -> None:
    assert problems(qualification_score_criterion("0")) == []
    assert problems(qualification_score_criterion("100")) == []


def test_next_step_window_is_one_day_to_a_year() -> None:
    def within(days: int) -> str:
        return with_criterion("key: meeting_soon", "kind: next_step", f"within_days: {days}",
                              "label: Meeting soon")

    assert problems(within(1)) == problems(within(365)) == []
    assert_reported(within(366), line_of(within(366), "within_days: 366"),
                    "criterion 'meeting_soon' within_days 366 is out of range (1 to 365)")


INVALID_KEYS = {
    "upper case": case("  - key: second\n", "  - key: Second\n",
                       "stage key 'Second' is not a valid key: use lower-case letters, digits "
                       "and underscores, starting with a letter, at most 64 characters"),
    "a leading digit": case("  - key: amount_set\n", "  - key: 1st_amount\n",
                            "criterion key '1st_amount' is not a valid key"),
    "a space": case("  - key: champion\n", "  - key: chief champion\n",
                    "stakeholder role key 'chief champion' is not a valid key"),
    "a hyphen": case("  - key: seats\n", "  - key: seat-count\n",
                     "field key 'seat-count' is not a valid key"),
    "accented letters": case("  - key: third\n", "  - key: troisième\n",
                             "stage key 'troisième' is not a valid key"),
    "65 characters": case("  - key: third\n", "  - key: " + "t" * 65 + "\n",
                          "stage key '" + "t" * 65 + "' is not a valid key"),
}


def test_a_key_of_exactly_64_characters_is_accepted() -> None:
    text = edit("  - key: third\n", "  - key: " + "t" * 64 + "\n")
    assert problems(text) == []


@pytest.mark.parametrize("reserved", ["won", "lost"])
def test_outcome_names_are_reserved_as_stage_keys(reserved: str) -> None:
    text = edit("  - key: third\n", f"  - key: {reserved}\n")
    assert problems(text) == [
        (line_of(text, f"- key: {reserved}"),
         f"stage key '{reserved}' is reserved for the outcome of a deal"),
    ]


COMPARE_MISMATCHES = {
    "number field with text": case(SEATS_COMPARE, compare("seats", "gte", "ten"),
                                   "criterion 'seats_known' compares number field 'seats' "
                                   "with text", at="value: ten"),
    "number field with true": case(SEATS_COMPARE, compare("seats", "eq", "true"),
                                   "compares number field 'seats' with true/false",
                                   at="value: true"),
    "built-in amount with text": case(SEATS_COMPARE, compare("amount", "gt", "lots"),
                                      "compares number field 'amount' with text",
                                      at="value: lots"),
    "date field with text": case(SEATS_COMPARE, compare("go_live", "lte", "soon"),
                                 "compares date field 'go_live' with text; write dates as "
                                 "YYYY-MM-DD", at="value: soon"),
    "date field with a number": case(SEATS_COMPARE, compare("expected_close", "lt", "2025"),
                                     "compares date field 'expected_close' with a number",
                                     at="value: 2025"),
    "true/false field with a number": case(SEATS_COMPARE, compare("signed", "eq", "1"),
                                           "compares true/false field 'signed' with a number",
                                           at="value: 1"),
    "true/false field ordered": case(SEATS_COMPARE, compare("signed", "gt", "false"),
                                     "can only test true/false field 'signed' with eq or ne",
                                     at="value: false"),
    "text field ordered": case(SEATS_COMPARE, compare("summary", "gte", "m"),
                               "cannot order text field 'summary' with 'gte'", at="value: m"),
    "text field with a number": case(SEATS_COMPARE, compare("summary", "eq", "3"),
                                     "compares text field 'summary' with a number",
                                     at="value: 3"),
    "choice outside the choices": case(SEATS_COMPARE, compare("segment", "eq", "giant"),
                                       "value 'giant' is not one of field 'segment' choices",
                                       at="value: giant"),
    "forecast category outside the categories": case(
        SEATS_COMPARE, compare("forecast_category", "gte", "maybe"),
        "value 'maybe' is not one of field 'forecast_category' choices", at="value: maybe"),
    "'in' with a single value": case(SEATS_COMPARE, compare("segment", "in", "smb"),
                                     "op 'in' needs a list of values, not text",
                                     at="value: smb"),
    "'in' with a wrong item": case(SEATS_COMPARE, compare("seats", "in", "[1, two]"),
                                   "compares number field 'seats' with text",
                                   at="value: [1, two]"),
    "an unknown operator": case(SEATS_COMPARE, compare("seats", "above", "3"),
                                "criterion 'seats_known' op is 'above'; expected one of: eq, "
                                "ne, gt, gte, lt, lte, in", at="op: above"),
}


def test_a_compared_field_written_as_a_list_is_reported_not_a_crash() -> None:
    text = edit(SEATS_COMPARE, compare("[seats, amount]", "eq", "3"))
    assert problems(text) == [
        (line_of(text, "field: [seats, amount]"),
         "criterion 'seats_known' field must be a key (text), not a list")]


def test_well_typed_comparisons_of_every_field_type_are_accepted() -> None:
    for field, op, value in [
        ("seats", "lt", "2.5"), ("amount", "gte", "50000"), ("go_live", "lte", "2025-06-30"),
        ("expected_close", "in", "[2025-01-01, 2025-02-01]"), ("signed", "ne", "false"),
        ("summary", "eq", "Renewal"), ("summary", "in", "[a, b]"),
        ("segment", "gte", "mid_market"), ("forecast_category", "lte", "commit"),
        ("currency", "eq", "EUR"),
    ]:
        text = edit(SEATS_COMPARE, compare(field, op, value))
        assert problems(text) == [], (field, op, value)


ALL_CASES = {
    **{f"unknown key {k}": c for k, c in UNKNOWN_KEYS.items()},
    **{f"wrong type: {k}": c for k, c in WRONG_TYPES.items()},
    **{f"missing {k}": c for k, c in MISSING_KEYS.items()},
    **{f"names {k}": c for k, c in UNKNOWN_NAMES.items()},
    **{f"out of range: {k}": c for k, c in OUT_OF_RANGE.items()},
    **{f"invalid key: {k}": c for k, c in INVALID_KEYS.items()},
    **{f"field_compare: {k}": c for k, c in COMPARE_MISMATCHES.items()},
}


@pytest.mark.parametrize("problem", list(ALL_CASES.values()), ids=list(ALL_CASES))
def test_each_problem_is_reported_at_its_line(problem: Case) -> None:
    assert_reported(problem.text(), problem.line(), *problem.says)


@pytest.mark.parametrize("problem", list(ALL_CASES.values()), ids=list(ALL_CASES))
def test_a_file_with_a_problem_yields_no_process(problem: Case) -> None:
    process, found = parse_process(problem.text())
    assert process is None
    assert found


@pytest.mark.parametrize("text", ["", "\n\n", "   \n", "# only a comment\n"])
def test_an_empty_file_is_one_problem_at_line_zero(text: str) -> None:
    assert problems(text) == [(0, "the file is empty")]


@pytest.mark.parametrize("text", ["~\n", "null\n", "---\n"])
def test_a_file_holding_only_null_is_not_a_process(text: str) -> None:
    assert problems(text) == [(1, "the process file must be a mapping, not nothing")]


def test_a_yaml_syntax_error_is_reported_at_its_line() -> None:
    text = edit("  skip: gates\n", "\tskip: gates\n")
    assert problems(text) == [
        (4, "YAML syntax error: found character '\\t' that cannot start any token")]


def test_a_syntax_error_noticed_late_says_where_its_construct_began() -> None:
    text = edit("name: Test process\n", 'name: "Test process\n')
    [(line, message)] = problems(text)
    assert line == len(VALID.splitlines()) + 1
    assert message == ("YAML syntax error: found unexpected end of stream "
                       "(while scanning a quoted scalar on line 1)")
    text = edit("purpose: Qualify", "purpose: [Qualify")
    [(line, message)] = problems(text)
    assert line == line_of(text, "probability: 40")
    assert f"while parsing a flow sequence on line {line - 1}" in message


def test_an_undefined_alias_is_a_syntax_error() -> None:
    text = edit("currency: EUR", "currency: *eur")
    assert problems(text) == [(2, "YAML syntax error: found undefined alias 'eur'")]


def test_a_second_document_is_refused() -> None:
    text = VALID + "---\nname: Another\n"
    [(line, message)] = problems(text)
    assert line == line_of(text, "---")
    assert "but found another document" in message


def test_merge_keys_are_refused() -> None:
    text = edit("currency: EUR\n", "currency: EUR\nsettings_base: &base {skip: gates}\n")
    text = edit("settings:\n", "settings:\n  <<: *base\n", text)
    assert_reported(text, line_of(text, "<<: *base"), "YAML merge keys ('<<') are not supported")


def test_a_file_with_several_problems_reports_all_of_them_in_line_order() -> None:
    text = VALID
    for old, new in [
        ("currency: EUR\n", "currency: EUR\ncolour: blue\n"),
        ("threshold: 50", "threshold: 120"),
        ("probability: 40", "probability: 101"),
        ("rotting_days: 20", "rotting_days: 0"),
        ("since_stage: second", "since_stage: fourth"),
        ("  - key: third\n", "  - key: won\n"),
        ("roles: [champion]", "roles: [cfo]"),
    ]:
        text = edit(old, new, text)
    assert problems(text) == [
        (line_of(text, "colour: blue"), "unknown key 'colour' in the process file; allowed: "
         "name, description, currency, settings, library, fields, stakeholder_roles, "
         "frameworks, qualification, discovery, capabilities, stages, outcomes"),
        (line_of(text, "threshold: 120"),
         "qualification.threshold 120 is out of range (0 to 100)"),
        (line_of(text, "probability: 101"),
         "stage 'second' probability 101 is out of range (0 to 100)"),
        (line_of(text, "rotting_days: 0"),
         "stage 'second' rotting_days 0 is out of range (1 to 3650)"),
        (line_of(text, "roles: [cfo]"),
         "criterion 'champion_named' names unknown stakeholder role 'cfo'"),
        (line_of(text, "- key: won"), "stage key 'won' is reserved for the outcome of a deal"),
        (line_of(text, "since_stage: fourth"),
         "criterion 'calls_made' names unknown stage 'fourth'"),
    ]


def test_problems_format_as_file_line_message() -> None:
    assert Problem(12, "stage 'x' probability 101 is out of range (0 to 100)").format(
        "my-process.yaml") == "my-process.yaml:12: stage 'x' probability 101 is out of range " \
                              "(0 to 100)"


# ---------------------------------------------------------------------------- never raises

YAML_PIECES = st.sampled_from([
    *"abcdefkxyz019 _-:[]{},&*!|>#'\"\n\t?%@.~",
    "\n  ", "\n- ", ": ", "key: ", "stages:", "- key: a\n", "2024-13-01", ".nan",
    "!!int ", "!!timestamp ", "!!binary ", "!!python/object:x ", "!local ", "&a ", "*a", "<<: ",
    "\x00", "\x85", "\ufeff", "\r",
])

VOCABULARY = st.sampled_from([
    "name", "key", "kind", "label", "stages", "outcomes", "won", "lost", "fields", "type",
    "choices", "field", "op", "value", "roles", "count", "framework", "frameworks", "min",
    "criteria", "weight", "next", "exit_criteria", "since_stage", "activity", "within_days",
    "qualification", "threshold", "stakeholder_roles", "settings", "skip", "library", "icp",
    "fit_rules", "objections", "category", "discovery", "questions", "layer", "capabilities",
    "pains", "checkins_days", "reasons", "probability", "rotting_days", "gate",
    "forecast_category", "purpose", "in", "eq", "gte", "choice", "date", "number", "bool",
    "field_compare", "stakeholder", "qualification_score", "next_step", "checklist",
])

SCALARS = st.one_of(
    VOCABULARY, st.integers(-5, 5000), st.floats(allow_nan=True), st.booleans(), st.none(),
    st.dates(), st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(VOCABULARY, inner, max_size=5)),
    max_leaves=20,
)


def assert_a_verdict(text: str) -> None:
    process, found = parse_process(text)
    if process is None:
        assert found
        last = len(text.splitlines()) + 1
        assert all(isinstance(p.message, str) and p.message for p in found)
        assert all(0 <= p.line <= last for p in found), found
    else:
        assert found == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(YAML_PIECES, max_size=120).map("".join))
def test_validation_never_raises_on_arbitrary_text(text: str) -> None:
    assert_a_verdict(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(VOCABULARY, VALUES, max_size=8))
def test_validation_never_raises_on_arbitrary_yaml_structures(data: dict[str, Any]) -> None:
    assert_a_verdict(yaml.safe_dump(data, sort_keys=False))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_validation_never_raises_when_any_value_of_a_valid_file_is_replaced(
    data: st.DataObject,
) -> None:
    root = yaml.safe_load(VALID)
    parent: Any = root
    slot: Any = data.draw(st.sampled_from(sorted(root)))
    # Walk down a random path, then put an arbitrary value where the walk stopped.
    while isinstance(parent[slot], dict | list) and parent[slot] and data.draw(st.booleans()):
        parent = parent[slot]
        slots = sorted(parent) if isinstance(parent, dict) else list(range(len(parent)))
        slot = data.draw(st.sampled_from(slots))
    parent[slot] = data.draw(VALUES)
    assert_a_verdict(yaml.safe_dump(root, sort_keys=False))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_validation_never_raises_on_a_damaged_valid_file(data: st.DataObject) -> None:
    lines = VALID.splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "repeat", "retype", "indent"]))
        if action == "drop":
            del lines[i]
        elif action == "repeat":
            lines.insert(i, lines[i])
        elif action == "indent":
            lines[i] = "  " + lines[i]
        elif ":" in lines[i]:
            head = lines[i].split(":", 1)[0]
            lines[i] = f"{head}: {data.draw(st.sampled_from(['[]', '{}', '~', '0', 'x', '[x]']))}"
        if not lines:
            break
    assert_a_verdict("\n".join(lines) + "\n")
