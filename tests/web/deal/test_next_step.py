"""The next-step editor: text, date, owner and the buyer's confirmation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dealcraft.deals.models import Deal, NextStep
from dealcraft.deals.services import set_next_step

from .conftest import parse

pytestmark = pytest.mark.django_db


def test_a_next_step_is_set_with_its_owner_and_confirmation(org: Any, make_deal: Any,
                                                           signed_in: Any, page: Any) -> None:
    deal = make_deal()
    due = timezone.localdate() + timedelta(days=5)

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/next-step/", {
        "text": "Workshop with the ops team", "due": due.isoformat(),
        "owner": str(org.bob.pk), "buyer_confirmed": "on"})

    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}/#next-step"
    step = Deal.objects.get(pk=deal.pk).next_step
    assert step is not None
    assert (step.text, step.due, step.owner, step.buyer_confirmed, step.set_by) == (
        "Workshop with the ops team", due, org.bob, True, org.alice)
    shown = page(org.alice, deal).testid("next-step").text()
    assert f"{due:%Y-%m-%d}: Workshop with the ops team · Bob confirmed by the buyer" == shown


def test_the_form_holds_the_current_step(org: Any, make_deal: Any, page: Any) -> None:
    deal = make_deal()
    due = timezone.localdate() + timedelta(days=2)
    set_next_step(acting_user=org.alice, deal=deal, text="Send agenda", due=due)

    form = page(org.alice, deal).testid("next-step-form")

    assert form.find(id="ns-text").attrs["value"] == "Send agenda"  # type: ignore[union-attr]
    assert form.find(id="ns-due").attrs["value"] == due.isoformat()  # type: ignore[union-attr]
    assert "checked" not in form.find(id="ns-confirmed").attrs  # type: ignore[union-attr]


def test_an_overdue_step_is_flagged(org: Any, make_deal: Any, page: Any) -> None:
    deal = make_deal()
    set_next_step(acting_user=org.alice, deal=deal, text="Chase the CFO",
                  due=timezone.localdate() - timedelta(days=1))

    assert "(overdue)" in page(org.alice, deal).testid("next-step").text()


@pytest.mark.parametrize(("data", "message"), [
    ({"text": "", "due": "2031-01-01"}, "text must not be empty"),
    ({"text": "Call", "due": "someday"}, "Enter a valid date."),
    ({"text": "Call", "due": ""}, "is not a date"),
])
def test_a_step_without_text_or_a_date_is_refused(org: Any, make_deal: Any, signed_in: Any,
                                                  data: dict[str, str], message: str) -> None:
    deal = make_deal()

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/next-step/", data)

    assert response.status_code == 422
    html = parse(response.content)
    assert message in html.testid("next-step-error").text()
    assert html.find(id="ns-text").attrs["value"] == data["text"]  # type: ignore[union-attr]
    assert not NextStep.objects.exists()
