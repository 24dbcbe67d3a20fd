"""The qualification scorecard: MEDDICC (the process's framework) and BANT, saved criterion by
criterion, with the score against the threshold."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.deals.models import QualificationAnswer
from dealcraft.deals.services import answer_qualification

from .conftest import parse

pytestmark = pytest.mark.django_db


def test_the_scorecard_lists_each_meddicc_criterion_with_its_prompt(org: Any, make_deal: Any,
                                                                    page: Any) -> None:
    deal = make_deal()

    html = page(org.alice, deal)

    card = html.testid("scorecard-meddicc")
    assert "score 0.0 of a threshold of 60" in card.text()
    assert "Identify pain" in card.text()
    assert "What is the confirmed pain, in the buyer's words" in card.text()
    assert html.has("qualification-form-meddicc-economic_buyer")
    assert html.has("scorecard-bant")
    assert "threshold" not in html.testid("score-bant").text()


def test_an_answer_is_saved_and_the_score_moves(org: Any, make_deal: Any, signed_in: Any,
                                                page: Any) -> None:
    deal = make_deal()

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/qualification/", {
        "framework": "meddicc", "criterion": "identify_pain", "level": "3",
        "evidence": "CFO: close takes 9 days"})

    assert response.status_code == 302
    assert response["Location"].endswith("#q-meddicc-identify_pain")
    answer = QualificationAnswer.objects.get(deal=deal)
    assert (answer.level, answer.evidence, answer.answered_by) == (
        3, "CFO: close takes 9 days", org.alice)
    html = page(org.alice, deal)
    assert html.testid("score-meddicc").text().startswith("score 20.0")
    level = html.find(id="q-level-meddicc-identify_pain")
    assert level is not None and level.find("option", value="3").attrs.get("selected") == ""  # type: ignore[union-attr]


def test_a_confirmed_level_without_evidence_is_refused_inline(org: Any, make_deal: Any,
                                                              signed_in: Any) -> None:
    deal = make_deal()

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/qualification/", {
        "framework": "meddicc", "criterion": "champion", "level": "3", "evidence": ""})

    assert response.status_code == 422
    row = parse(response.content).find(id="q-meddicc-champion")
    assert row is not None
    assert "level 3 means confirmed with evidence" in row.text()
    assert not QualificationAnswer.objects.exists()


def test_a_level_outside_zero_to_three_is_refused(org: Any, make_deal: Any,
                                                  signed_in: Any) -> None:
    deal = make_deal()

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/qualification/", {
        "framework": "bant", "criterion": "budget", "level": "7"})

    assert response.status_code == 422
    assert not QualificationAnswer.objects.exists()


def test_bant_answers_are_kept_apart_from_meddicc(org: Any, make_deal: Any, signed_in: Any,
                                                  page: Any) -> None:
    deal = make_deal()
    answer_qualification(acting_user=org.alice, deal=deal, framework="meddicc",
                         criterion="metrics", level=2)

    signed_in(org.alice).post(f"/deals/{deal.pk}/qualification/", {
        "framework": "bant", "criterion": "budget", "level": "2", "evidence": ""})

    html = page(org.alice, deal)
    assert html.testid("score-bant").text() == "score 16.7"
    assert html.testid("score-meddicc").text().startswith("score 10.0")
