"""The solution workspace page and panel: the capability map with its feature-dumping flag,
the demo plan and the value-confirmation checkpoint."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dealcraft.deals.models import Deal
from dealcraft.discovery import services
from dealcraft.discovery.models import CapabilityRecommendation, SolutionWorkspace

from .conftest import HTMX, element, text_of

pytestmark = pytest.mark.django_db


def url(deal: Deal, rest: str = "") -> str:
    return f"/deals/{deal.pk}/solution/{rest}"


def test_the_page_recaps_the_buyers_priorities_from_discovery(
        org: Any, make_deal: Any, alice_client: Client) -> None:
    deal = make_deal(name="Acme rollout")
    services.save_summary(acting_user=org.alice, deal=deal,
                          confirmed_pains="Slow approvals\nDouble data entry",
                          summary="Approvals cost two days a week")

    html = alice_client.get(url(deal)).content.decode()

    assert "<h1>Solution and value: Acme rollout</h1>" in html
    recap = text_of(element(html, "solution-recap"))
    assert "Slow approvals" in recap and "Approvals cost two days a week" in recap
    pains = element(html, f"confirmed-pains-{deal.pk}")
    assert '<option value="Slow approvals">' in pains
    assert f'list="confirmed-pains-{deal.pk}"' in element(html, "solution-map")


def test_without_confirmed_pains_the_page_points_back_to_discovery(
        org: Any, make_deal: Any, alice_client: Client) -> None:
    deal = make_deal()

    recap = element(alice_client.get(url(deal)).content.decode(), "solution-recap")

    assert "No pains confirmed yet" in recap
    assert f'href="/deals/{deal.pk}/discovery/#discovery-summary"' in recap


def test_htmx_gets_just_the_panel(org: Any, make_deal: Any, alice_client: Client) -> None:
    html = alice_client.get(url(make_deal()), **HTMX).content.decode()

    assert html.lstrip().startswith('<section id="solution-workspace"')
    assert "<html" not in html


def test_a_capability_is_recommended_for_a_confirmed_pain(org: Any, make_deal: Any,
                                                          alice_client: Client) -> None:
    deal = make_deal()

    response = alice_client.post(url(deal, "capabilities/"), {
        "recommend-capability": "audit_trail", "recommend-pain": "Audits take weeks"})

    assert response.status_code == 302
    assert response["Location"] == url(deal) + "#solution-map"
    the_map = element(alice_client.get(url(deal)).content.decode(), "solution-map")
    assert "Audit trail and compliance" in the_map
    assert "Answers the confirmed pain: <q>Audits take weeks</q>" in the_map
    assert "Feature dumping" not in the_map


def test_a_recommendation_without_a_pain_is_flagged_as_feature_dumping(
        org: Any, make_deal: Any, alice_client: Client) -> None:
    deal = make_deal()

    response = alice_client.post(url(deal, "capabilities/"), {
        "recommend-capability": "collaboration", "recommend-pain": ""}, **HTMX)

    html = response.content.decode()
    the_map = element(html, "solution-map")
    assert "Feature dumping: not linked to a confirmed pain." in the_map
    assert 'class="ws-rec dumping"' in the_map
    assert "1 not linked to a confirmed pain" in text_of(element(html, "solution-status"))


def test_a_row_of_the_map_relinks_its_pain(org: Any, make_deal: Any,
                                           alice_client: Client) -> None:
    deal = make_deal()
    services.recommend_capability(acting_user=org.alice, deal=deal, capability="integrations")

    alice_client.post(url(deal, "capabilities/"), {
        "map-integrations-capability": "integrations",
        "map-integrations-pain": "Double data entry"})

    assert CapabilityRecommendation.objects.get(deal=deal).pain == "Double data entry"


def test_a_capability_is_taken_off_the_map(org: Any, make_deal: Any,
                                           alice_client: Client) -> None:
    deal = make_deal()
    services.recommend_capability(acting_user=org.alice, deal=deal, capability="integrations")

    response = alice_client.post(url(deal, "capabilities/integrations/withdraw/"), **HTMX)

    assert "No capability recommended yet." in element(response.content.decode(),
                                                       "solution-map")
    assert not CapabilityRecommendation.objects.exists()


def test_an_unknown_capability_is_refused(org: Any, make_deal: Any,
                                          alice_client: Client) -> None:
    deal = make_deal()

    response = alice_client.post(url(deal, "capabilities/"), {
        "recommend-capability": "teleporter", "recommend-pain": "Slow"})
    withdraw = alice_client.post(url(deal, "capabilities/teleporter/withdraw/"))

    assert response.status_code == 400
    assert "teleporter" in element(response.content.decode(), "solution-map")
    assert withdraw.status_code == 404
    assert not CapabilityRecommendation.objects.exists()


def test_the_demo_plan_is_saved(org: Any, make_deal: Any, alice_client: Client) -> None:
    deal = make_deal()

    response = alice_client.post(url(deal, "demo/"), {
        "demo-plan": "1. Approval routing", "demo-demo_date": "2030-03-14", "demo-seen": ""},
        **HTMX)

    html = response.content.decode()
    assert "Demo plan saved." in element(html, "solution-demo")
    assert "Planned for 2030-03-14" in text_of(element(html, "solution-status"))
    ws = SolutionWorkspace.objects.get(deal=deal)
    assert (ws.demo_plan, ws.demo_date.isoformat()) == ("1. Approval routing", "2030-03-14")


def test_a_demo_date_that_is_not_a_date_is_shown_as_an_error(
        org: Any, make_deal: Any, alice_client: Client) -> None:
    response = alice_client.post(url(make_deal(), "demo/"), {
        "demo-plan": "Tour", "demo-demo_date": "next Tuesday", "demo-seen": ""})

    assert response.status_code == 400
    assert 'class="error"' in element(response.content.decode(), "solution-demo")
    assert not SolutionWorkspace.objects.exists()


def test_the_value_checkpoint_asks_the_seeds_question_and_records_the_answer(
        org: Any, make_deal: Any, alice_client: Client) -> None:
    deal = make_deal()
    value = element(alice_client.get(url(deal)).content.decode(), "solution-value")
    assert ("Based on what we&#x27;ve covered, does this solve the priority issues we "
            "discussed?") in value
    assert "<legend>The buyer&#x27;s answer</legend>" in value

    response = alice_client.post(url(deal, "value/"), {
        "value-answer": "partly", "value-buyer_words": "Reporting is still a gap"}, **HTMX)

    value = element(response.content.decode(), "solution-value")
    assert "The buyer said: Partly" in value
    assert "Reporting is still a gap" in value
    assert "Recorded by Alice" in text_of(value)


def test_a_partly_without_the_buyers_words_is_refused(org: Any, make_deal: Any,
                                                      alice_client: Client) -> None:
    deal = make_deal()

    response = alice_client.post(url(deal, "value/"), {"value-answer": "no",
                                                       "value-buyer_words": ""})

    assert response.status_code == 400
    assert "buyer_words must not be empty" in element(response.content.decode(),
                                                      "solution-value")
    assert not SolutionWorkspace.objects.exists()


@pytest.mark.parametrize("persona", ["bob", "vera", "olivia"])
def test_who_may_only_read_the_deal_sees_the_workspace_without_forms(
        org: Any, make_deal: Any, signed_in: Any, persona: str) -> None:
    deal = make_deal()
    services.recommend_capability(acting_user=org.alice, deal=deal, capability="collaboration")
    services.record_value_confirmation(acting_user=org.alice, deal=deal, answer="yes")

    html = signed_in(getattr(org, persona)).get(url(deal)).content.decode()

    panel = element(html, "solution-workspace")
    assert "You can read this workspace but not change it." in panel
    assert "<form" not in panel and "<input" not in panel
    assert "Feature dumping" in panel and "The buyer said: Yes" in panel


def test_who_may_only_read_cannot_post(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal()
    bob = signed_in(org.bob)

    responses = [bob.post(url(deal, "capabilities/"), {"recommend-capability": "integrations"}),
                 bob.post(url(deal, "demo/"), {"demo-plan": "Mine", "demo-seen": ""}),
                 bob.post(url(deal, "value/"), {"value-answer": "yes"})]

    assert [r.status_code for r in responses] == [403, 403, 403]
    assert not SolutionWorkspace.objects.exists()
    assert not CapabilityRecommendation.objects.exists()


def test_charlie_is_refused_norths_solution(org: Any, make_deal: Any, signed_in: Any) -> None:
    deal = make_deal(name="North secret")
    charlie = signed_in(org.charlie)

    page = charlie.get(url(deal))
    post = charlie.post(url(deal, "value/"), {"value-answer": "yes"})

    assert (page.status_code, post.status_code) == (403, 403)
    assert "North secret" not in page.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(org: Any, make_deal: Any) -> None:
    response = Client().get(url(make_deal()))

    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_what_people_wrote_is_shown_as_text_never_as_markup(org: Any, make_deal: Any,
                                                            signed_in: Any) -> None:
    attack = "<img src=x onerror=alert(1)>"
    deal = make_deal(name=attack)
    services.save_summary(acting_user=org.alice, deal=deal, confirmed_pains=attack,
                          summary=attack)
    services.recommend_capability(acting_user=org.alice, deal=deal, capability="integrations",
                                  pain=attack)
    services.save_demo_plan(acting_user=org.alice, deal=deal, plan=attack)
    services.record_value_confirmation(acting_user=org.alice, deal=deal, answer="no",
                                       buyer_words=attack)

    for persona in (org.alice, org.bob):
        html = signed_in(persona).get(url(deal)).content.decode()
        assert "<img" not in html
        assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 5


def test_the_panel_lists_the_exit_criteria_that_read_the_workspace(
        org: Any, make_deal: Any, alice_client: Client, workspace_criteria: None) -> None:
    deal = make_deal()
    services.recommend_capability(acting_user=org.alice, deal=deal, capability="integrations")

    before = text_of(element(alice_client.get(url(deal)).content.decode(), "solution-status"))
    services.recommend_capability(acting_user=org.alice, deal=deal, capability="integrations",
                                  pain="Double data entry")
    after = text_of(element(alice_client.get(url(deal)).content.decode(), "solution-status"))

    assert "Not met Every recommendation tied to a pain" in before
    assert "feature dumping" in before
    assert "Met Every recommendation tied to a pain" in after
    assert "Pre-call research written" not in after  # a discovery item
