"""Moving a deal from the board: gates, the unmet list and its fixes, reasons and overrides."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from dealcraft.audit.models import AuditEvent
from dealcraft.deals.models import Deal, Evidence, StageHistory

from .conftest import HTMX, text

pytestmark = pytest.mark.django_db


def moves(deal: Any) -> list[StageHistory]:
    return list(StageHistory.objects.filter(deal=deal).exclude(kind="created").order_by("id"))


def move(client: Client, deal: Any, to: str, **data: Any) -> Any:
    headers = HTMX if data.pop("htmx", False) else {}
    return client.post(f"/pipeline/deals/{deal.pk}/move/", {"to": to, **data}, **headers)


def test_a_move_the_gate_allows_goes_through_the_advance_service(org: Any, make_deal: Any,
                                                                 signed_in: Any) -> None:
    deal = make_deal()

    response = move(signed_in(org.alice), deal, "qualification")

    assert response.status_code == 303
    assert response["Location"] == "/pipeline/#column-qualification"
    deal.refresh_from_db()
    assert deal.stage == "qualification"
    [entry] = moves(deal)
    assert (entry.kind, entry.from_stage, entry.to_stage, entry.by) == (
        "advance", "prospecting", "qualification", org.alice)
    assert AuditEvent.objects.filter(deal=deal, action="deal.advance").exists()


def test_after_a_move_without_script_the_board_keeps_its_filters(org: Any, make_deal: Any,
                                                                  signed_in: Any) -> None:
    deal = make_deal()

    response = move(signed_in(org.alice), deal, "qualification",
                    filters="forecast=pipeline&evil=https://example.com")

    assert response["Location"] == "/pipeline/?forecast=pipeline#column-qualification"


def test_a_move_by_htmx_refreshes_both_columns(org: Any, make_deal: Any,
                                               signed_in: Any) -> None:
    deal = make_deal()

    response = move(signed_in(org.alice), deal, "qualification", htmx=True)

    html = response.content.decode()
    assert response.status_code == 200 and response["X-Board-Move"] == "moved"
    assert "Moved “Acme platform rollout” to Qualification." in html
    assert '<section class="board-column" id="column-prospecting"' in html
    assert '<section class="board-column" id="column-qualification"' in html
    assert html.count('hx-swap-oob="true"') == 2
    assert "<html" not in html


def test_a_refused_move_lists_the_unmet_criteria_and_changes_nothing(
        org: Any, deal_in: Any, signed_in: Any) -> None:
    deal = deal_in("proposal")
    before = len(moves(deal))

    response = move(signed_in(org.alice), deal, "negotiation", htmx=True)

    html = response.content.decode()
    assert response.status_code == 200 and response["X-Board-Move"] == "refused"
    assert response["X-Board-Status"] == "409"
    assert "cannot move to Negotiation &amp; commitment yet" in html
    assert "3 exit criteria are not met" in html
    for label in ("Buyer reviewed proposal with finance and requested revisions",
                  "Mutual next steps agreed (legal, procurement, approvers, signature path)",
                  "Next step within 14 days, confirmed by the buyer"):
        assert f"<strong>{label}</strong>" in html
    deal.refresh_from_db()
    assert deal.stage == "proposal"
    assert len(moves(deal)) == before


def test_each_unmet_criterion_offers_its_own_way_to_be_met(org: Any, deal_in: Any,
                                                           signed_in: Any) -> None:
    deal = deal_in("qualification")

    html = move(signed_in(org.alice), deal, "discovery").content.decode()

    # checklist → an evidence form; next step → a next-step form with the buyer's confirmation
    assert f'action="/pipeline/deals/{deal.pk}/evidence/"' in html
    assert 'name="criterion" value="problem_confirmed"' in html
    assert f'action="/pipeline/deals/{deal.pk}/next-step/"' in html
    assert 'name="buyer_confirmed"' in html
    # stakeholder → the deal page's stakeholder map; a score → the deal page
    assert f'href="/deals/{deal.pk}/#stakeholders"' in html
    assert f'<a href="/deals/{deal.pk}/">Update the deal</a>' in html
    # a rep sees no override
    assert "override_reason" not in html


def test_without_script_a_refusal_is_a_page_of_its_own(org: Any, deal_in: Any,
                                                       signed_in: Any) -> None:
    deal = deal_in("proposal")

    response = move(signed_in(org.alice), deal, "negotiation")

    html = response.content.decode()
    assert response.status_code == 409
    assert "<html" in html and '<h1 id="panel-heading">' in html
    assert "3 exit criteria are not met" in html


def test_a_rep_meets_the_gate_from_the_panel_then_moves(org: Any, deal_in: Any,
                                                        signed_in: Any) -> None:
    deal = deal_in("proposal")
    client = signed_in(org.alice)
    assert move(client, deal, "negotiation", htmx=True)["X-Board-Move"] == "refused"

    for criterion in ("buyer_reviewed_proposal", "mutual_next_steps"):
        response = client.post(f"/pipeline/deals/{deal.pk}/evidence/", {
            "criterion": criterion, "text": "Agreed with the CFO on the call.",
            "to": "negotiation"}, **HTMX)
        assert response.status_code == 200
    response = client.post(f"/pipeline/deals/{deal.pk}/next-step/", {
        "text": "Legal kick-off", "due": (timezone.localdate() + timedelta(days=5)).isoformat(),
        "buyer_confirmed": "on", "to": "negotiation"}, **HTMX)
    html = response.content.decode()
    assert "can move to Negotiation &amp; commitment" in html
    assert f'id="deal-card-{deal.pk}"' in html and "3 of 3 exit criteria met" in html

    response = move(client, deal, "negotiation", htmx=True)

    assert response["X-Board-Move"] == "moved"
    deal.refresh_from_db()
    assert deal.stage == "negotiation"
    assert moves(deal)[-1].kind == "advance"
    assert set(Evidence.objects.filter(deal=deal).values_list("criterion", flat=True)) == {
        "buyer_reviewed_proposal", "mutual_next_steps"}


def test_evidence_without_script_returns_to_what_the_move_needs(org: Any, deal_in: Any,
                                                                signed_in: Any) -> None:
    deal = deal_in("proposal")
    client = signed_in(org.alice)

    response = client.post(f"/pipeline/deals/{deal.pk}/evidence/", {
        "criterion": "buyer_reviewed_proposal", "text": "Reviewed with finance.",
        "to": "negotiation", "filters": "owner=3"})

    assert response.status_code == 303
    assert response["Location"] == (
        f"/pipeline/deals/{deal.pk}/move/?to=negotiation&filters=owner%3D3")
    html = client.get(response["Location"]).content.decode()
    assert "Evidence recorded" in html  # the message, shown on the next page
    assert "2 exit criteria are not met" in html


def test_empty_evidence_is_refused_with_the_reason(org: Any, deal_in: Any,
                                                   signed_in: Any) -> None:
    deal = deal_in("proposal")

    response = signed_in(org.alice).post(f"/pipeline/deals/{deal.pk}/evidence/", {
        "criterion": "buyer_reviewed_proposal", "text": "  ", "to": "negotiation"}, **HTMX)

    assert (response.status_code, response["X-Board-Status"]) == (200, "422")
    assert "text must not be empty" in response.content.decode()
    assert not Evidence.objects.filter(deal=deal).exists()


def test_a_rep_cannot_override_a_gate(org: Any, deal_in: Any, signed_in: Any) -> None:
    deal = deal_in("proposal")
    before = len(moves(deal))

    response = move(signed_in(org.alice), deal, "negotiation", override="1",
                    override_reason="I am sure")

    assert response.status_code == 403
    deal.refresh_from_db()
    assert deal.stage == "proposal" and len(moves(deal)) == before


def test_a_manager_sees_the_override_and_it_demands_a_reason(org: Any, deal_in: Any,
                                                             signed_in: Any) -> None:
    deal = deal_in("proposal")
    client = signed_in(org.mona)

    refused = move(client, deal, "negotiation", htmx=True).content.decode()
    assert 'name="override_reason"' in refused and "required" in refused

    response = move(client, deal, "negotiation", override="1", override_reason=" ", htmx=True)

    assert (response.status_code, response["X-Board-Status"]) == (200, "422")
    assert "Give the reason for overriding the gate." in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == "proposal"


def test_a_manager_override_with_a_reason_is_kept_in_history(org: Any, deal_in: Any,
                                                             signed_in: Any) -> None:
    deal = deal_in("proposal")

    response = move(signed_in(org.mona), deal, "negotiation", override="1",
                    override_reason="Signed LOI in hand; paperwork follows.", htmx=True)

    assert response["X-Board-Move"] == "moved"
    deal.refresh_from_db()
    assert deal.stage == "negotiation"
    entry = moves(deal)[-1]
    assert (entry.kind, entry.by) == ("override", org.mona)
    assert entry.override_reason == "Signed LOI in hand; paperwork follows."


def test_moving_back_asks_for_a_reason_and_keeps_it(org: Any, deal_in: Any,
                                                    signed_in: Any) -> None:
    deal = deal_in("discovery")
    client = signed_in(org.alice)

    asked = move(client, deal, "qualification", htmx=True)

    html = asked.content.decode()
    assert (asked.status_code, asked["X-Board-Status"]) == (200, "422")
    assert "Moving “Acme platform rollout” back to Qualification needs a reason" in text(html)
    assert 'name="reason"' in html
    deal.refresh_from_db()
    assert deal.stage == "discovery"

    moved = move(client, deal, "qualification", reason="The buyer's budget was cut.")

    assert moved.status_code == 303
    entry = moves(deal)[-1]
    assert entry.kind == "backward"
    assert entry.gate_result["reason"] == "The buyer's budget was cut."


def test_another_team_cannot_move_or_preview_a_deal(org: Any, make_deal: Any,
                                                    signed_in: Any) -> None:
    deal = make_deal()
    client = signed_in(org.charlie)

    assert move(client, deal, "qualification").status_code == 403
    assert move(client, deal, "qualification", htmx=True).status_code == 403
    assert client.get(f"/pipeline/deals/{deal.pk}/move/?to=qualification").status_code == 403
    assert client.post(f"/pipeline/deals/{deal.pk}/evidence/", {
        "criterion": "problem_confirmed", "text": "x", "to": "discovery"}).status_code == 403
    assert client.post(f"/pipeline/deals/{deal.pk}/next-step/", {
        "text": "x", "due": "2030-01-01", "to": "discovery"}).status_code == 403
    deal.refresh_from_db()
    assert deal.stage == "prospecting" and not moves(deal)


def test_a_viewer_cannot_move_a_deal_they_can_read(org: Any, make_deal: Any,
                                                   signed_in: Any) -> None:
    deal = make_deal()

    response = move(signed_in(org.vera), deal, "qualification", htmx=True)

    assert response.status_code == 403
    assert "You may read this deal but not change it." in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage == "prospecting"


def test_moving_needs_a_signed_in_user(client: Client, make_deal: Any) -> None:
    deal = make_deal()

    response = client.post(f"/pipeline/deals/{deal.pk}/move/", {"to": "qualification"})

    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert Deal.objects.get(pk=deal.pk).stage == "prospecting"


def test_a_move_needs_the_csrf_token(org: Any, make_deal: Any) -> None:
    deal = make_deal()
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.alice)

    response = client.post(f"/pipeline/deals/{deal.pk}/move/", {"to": "qualification"})

    assert response.status_code == 403
    assert Deal.objects.get(pk=deal.pk).stage == "prospecting"


def test_a_missing_deal_is_not_found(org: Any, signed_in: Any) -> None:
    response = signed_in(org.alice).post("/pipeline/deals/99999/move/", {"to": "qualification"})

    assert response.status_code == 404


def test_an_unknown_target_stage_is_reported(org: Any, make_deal: Any,
                                             signed_in: Any) -> None:
    deal = make_deal()

    response = move(signed_in(org.alice), deal, "nowhere", htmx=True)

    assert (response.status_code, response["X-Board-Status"]) == (200, "422")
    assert "&#x27;nowhere&#x27; is not a stage of this process" in response.content.decode()
