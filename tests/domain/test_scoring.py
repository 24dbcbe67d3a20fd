"""Qualification scoring: a framework's evidence levels, weighted, as a score from 0 to 100."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dealcraft.domain.process import Framework, FrameworkCriterion
from dealcraft.domain.scoring import LEVELS, framework_score

BANT = Framework("bant", "BANT", (
    FrameworkCriterion("budget", "Budget", 25),
    FrameworkCriterion("authority", "Authority", 25),
    FrameworkCriterion("need", "Need", 25),
    FrameworkCriterion("timeline", "Timeline", 25),
))
# Pain counts four times as much as competition.
WEIGHTED = Framework("pains_first", "Pains first", (
    FrameworkCriterion("pain", "Pain", 40),
    FrameworkCriterion("champion", "Champion", 50),
    FrameworkCriterion("competition", "Competition", 10),
))


def test_levels_run_from_unknown_to_confirmed_with_evidence() -> None:
    assert LEVELS == {0: "unknown", 1: "assumed", 2: "partly confirmed",
                      3: "confirmed with evidence"}


def test_everything_confirmed_with_evidence_scores_100() -> None:
    assert framework_score(BANT, dict.fromkeys(("budget", "authority", "need", "timeline"), 3)) \
        == 100


def test_no_answers_score_0() -> None:
    assert framework_score(BANT, {}) == 0


def test_missing_answers_count_as_unknown() -> None:
    assert framework_score(BANT, {"budget": 3, "need": 3}) == 50


def test_levels_count_as_thirds_of_a_criterion() -> None:
    assert framework_score(BANT, {"budget": 1}) == 8.3
    assert framework_score(BANT, {"budget": 2}) == 16.7


def test_weights_decide_how_much_each_criterion_counts() -> None:
    assert framework_score(WEIGHTED, {"pain": 3}) == 40
    assert framework_score(WEIGHTED, {"champion": 3}) == 50
    assert framework_score(WEIGHTED, {"competition": 3}) == 10
    assert framework_score(WEIGHTED, {"pain": 3, "competition": 3}) == 50
    assert framework_score(WEIGHTED, {"pain": 2, "champion": 1, "competition": 3}) == 53.3


def test_fractional_weights_are_honoured() -> None:
    framework = Framework("f", "F", (FrameworkCriterion("a", "A", 0.5),
                                     FrameworkCriterion("b", "B", 1.5)))
    assert framework_score(framework, {"a": 3}) == 25
    assert framework_score(framework, {"b": 3}) == 75


@pytest.mark.parametrize(("level", "counts_as"), [(-1, 0), (-100, 0), (4, 3), (99, 3)])
def test_levels_out_of_range_are_clamped(level: int, counts_as: int) -> None:
    assert framework_score(BANT, {"budget": level}) == framework_score(BANT, {"budget": counts_as})


def test_answers_to_criteria_the_framework_lacks_are_ignored() -> None:
    # An answer left over from a criterion a later process version removed.
    assert framework_score(BANT, {"budget": 3, "metrics": 3, "champion": 3}) == 25


def test_a_framework_without_weight_scores_0_instead_of_dividing_by_zero() -> None:
    weightless = Framework("w", "W", (FrameworkCriterion("a", "A", 0),
                                      FrameworkCriterion("b", "B", 0)))
    assert framework_score(weightless, {"a": 3, "b": 3}) == 0
    assert framework_score(Framework("empty", "Empty", ()), {"a": 3}) == 0


def test_scores_are_rounded_to_one_decimal() -> None:
    thirds = Framework("t", "T", tuple(FrameworkCriterion(k, k, 1) for k in "abc"))
    assert framework_score(thirds, {"a": 1}) == 11.1


CRITERION_KEYS = st.sampled_from(["a", "b", "c", "d", "e", "f"])
FRAMEWORKS = st.lists(
    st.tuples(CRITERION_KEYS, st.floats(min_value=0.001, max_value=100)),
    min_size=1, max_size=6, unique_by=lambda kw: kw[0],
).map(lambda items: Framework("fw", "Framework", tuple(
    FrameworkCriterion(key, key.upper(), weight) for key, weight in items)))
ANSWERS = st.dictionaries(st.one_of(CRITERION_KEYS, st.text(max_size=4)),
                          st.integers(min_value=-10**6, max_value=10**6))


@given(FRAMEWORKS, ANSWERS)
def test_a_score_is_always_between_0_and_100(framework: Framework, answers: dict[str, int]) -> None:
    assert 0 <= framework_score(framework, answers) <= 100


@given(FRAMEWORKS, ANSWERS, CRITERION_KEYS)
def test_raising_one_answer_never_lowers_the_score(
    framework: Framework, answers: dict[str, int], key: str,
) -> None:
    raised = {**answers, key: answers.get(key, 0) + 1}
    assert framework_score(framework, raised) >= framework_score(framework, answers)


@given(FRAMEWORKS)
def test_full_evidence_on_every_criterion_is_always_100(framework: Framework) -> None:
    assert framework_score(framework, {c.key: 3 for c in framework.criteria}) == 100
