"""Moving the deal from its page: advancing through the gate, the unmet list when refused, a
manager's override with its reason, closing as won or lost, and reopening."""

from __future__ import annotations

from typing import Any

import pytest

from dealcraft.deals.models import Deal, StageHistory
from dealcraft.deals.services import advance_stage, close_lost

from .conftest import parse

pytestmark = pytest.mark.django_db


@pytest.fixture
def qualifying(org: Any, make_deal: Any) -> Deal:
    """Alice's deal in qualification, where an enforce gate guards the way to discovery."""
    deal = make_deal()
    return advance_stage(acting_user=org.alice, deal=deal, to="qualification")


def test_the_advance_button_moves_to_the_next_stage(org: Any, make_deal: Any, signed_in: Any,
                                                    page: Any) -> None:
    deal = make_deal()
    assert "Move to Qualification" in page(org.alice, deal).testid("advance").text()

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/advance/", {"to": "qualification"})

    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}/#stage-path"
    assert Deal.objects.get(pk=deal.pk).stage == "qualification"


def test_a_refused_advance_lists_what_is_unmet_with_links_to_meet_it(
        org: Any, qualifying: Deal, signed_in: Any) -> None:
    response = signed_in(org.alice).post(f"/deals/{qualifying.pk}/advance/",
                                         {"to": "discovery"})

    assert response.status_code == 409
    html = parse(response.content)
    unmet = html.testid("unmet-list")
    keys = [li.attrs["data-testid"] for li in unmet.find_all("li")]
    assert keys == ["unmet-problem_confirmed", "unmet-business_impact_discussed",
                    "unmet-next_meeting_booked", "unmet-relevant_stakeholder",
                    "unmet-meddicc_score"]
    assert unmet.find("a", href="#criterion-problem_confirmed") is not None
    assert "Confirm with evidence" in unmet.text()
    assert "Cannot move to Discovery: 5 exit criteria are not met." in html.testid(
        "refusal").text()
    assert not html.has("override-form")  # Alice is a rep
    assert Deal.objects.get(pk=qualifying.pk).stage == "qualification"


def test_a_rep_cannot_override_even_by_posting_the_form(org: Any, qualifying: Deal,
                                                        signed_in: Any) -> None:
    response = signed_in(org.alice).post(f"/deals/{qualifying.pk}/advance/", {
        "to": "discovery", "override": "1", "override_reason": "Trust me"})

    assert response.status_code == 403
    assert Deal.objects.get(pk=qualifying.pk).stage == "qualification"


def test_a_manager_sees_the_override_form_when_refused(org: Any, qualifying: Deal,
                                                       signed_in: Any) -> None:
    response = signed_in(org.mona).post(f"/deals/{qualifying.pk}/advance/",
                                        {"to": "discovery"})

    form = parse(response.content).testid("override-form")
    assert form.find("input", name="to").attrs["value"] == "discovery"  # type: ignore[union-attr]
    assert "required" in form.find("textarea", name="override_reason").attrs  # type: ignore[union-attr]


def test_a_manager_override_needs_a_reason(org: Any, qualifying: Deal, signed_in: Any) -> None:
    response = signed_in(org.mona).post(f"/deals/{qualifying.pk}/advance/", {
        "to": "discovery", "override": "1", "override_reason": "  "})

    assert response.status_code == 422
    html = parse(response.content)
    assert "An override needs a reason." in html.testid("override-form").text()
    assert html.has("unmet-list")
    assert Deal.objects.get(pk=qualifying.pk).stage == "qualification"


def test_a_manager_override_moves_the_deal_and_keeps_the_reason(org: Any, qualifying: Deal,
                                                                signed_in: Any,
                                                                page: Any) -> None:
    response = signed_in(org.mona).post(f"/deals/{qualifying.pk}/advance/", {
        "to": "discovery", "override": "1", "override_reason": "CFO committed on the call"})

    assert response.status_code == 302
    assert Deal.objects.get(pk=qualifying.pk).stage == "discovery"
    entry = StageHistory.objects.filter(deal=qualifying).latest("at", "id")
    assert (entry.kind, entry.by, entry.override_reason) == (
        "override", org.mona, "CFO committed on the call")
    assert "Override: CFO committed on the call" in page(org.alice, qualifying).testid(
        "history").text()


def test_moving_back_needs_a_reason(org: Any, qualifying: Deal, signed_in: Any) -> None:
    client = signed_in(org.alice)

    refused = client.post(f"/deals/{qualifying.pk}/advance/", {"to": "prospecting"})
    moved = client.post(f"/deals/{qualifying.pk}/advance/", {
        "to": "prospecting", "reason": "Budget frozen until Q3"})

    assert refused.status_code == 422
    assert "Moving a deal back needs a reason." in parse(refused.content).testid(
        "move-form").text()
    assert moved.status_code == 302
    assert Deal.objects.get(pk=qualifying.pk).stage == "prospecting"


def test_closing_as_won_shows_the_handoff_criteria_and_refuses_without_them(
        org: Any, make_deal: Any, signed_in: Any, page: Any) -> None:
    deal = make_deal()
    for stage in ("qualification", "discovery", "solution", "proposal", "negotiation"):
        advance_stage(acting_user=org.mona, deal=deal, to=stage, override_reason="Test setup")

    html = page(org.alice, deal)
    handoff = html.testid("handoff")
    assert "Handoff notes: customer goals" in handoff.text()
    assert html.has("evidence-form-handoff_goals")
    response = signed_in(org.alice).post(f"/deals/{deal.pk}/advance/", {"to": "won"})

    assert response.status_code == 409
    refused = parse(response.content)
    assert "unmet-handoff_risks" in [li.attrs.get("data-testid") for li in
                                     refused.testid("unmet-list").find_all("li")]
    assert Deal.objects.get(pk=deal.pk).status == "open"


def test_closing_as_lost_needs_a_reason(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal()

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/close-lost/", {
        "reason": "", "category": "price"})

    assert response.status_code == 422
    assert "reason must not be empty" in parse(response.content).testid(
        "close-lost-error").text()
    assert Deal.objects.get(pk=deal.pk).status == "open"


def test_closing_as_lost_records_the_reason_and_category(org: Any, make_deal: Any,
                                                         signed_in: Any, page: Any) -> None:
    deal = make_deal()
    form = page(org.alice, deal).testid("close-lost-form")
    assert [o.attrs["value"] for o in form.find_all("option")][:3] == ["", "price", "no_decision"]

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/close-lost/", {
        "reason": "Went with the incumbent", "category": "competitor"})

    assert response.status_code == 302
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.status, stored.lost_reason, stored.lost_reason_category) == (
        "lost", "Went with the incumbent", "competitor")


def test_an_unknown_loss_category_is_refused(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal()

    response = signed_in(org.alice).post(f"/deals/{deal.pk}/close-lost/", {
        "reason": "Gone", "category": "aliens"})

    assert response.status_code == 422
    assert Deal.objects.get(pk=deal.pk).status == "open"


def test_a_closed_deal_offers_reopening_and_reopens_with_a_reason(org: Any, make_deal: Any,
                                                                  signed_in: Any,
                                                                  page: Any) -> None:
    deal = make_deal()
    close_lost(acting_user=org.alice, deal=deal, reason="Timing")
    html = page(org.alice, deal)
    assert html.has("reopen-form") and not html.has("advance")

    refused = signed_in(org.alice).post(f"/deals/{deal.pk}/reopen/", {"reason": ""})
    reopened = signed_in(org.alice).post(f"/deals/{deal.pk}/reopen/", {
        "reason": "New budget approved"})

    assert refused.status_code == 422
    assert reopened.status_code == 302
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.status, stored.stage) == ("open", "prospecting")


def test_htmx_gets_a_refusal_as_a_page_to_swap_with_its_status_alongside(
        org: Any, qualifying: Deal, signed_in: Any) -> None:
    response = signed_in(org.alice).post(f"/deals/{qualifying.pk}/advance/",
                                         {"to": "discovery"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response["X-Deal-Refused"] == "409"
    assert parse(response.content).has("unmet-list")
